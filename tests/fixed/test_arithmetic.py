"""Property tests of the fixed-point arithmetic (s5rf_deploy/fixed/arithmetic.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from s5rf_deploy.fixed import arithmetic as fx

ints = st.integers(min_value=-(2**40), max_value=2**40)
shifts = st.integers(min_value=0, max_value=20)


def _trunc_div(x: int, d: int) -> int:
    q = abs(x) // d
    return q if x >= 0 else -q


@given(ints, shifts)
def test_shift_right_rounding_directions(x, s):
    d = 2**s
    assert int(fx.shift_right(np.array([x]), s, "toward_zero")[0]) == _trunc_div(x, d)
    assert int(fx.shift_right(np.array([x]), s, "floor")[0]) == x // d
    nearest = int(fx.shift_right(np.array([x]), s, "nearest")[0])
    expected = _trunc_div(abs(x) + d // 2, d) * (1 if x >= 0 else -1) if s else x
    assert nearest == expected
    assert abs(nearest * d - x) <= d // 2 if s else nearest == x


@given(st.integers(min_value=-(2**30), max_value=2**30), st.integers(min_value=-8, max_value=7))
def test_dense_exponent_is_lava_floor_shift(x, e):
    out = int(fx.dense_output(np.array([x]), e)[0])
    assert out == (x * 2**e if e >= 0 else x // 2 ** (-e))


@given(st.lists(ints, min_size=1, max_size=20), st.integers(min_value=1, max_value=2**30))
def test_saturate_clips_and_flags_exactly(values, limit):
    x = np.array(values, np.int64)
    out, flag = fx.saturate(x, limit)
    assert np.all(np.abs(out) <= limit)
    np.testing.assert_array_equal(flag, np.abs(x) > limit)
    np.testing.assert_array_equal(out[~flag], x[~flag])


state = st.integers(min_value=-(2**23) + 1, max_value=2**23 - 1)
coef = st.integers(min_value=-4095, max_value=4095)
current = st.integers(min_value=-(2**17), max_value=2**17)


@settings(max_examples=300)
@given(state, state, coef, coef, current, current, st.integers(0, 7), st.sampled_from(fx.ROUNDING_RULES))
def test_rf_update_matches_python_integers(re, im, cr, ci, a, b, shift, rounding):
    limit = 2**23 - 1

    def r(x: int) -> int:
        return int(fx.shift_right(np.array([x]), 12, rounding)[0])

    raw_re = r(cr * re) - r(ci * im) + a * 2**shift
    raw_im = r(ci * re) + r(cr * im) + b * 2**shift
    new_re, new_im, sat = fx.rf_update(np.array([re]), np.array([im]), np.array([cr]), np.array([ci]),
                                       np.array([a]), np.array([b]), shift, 12, rounding, limit)
    assert int(new_re[0]) == max(-limit, min(limit, raw_re))
    assert int(new_im[0]) == max(-limit, min(limit, raw_im))
    assert bool(sat[0]) == (abs(raw_re) > limit or abs(raw_im) > limit)


@given(state, state, st.integers(min_value=0, max_value=2**23 - 1))
def test_spike_rules_are_strict_and_exact(re, im, thr):
    assert bool(fx.rf_spikes(np.array([re]), np.array([im]), thr, "cartesian")[0]) == (re > thr)
    assert bool(fx.rf_spikes(np.array([re]), np.array([im]), thr, "polar")[0]) == (re * re + im * im > thr * thr)


@given(st.integers(min_value=-(2**23) + 1, max_value=2**23), st.integers(min_value=-(2**23) + 1, max_value=2**23 - 1),
       st.integers(min_value=-(2**16), max_value=2**16), st.integers(0, 4095), st.integers(0, 4095))
def test_lif_update_follows_lava_equations(u, v, a_in, du, dv):
    def r0(x: int) -> int:
        return _trunc_div(x, 4096)

    u1 = r0(u * (4096 - du - 1)) + a_in * 64
    if u1 > 2**23:
        u1 -= 2**24
    elif u1 <= -(2**23):
        u1 += 2**24
    v1 = max(-(2**23) + 1, min(2**23 - 1, r0(v * (4096 - dv)) + u1))
    out_u, out_v, _ = fx.lif_update(np.array([u]), np.array([v]), np.array([a_in]), du, dv)
    assert (int(out_u[0]), int(out_v[0])) == (u1, v1)


RULES = [fx.SpikeRule(reset, inclusive) for reset in fx.RESETS for inclusive in (False, True)] + [
    fx.SpikeRule("subtract", True, 3), fx.SpikeRule("subtract_next", True, 255)]


def _fire_by_hand(v: int, level: int, rule: fx.SpikeRule, last: int) -> tuple[int, int]:
    """The spike count and the v after the step of one neuron, from the rules of docs/interop.md: the reset the
    last step carries, then the threshold test and the immediate reset."""
    if rule.reset == "subtract_next":
        v -= last * level
    elif rule.reset == "zero_next" and last:
        v = 0
    v = max(-(2**23) + 1, min(2**23 - 1, v))
    reached = v >= level if rule.inclusive else v > level
    count = 0 if not reached else min(v // level, rule.max_spikes) if rule.max_spikes > 1 else 1
    if rule.reset == "zero" and reached:
        v = 0
    elif rule.reset == "subtract":
        v -= count * level
    return count, v


@pytest.mark.parametrize("rule", RULES, ids=str)
@given(v=st.integers(-(2**23) + 1, 2**23 - 1), vth=st.integers(1, 2**17 - 1), last=st.integers(0, 3))
@example(v=64, vth=1, last=1)  # v at the threshold: only inclusive rules fire
@example(v=64 * 7 + 5, vth=1, last=2)  # several thresholds: multi-spike counts
def test_lif_step_fires_and_resets_by_rule(rule, v, vth, last):
    """With no input (u stays 0: du 4095) and a voltage that does not decay (dv 0), one step of lif_step is
    the carried reset, the threshold test and the reset of the rule, on integers."""
    last = min(last, rule.max_spikes)
    level = vth << 6
    u, v_out, spikes, _ = fx.lif_step(np.array([0]), np.array([v]), np.array([0]), 4095, 0, vth, rule,
                                      np.array([last]))
    assert (int(spikes[0]), int(v_out[0])) == _fire_by_hand(v, level, rule, last)


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_fire_on_floats_equals_integers(rule):
    """The float reading (discrete simulator, Lava's float model) and the integer one share fire/carried_reset:
    on integer-valued floats they give the same numbers."""
    rng = np.random.default_rng(1)
    v = rng.integers(-(2**20), 2**20, 500)
    last = rng.integers(0, min(rule.max_spikes, 3) + 1, 500)
    level = 1000
    counts_i, v_i = fx.fire(fx.carried_reset(v, last, level, rule), level, rule)
    counts_f, v_f = fx.fire(fx.carried_reset(v.astype(float), last.astype(float), float(level), rule), float(level),
                            rule)
    np.testing.assert_array_equal(counts_f, counts_i)
    np.testing.assert_array_equal(v_f, v_i)


@pytest.mark.parametrize("kwargs", [{"reset": "halve"}, {"max_spikes": 0}, {"max_spikes": 2},
                                    {"reset": "zero", "inclusive": True, "max_spikes": 2}])
def test_impossible_spike_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        fx.SpikeRule(**kwargs)
