"""The stepper engine's fast paths against the reference: float64 arithmetic, dense vs event-driven products,
and the stepper against a copy of the previous (int64, dense-only) stepper on random networks at 1-50 % activity."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import VARIANTS, make_model, random_spikes
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed import halves
from s5rf_deploy.fixed.engine import DelayLines, Port, ProductTimer, history_length, run_steps
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper, _value_bound, sent_parts

METHODS = ("dense", "event", "auto")  # Port.method: forced dense, forced event-driven, timed per product


def _shift(x: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """Integer right shift written here from docs/fixed-point.md, independent of fixed.arithmetic."""
    d = 1 << shift
    if rounding == "floor":
        return x // d
    return np.sign(x) * ((np.abs(x) + (d // 2 if rounding == "nearest" else 0)) // d)


def _rf_reference(re, im, c_re, c_im, in_re, in_im, shift, bits, rounding, limit):
    """The RF step in int64 from the equations (per-product rounding, then clipping)."""
    new_re = _shift(c_re * re, bits, rounding) - _shift(c_im * im, bits, rounding) + in_re * (1 << shift)
    new_im = _shift(c_im * re, bits, rounding) + _shift(c_re * im, bits, rounding) + in_im * (1 << shift)
    saturated = (np.abs(new_re) > limit) | (np.abs(new_im) > limit)
    return np.clip(new_re, -limit, limit), np.clip(new_im, -limit, limit), saturated


@pytest.mark.parametrize("rounding", fx.ROUNDING_RULES)
@pytest.mark.parametrize("decay_bits", [0, 1, 12, 16])
def test_rf_update_equals_the_equations(rounding, decay_bits):
    rng = np.random.default_rng(decay_bits)
    limit = (1 << 23) - 1
    shape = (7, 300)
    re, im = (rng.integers(-limit, limit + 1, shape) for _ in range(2))
    re[0, :4] = [0, 1, -1, limit]  # edge values, and exact halves for "nearest"
    c_re, c_im = (rng.integers(-(1 << decay_bits), 1 << decay_bits, shape[1], endpoint=True) for _ in range(2))
    in_re, in_im = (rng.integers(-(1 << 24), 1 << 24, shape) for _ in range(2))
    for shift in (0, 3, 7):
        ref = _rf_reference(re, im, c_re, c_im, in_re, in_im, shift, decay_bits, rounding, limit)
        new_re, new_im = re.astype(np.float64), im.astype(np.float64)
        update = fx.RFUpdate(c_re, c_im, shift, decay_bits, rounding, limit)
        count = update(new_re, new_im, np.concatenate([in_re, in_im], axis=1).astype(np.float64))
        assert np.array_equal(new_re, ref[0]) and np.array_equal(new_im, ref[1])
        assert np.array_equal(update.saturated, ref[2]) and count == ref[2].sum() > 0
        got = fx.rf_update(re, im, c_re, c_im, in_re, in_im, shift, decay_bits, rounding, limit)  # int64 wrapper
        assert all(np.array_equal(g, r) for g, r in zip(got, ref, strict=True)) and got[0].dtype == np.int64


def test_dense_output_and_payload_float_equal_reference():
    rng = np.random.default_rng(1)
    acc = rng.integers(-(1 << 24) + 1, 1 << 24, 5000)
    acc[:3] = [-1, 1, 0]
    for exp in range(-8, 8):  # Lava's Dense: a left shift, or an arithmetic (floor) right shift
        want = acc << exp if exp >= 0 else acc >> -exp
        assert np.array_equal(fx.dense_output_float(acc.astype(np.float32), exp), want)
        assert np.array_equal(fx.dense_output(acc, exp), want)
    state = rng.integers(-(1 << 23), 1 << 23, 5000)
    for shift, bits in ((0, 24), (5, 24), (3, 12)):  # toward zero, then clipped to the payload width
        top = (1 << (bits - 1)) - 1
        want = np.clip(_shift(state, shift, "toward_zero"), -top, top)
        assert np.array_equal(fx.graded_payload_float(state.astype(np.float64), shift, bits), want)
        assert np.array_equal(fx.graded_payload(state, shift, bits), want)


def random_synapses(rng: np.random.Generator, rows: int, widths: list[int], graded: bool) -> list[Synapse]:
    """Synapses of every kind a Port merges: shared weights, negative exponents, delays, several sources."""
    shared = rng.integers(-256, 256, (rows, widths[0]))
    syns = [Synapse(0, shared, 2), Synapse(0, shared, 2, delay=1),
            Synapse(0, rng.integers(-256, 256, (rows, widths[0])), -3)]
    syns += [Synapse(1, rng.integers(-256, 256, (rows, widths[1])), exp, delay=d) for exp, d in ((0, 0), (-1, 2))]
    if graded:
        syns = [Synapse(s.source, s.weights, s.weight_exp, 0) for s in syns]
    return syns


@pytest.mark.parametrize("graded", [False, True], ids=["spikes", "graded"])
@pytest.mark.parametrize("activity", [0.01, 0.05, 0.2, 0.5])
@pytest.mark.parametrize("batch", [1, 9])
def test_dense_and_event_driven_products_give_the_same_integers(graded, activity, batch, monkeypatch):
    rng = np.random.default_rng(int(activity * 100) + 7 * graded + batch)
    rows, widths, steps = 40, [30, 25], 12
    bound = 1 << 12 if graded else 1
    port = Port(random_synapses(rng, rows, widths, graded), rows, lambda source: bound)
    data = []
    for w in widths:
        active = rng.random((steps, batch, w)) < activity
        values = rng.integers(-bound, bound + 1, active.shape) if graded else np.ones(active.shape)
        data.append((active * values).astype(np.float32 if not graded else np.float64))
    outs = {}
    monkeypatch.setattr(halves, "SPLIT_SIZE", 1)  # products and updates of several samples split over two threads
    monkeypatch.setattr(halves, "CORES", 2)
    for name in METHODS:
        monkeypatch.setattr(port, "method", name)
        lines = DelayLines({(k, "spikes"): w for k, w in enumerate(widths)}, history_length(port_syns(port)), batch)
        out = []
        for p in range(steps):
            out.append(port.inputs(lines, batch))
            for k, x in enumerate(data):
                lines.send((k, "spikes"), x[p] if graded else x[p] > 0)
        outs[name] = np.stack(out)
    assert np.any(outs["dense"] != 0)
    assert np.array_equal(outs["dense"], outs["event"]) and np.array_equal(outs["dense"], outs["auto"])
    assert np.array_equal(outs["dense"], np.round(outs["dense"]))


def port_syns(port: Port) -> list[Synapse]:
    """Stand-ins carrying the port's largest delay, for :func:`history_length`."""
    delay = max(d for keys, *_ in port.products for _, d in keys)
    return [Synapse(0, np.zeros((1, 1), np.int64), 0, delay=delay)]


class PreviousPort:
    """The int64, dense-only Port before the event-driven engine (reference copy)."""

    def __init__(self, synapses, size, value_bound):
        self.size = size
        merged: dict[tuple, list[Synapse]] = {}
        for syn in synapses:
            key = (syn.weight_exp, syn.part, syn.weights.tobytes()) if syn.weight_exp >= 0 else (id(syn),)
            merged.setdefault(key, []).append(syn)
        feeds: dict[tuple, list[Synapse]] = {}
        for members in merged.values():
            feed = (tuple(sorted((m.source, m.delay) for m in members)), members[0].part)
            feeds.setdefault(feed, []).append(members[0])
        self.products = []
        for (feed, part), blocks in feeds.items():
            stacked = np.concatenate([b.weights for b in blocks])
            bound = int(np.abs(stacked).sum(axis=1).max()) * sum(value_bound(src) for src, _ in feed)
            dtype = np.float32 if bound < 2**24 else np.float64 if bound < 2**53 else np.int64
            self.products.append((feed, part, stacked.T.astype(dtype), [b.weight_exp for b in blocks]))

    def inputs(self, lines, n):
        out = np.zeros((n, self.size), np.int64)
        for feed, part, w_t, exps in self.products:
            x = sum(lines.sent((src, part), delay) for src, delay in feed)
            acc = (x.astype(w_t.dtype) @ w_t).astype(np.int64)
            for j, exp in enumerate(exps):
                out += fx.dense_output(acc[:, j * self.size:(j + 1) * self.size], exp)
        return out


def previous_stepper(net, u: np.ndarray):
    """The previous Stepper.run_batch (int64 states, reference rf_update), recording spikes and states."""
    def bound(source):
        return _value_bound(net, source)
    ports = [PreviousPort(st.inputs, 2 * st.size, bound) for st in net.stages]
    ports.append(PreviousPort(net.readout.inputs, net.num_classes, bound))
    hist = history_length([s for st in net.stages for s in st.inputs] + list(net.readout.inputs))
    n, steps, _ = u.shape
    lines = DelayLines(sent_parts(net), hist, n)
    re = [np.zeros((n, st.size), np.int64) for st in net.stages]
    im = [np.zeros((n, st.size), np.int64) for st in net.stages]
    sat = {f"stage{k}": 0 for k in range(len(net.stages))} | {"readout": 0}
    lif = [np.zeros((n, net.num_classes), np.int64), np.zeros((n, net.num_classes), np.int64)]
    spikes = [np.zeros((n, steps, net.stages[s].size), np.uint8) for s in net.layer_stages]
    states = [np.zeros((n, steps, net.stages[s].size, 2), np.int64) for s in net.state_stages]
    prof = net.profile

    def step(p, a):
        sent = {(INPUT, "spikes"): u[:, p] if p < steps else np.zeros((n, net.input_dim), np.float32)}
        for k, st in enumerate(net.stages):
            re[k], im[k], saturated = fx.rf_update(re[k], im[k], st.decay_re, st.decay_im, a[k][:, :st.size],
                                                   a[k][:, st.size:], st.input_shift, prof.decay["bits"],
                                                   prof.decay["rounding"], prof.state_max)
            sat[f"stage{k}"] += int(saturated.sum())
            if st.spike == "graded":
                sent[(k, "re")] = fx.graded_payload(re[k], st.payload_shift, prof.spikes["payload_bits"])
                sent[(k, "im")] = fx.graded_payload(im[k], st.payload_shift, prof.spikes["payload_bits"])
            else:
                sent[(k, "spikes")] = fx.rf_spikes(re[k], im[k], st.threshold, st.spike)
            t = p - net.depth(k)
            if 0 <= t < steps:
                if k in net.layer_stages:
                    spikes[net.layer_stages.index(k)][:, t] = sent[(k, "spikes")]
                if k in net.state_stages:
                    states[net.state_stages.index(k)][:, t] = np.stack([re[k], im[k]], -1)
        lif[0], lif[1], fired, overflow = fx.lif_step(lif[0], lif[1], a[-1], net.readout.du, 0,
                                                      net.readout.vth_mantissa)
        sat["readout"] += int(overflow.sum() + fired.sum())
        for key, value in sent.items():
            lines.send(key, value)

    run_steps(ports, lines, steps + net.latency, n, step)
    return lif[1], spikes, states, sat


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("gain", [0.5, 3.0, 12.0])
def test_stepper_equals_previous_stepper(variant, gain, monkeypatch):
    model = make_model(variant, layers=2, neurons=16, blocks=4, inputs=10, gain=gain, seed=int(gain * 2))
    u = random_spikes(6, 30, 10, rate=0.1, seed=int(gain))
    fxp, _ = quantize(network_from_model(model), load_profile("loihi2"), u)
    readout, spikes, states, sat = previous_stepper(fxp, u)
    monkeypatch.setattr(ProductTimer, "min_interval", 2)  # "auto" probes every other call: both paths in one run
    monkeypatch.setattr(ProductTimer, "max_interval", 2)
    monkeypatch.setattr(halves, "SPLIT_SIZE", 1)  # products and updates of several samples split over two threads
    monkeypatch.setattr(halves, "CORES", 2)
    for method in METHODS:
        monkeypatch.setattr(Port, "method", method)
        for batch in (1, 4):
            res = Stepper(fxp).run(u, record=("spikes", "states"), batch_size=batch)
            assert np.array_equal(res.readout, readout)
            assert all(np.array_equal(a, b) for a, b in zip(res.spikes, spikes, strict=True))
            assert all(np.array_equal(a, b) for a, b in zip(res.states, states, strict=True))
            assert res.saturation == sat


def test_activity_levels_span_sparse_and_dense():
    """The stepper test networks above fire from rarely to often, so both product paths really run."""
    rates = []
    for gain in (0.5, 3.0, 12.0):
        model = make_model("dirac_keepimag", layers=2, neurons=16, blocks=4, inputs=10, gain=gain, seed=int(gain * 2))
        u = random_spikes(6, 30, 10, rate=0.1, seed=int(gain))
        fxp, _ = quantize(network_from_model(model), load_profile("loihi2"), u)
        rates.append(np.mean([s.mean() for s in Stepper(fxp).run(u, record=("spikes",)).spikes]))
    assert min(rates) < 0.05 and max(rates) > 0.15, rates


@pytest.mark.parametrize("graded", [False, True], ids=["spikes", "graded"])
@pytest.mark.parametrize("batch", [1, 5])
def test_weight_digits_fold_into_one_product(graded, batch):
    """A synapse's digits (several exponents on one input) cost one product, with the integers of one Dense each."""
    rng = np.random.default_rng(batch + 2 * graded)
    rows, width, steps = 20, 50, 6
    bound = 3 if graded else 1  # folded sums stay below 2**24 (float32), so the digits do fold
    syns = [Synapse(0, rng.integers(-256, 256, (rows, width)), exp) for exp in (7, 0, 3, -2)]
    port = Port(syns, rows, lambda source: bound)
    assert [len(exps) for _, _, exps, _ in port.products] == [2]  # 7, 0, 3 folded; -2 (a floor) apart
    previous = PreviousPort(syns, rows, lambda source: bound)
    lines = DelayLines({(0, "spikes"): width}, 1, batch)
    for _ in range(steps):
        x = (rng.random((batch, width)) < 0.3) * (rng.integers(-bound, bound + 1, (batch, width)) if graded else 1)
        lines.send((0, "spikes"), x.astype(np.float64))
        assert np.array_equal(port.inputs(lines, batch), previous.inputs(lines, batch))


def test_product_timer_keeps_the_cheaper_method_and_probes_the_other():
    timer = ProductTimer()
    assert [timer.choose(8, 100) for _ in range(2)] == [("dense", False)] * 2  # untimed methods are tried first
    timer.record("dense", 8e-3, 8, 100, False)
    assert timer.choose(8, 100) == ("event", False)
    timer.record("event", 1e-4, 8, 100, False)  # event 1e-4 s against dense 8e-3 s
    chosen = [timer.choose(8, 100) for _ in range(ProductTimer.min_interval)]
    assert chosen[:-1] == [("event", False)] * (ProductTimer.min_interval - 1) and chosen[-1] == ("dense", True)
    timer.record("dense", 8e-3, 8, 100, True)  # the probe confirms: the interval doubles
    assert timer.interval == 2 * ProductTimer.min_interval
    assert timer.choose(8, 10**4) == ("dense", False)  # 100 x the work for the event-driven sum (1e-2 s): dense
    timer.since_probe = timer.interval  # a probe of the event-driven sum that overturns the choice
    assert timer.choose(8, 10**4) == ("event", True)
    timer.record("event", 1e-8, 8, 10**4, True)  # the estimate: the mean of 1e-6 and 1e-12 per unit, 5e-3 s
    assert timer.interval == ProductTimer.min_interval and timer.choose(8, 10**4) == ("event", False)


def test_delay_lines_are_ring_buffers_of_exact_values():
    """Values sent (copied, or written into the slot) come back ``delay`` steps later, from reused arrays;
    sources whose values exceed float32's exact integers get float64 lines."""
    lines = DelayLines({(0, "spikes"): 3, (1, "re"): 2}, 3, 2, lambda source: 2**30 if source == 1 else 1)
    arrays = {id(a) for line in lines.lines.values() for a in line}
    for t in range(7):
        lines.send((0, "spikes"), np.full((2, 3), t % 2, bool))
        slot = lines.slot((1, "re"))
        slot[:] = 2**30 - t
        lines.send((1, "re"), slot)
        for delay in range(min(t + 1, 3)):
            assert np.all(lines.sent((0, "spikes"), delay) == (t - delay) % 2)
            assert np.all(lines.sent((1, "re"), delay) == 2**30 - (t - delay))
    assert {id(a) for line in lines.lines.values() for a in line} == arrays  # no new arrays
    assert lines.sent((1, "re")).dtype == np.float64 and lines.sent((0, "spikes")).dtype == np.float32
