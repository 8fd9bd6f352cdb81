"""Oracle: a plain-Python big-integer evaluation of quantized S5-RF networks, written from docs/fixed-point.md.

It uses Python ints (no overflow, no numpy), explicit loops and explicit rounding, and does not import
``s5rf_deploy.fixed.arithmetic`` or the stepper's engine: only the integers of the quantized network
(``FxpNetwork``) and the profile's widths.  From the docs' "Arithmetic" and "Timing" sections:

- a synapse is one Lava ``Dense``: accumulate ``W s`` (|sum| < 2**31), then shift the whole sum once,
  ``a << e`` or floor ``a >> -e``; it delivers one step later, plus its extra ``delay``;
- an RF stage: ``re' = R(c_re re) - R(c_im im) + (a_re << shift)``, ``im' = R(c_im re) + R(c_re im) +
  (a_im << shift)``, each product shifted right by the decay bits rounding toward zero, then clipped to
  ``+-(2**(bits-1) - 1)``; spikes ``re > thr`` (cartesian) or ``re**2 + im**2 > thr**2`` (polar); a graded
  stage sends ``clip(R0(state >> payload_shift))`` of both parts;
- the readout is Lava's LIF with its implicit ``ds_offset = 1``: ``u' = wrap24(R0(u (4096 - du - 1) / 4096) +
  (a << 6))``, ``v' = clip24(v + u')`` (dv = 0), fires (and resets ``v`` to 0) if ``v > vth << 6``;
- a population at depth ``d`` (stage ``k``: ``k + 1``; the readout ``stages + 1``) handles float step ``t`` at
  pipeline step ``t + d``; after the T input steps, ``latency`` more steps of zero input.

The evaluator is ``helpers.bigint_run`` (shared with the Lava end-to-end oracle in test_oracle_lava_rf.py).
Compared bit for bit with :class:`~s5rf_deploy.s5rf.stepper.Stepper`: the state of every stage at every step
(also the V-mixing stages), every spike, the readout and the saturation counts, on every variant with complex
poles (HiPPO blocks of 4) and non-identity complex V.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import assert_stepper_equals_bigint, bigint_run, make_model, random_spikes, toward_zero
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper

LOIHI2 = load_profile("loihi2")


# (variant, layers, calibrated, weight digits): every variant, skips (layers 1..L-2), V mixing (zoh layer 0),
# polar, data-free and calibrated scales, 1 to 3 weight digits.
NETWORKS = [
    ("dirac_keepimag", 4, True, 2),
    ("dirac_real", 3, False, 1),
    ("zoh_vmix", 3, True, 2),
    ("zoh_real_polar", 3, True, 3),
    ("bilinear_polar", 3, False, 2),
    ("bilinear_real", 4, True, 2),
]


@pytest.mark.parametrize("variant, layers, calibrated, digits", NETWORKS)
def test_stepper_equals_bigint_oracle(variant, layers, calibrated, digits):
    model = make_model(variant, layers=layers, neurons=8, blocks=2, inputs=5, classes=3, seed=19)
    net = network_from_model(model)
    u = random_spikes(3, 40, 5, rate=0.3, seed=20)
    fxp, _ = quantize(net, LOIHI2, u if calibrated else None, max_steps=40, digits=digits)
    rf_stages = [fxp.stages[k] for k in fxp.state_stages]
    assert all(np.any(st.decay_im != 0) for st in rf_stages)  # complex poles
    exponents = [s.weight_exp for st in fxp.stages for s in st.inputs] + [s.weight_exp for s in fxp.readout.inputs]
    assert min(exponents) < 0 or digits == 1  # Lava's floor shift exercised (a second digit is finer)
    graded = [st for st in fxp.stages if st.spike == "graded"]
    assert bool(graded) == variant.startswith("zoh")
    assert all(st.payload_shift > 0 for st in graded)  # payloads really rounded
    spikes = assert_stepper_equals_bigint(fxp, u)
    assert all(0 < s.mean() < 1 for s in spikes)


def test_saturation_counts_equal_bigint_oracle():
    """A profile without headroom and strong inputs: states clip, and both count the same clipped updates."""
    raw = LOIHI2.to_dict()
    raw["state"] = dict(raw["state"], default_headroom=1.0)
    tight = profile_from_dict(raw, "tight")
    net = network_from_model(make_model("zoh_vmix", layers=3, neurons=8, blocks=2, inputs=5, classes=3, seed=3,
                                        gain=40.0))
    u = random_spikes(2, 30, 5, rate=0.5, seed=4)
    fxp, _ = quantize(net, tight, max_steps=30)
    every_stage = dataclasses.replace(fxp, state_stages=tuple(range(len(fxp.stages))))
    assert Stepper(every_stage).run(u).saturation["stage0"] > 0
    assert_stepper_equals_bigint(fxp, u)


def test_quantized_readout_leak_under_lavas_lif_is_the_float_leak():
    """The readout's ``du`` as Lava's LIF applies it (the docs' equation, with the implicit ``ds_offset``):
    one step of ``u = 2**20`` without input leaves ``beta_q 2**20`` exactly; ``beta_q`` must be the float leak
    rounded to the profile's 12 bits (error <= 2**-13), so a ``du`` that forgets ``ds_offset`` (one unit off)
    or ignores the leak fails here."""
    leak_bits = LOIHI2.readout["leak_bits"]
    model = make_model("dirac_real", layers=2, neurons=8, blocks=2, inputs=5, classes=5, seed=1)
    net = network_from_model(model)
    leaks = np.array([0.8, 3584 / 4096, 3891 / 4096, 0.5, 0.9731])
    net = dataclasses.replace(net, readout=dataclasses.replace(net.readout, leak=leaks))
    fxp, _ = quantize(net, LOIHI2, max_steps=50)
    u = 2**20
    for c, beta in enumerate(leaks):
        applied = toward_zero(u * ((1 << leak_bits) - int(fxp.readout.du[c]) - 1), leak_bits) / u
        assert abs(applied - beta) <= 2.0 ** -(leak_bits + 1), f"class {c}: leak {applied} for {beta}"


def test_readout_lif_edges_equal_bigint_oracle():
    """A hand-made readout (no stages, no quantizer) at the edges of Lava's LIF, ``du = 4095`` so that ``u`` is
    each step's input: class 0 reaches ``v = vth << 6`` exactly (no spike: Lava fires on ``v > vth << 6``),
    class 1 just above (fires, ``v`` resets to 0), class 2 is driven below ``-(2**23 - 1)`` (clipped, counted),
    class 3 gets a current of exactly ``-2**23`` (wraps to ``+2**23`` as Lava's ``u`` does, then ``v`` clips and
    fires).  The stepper and the oracle agree on ``v`` and on the counted overflows and spikes."""
    width, classes, steps, vth = 8, 4, 6, 2000
    small = np.zeros((classes, width), np.int64)
    small[0, 0], small[1, 1] = 250, 255  # << 3: 2000 and 2040
    large = np.zeros((classes, width), np.int64)
    large[2, 2] = -256  # << 7: -32768 per step, << 6 in the LIF: -2**21
    large[3, 3:7] = -256  # 4 x -32768 = -2**17, << 6: -2**23
    readout = Readout((Synapse(INPUT, small, 3), Synapse(INPUT, large, 7)), np.full(classes, 4095), vth, 1.0)
    net = FxpNetwork(width, (), readout, LOIHI2, (), ())
    u = np.zeros((1, steps, width), np.float32)
    u[0, 0, [0, 1, 3, 4, 5, 6]] = 1
    u[0, :, 2] = 1
    res = Stepper(net).run(u)
    oracle = bigint_run(net, u[0])
    assert oracle.readout == [vth << 6, 0, -(2**23 - 1), 0]
    np.testing.assert_array_equal(res.readout[0], oracle.readout)
    assert res.saturation == oracle.saturation


def test_graded_payloads_clip_at_the_profile_width():
    """A graded stage whose payload does not fit the profile's payload width (a hand-edited artifact: payload
    shift 0, 12-bit payloads) sends clipped payloads, as the docs say; stepper and oracle agree."""
    raw = LOIHI2.to_dict()
    raw["spikes"] = dict(raw["spikes"], payload_bits=12)
    narrow = profile_from_dict(raw, "narrow payloads")
    net = network_from_model(make_model("zoh_vmix", layers=2, neurons=8, blocks=2, inputs=5, classes=3, seed=5))
    u = random_spikes(2, 30, 5, rate=0.3, seed=6)
    fxp, _ = quantize(net, LOIHI2, u, max_steps=30)
    stages = list(fxp.stages)
    stages[0] = dataclasses.replace(stages[0], payload_shift=0)
    fxp = dataclasses.replace(fxp, stages=tuple(stages), profile=narrow)
    assert_stepper_equals_bigint(fxp, u)
    states = Stepper(dataclasses.replace(fxp, state_stages=(0,))).run(u, record=("states",)).states[0]
    assert np.abs(states).max() > 2**11  # the payload clip binds


def test_shared_arithmetic_on_lavas_int32_arrays_equals_python_ints():
    """Lava keeps states in int32 Vars (its RF's ``real``/``imag``, its LIF's ``u``/``v``) and sends int32
    messages; the shared arithmetic (the subject here, not the oracle) must compute exactly whatever integer dtype
    it gets (a 24-bit state times a 12-bit decay needs 36 bits) and return int64, as documented.  Expected values
    from Python ints."""
    from s5rf_deploy.fixed import arithmetic as fx

    rng = np.random.default_rng(31)
    n, limit = 64, 2**23 - 1
    re, im = rng.integers(-limit, limit + 1, (2, n))
    c_re, c_im = rng.integers(-4095, 4096, (2, n))
    a_re, a_im = rng.integers(-(2**16), 2**16, (2, n))
    got = fx.rf_update(*(x.astype(np.int32) for x in (re, im, c_re, c_im, a_re, a_im)), 3, 12, "toward_zero", limit)
    assert got[0].dtype == got[1].dtype == np.int64  # as documented: int64 out
    for j in range(n):
        r, i, cr, ci = int(re[j]), int(im[j]), int(c_re[j]), int(c_im[j])
        new_re = toward_zero(cr * r, 12) - toward_zero(ci * i, 12) + (int(a_re[j]) << 3)
        new_im = toward_zero(ci * r, 12) + toward_zero(cr * i, 12) + (int(a_im[j]) << 3)
        assert (int(got[0][j]), int(got[1][j])) == (max(-limit, min(limit, new_re)), max(-limit, min(limit, new_im)))
        assert bool(got[2][j]) == (abs(new_re) > limit or abs(new_im) > limit)

    payload = fx.graded_payload(re.astype(np.int32), 5, 16)
    assert payload.dtype == np.int64
    assert payload.tolist() == [max(-(2**15 - 1), min(2**15 - 1, toward_zero(int(x), 5))) for x in re]
    accumulated = rng.integers(-(2**30), 2**30, n)
    for exponent in (-7, 0, 3):
        out = fx.dense_output(accumulated.astype(np.int32), exponent)
        assert out.dtype == np.int64
        assert out.tolist() == [int(x) << exponent if exponent >= 0 else int(x) >> -exponent for x in accumulated]

    u, v = rng.integers(-limit, limit + 1, (2, n))
    a_in = rng.integers(-(2**15), 2**15, n)
    du = 300
    got_u, got_v, _ = fx.lif_update(u.astype(np.int32), v.astype(np.int32), a_in.astype(np.int32), du, 0)
    for j in range(n):
        new_u = toward_zero(int(u[j]) * (4096 - du - 1), 12) + (int(a_in[j]) << 6)
        new_u = new_u - 2**24 if new_u > 2**23 else new_u + 2**24 if new_u <= -(2**23) else new_u
        assert int(got_u[j]) == new_u
        assert int(got_v[j]) == max(-limit, min(limit, int(v[j]) + new_u))


def test_unknown_rounding_and_spike_rules_are_named():
    from s5rf_deploy.fixed import arithmetic as fx

    with pytest.raises(ValueError, match="unknown rounding 'up'"):
        fx.shift_right(np.array([5]), 1, "up")
    with pytest.raises(ValueError, match="unknown spike rule 'square'"):
        fx.rf_spikes(np.array([5]), np.array([0]), 1, "square")
    with pytest.raises(ValueError, match="unknown spike rule 'none'"):  # a kernel code, not a spike rule
        fx.rf_spikes(np.array([5]), np.array([0]), 1, "none")
    with pytest.raises(ValueError, match="unknown rounding 'up'"):
        fx.rf_update(*np.ones((6, 1), np.int64), 0, 12, "up", 2**23 - 1)


def test_a_state_exactly_at_the_limit_is_not_saturated():
    """A hand-made pair of stages: stage 0 integrates a large input until it clips at ``2**23 - 1`` (counted) and
    sends that state as a payload (shift 0); stage 1 (no decay, weight 1) then holds exactly ``2**23 - 1``, which
    is in range, so it is not counted.  Stepper and oracle agree on states and counts."""
    limit = LOIHI2.state_max
    one = np.ones(1, np.int64)
    stage0 = Stage(4095 * one, 0 * one, 0, "graded", 7, (Synapse(INPUT, np.array([[255], [0]]), 7),), 1.0, 0)
    mixing = (Synapse(0, np.array([[1], [0]]), 0, 0, "re"), Synapse(0, np.array([[0], [1]]), 0, 0, "im"))
    stage1 = Stage(0 * one, 0 * one, limit, "cartesian", 0, mixing, 1.0)
    net = FxpNetwork(1, (stage0, stage1), Readout((), np.zeros(1, np.int64), 1, 1.0), LOIHI2, (1,), (0,))
    u = np.ones((1, 8, 1), np.float32)
    oracle = bigint_run(net, u[0])
    assert oracle.states[1][-1, 0, 0] == limit and oracle.saturation["stage0"] > 0
    assert oracle.saturation["stage1"] == 0
    assert_stepper_equals_bigint(net, u)
