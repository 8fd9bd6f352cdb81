"""The steppers on a torch device (``device``: torch-cpu here, cuda where a GPU is present) against the numpy path:
the torch forms of the arithmetic against the numpy/compiled forms on edge and random values, then whole runs
(readout, spikes, states, saturation counts) of every S5-RF variant and of LIF / CubaLIF graphs with every spike
rule, bit for bit."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from helpers import DATA_DIR, make_model, random_spikes
from s5rf_deploy.converters.nir.load import load_nir
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.device import DevicePort, kernels_for
from s5rf_deploy.fixed.engine import Port
from s5rf_deploy.fixed.inputs import GRADED
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.graphs.quantize import lif_graph
from s5rf_deploy.graphs.stepper import GraphStepper
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper

LOIHI2 = load_profile("loihi2")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
DEVICES = ["torch-cpu", pytest.param("cuda", marks=CUDA)]


def _on(device: str, x: np.ndarray) -> torch.Tensor:
    return kernels_for(device).put(np.asarray(x))


def _back(x: torch.Tensor) -> np.ndarray:
    return x.cpu().numpy()


SENDS = [fx.Sends(), fx.Sends("cartesian", 3000), fx.Sends("polar", 1 << 20, 3), fx.Sends("graded", 1, 1, 5, 16)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rounding", fx.ROUNDING_RULES)
def test_rf_update_torch_equals_compiled_kernel(device, rounding):
    """States, saturation and what the stage sends (nothing, spikes, multi-bit counts, graded payloads)."""
    rng = np.random.default_rng(len(rounding))
    limit, bits = (1 << 23) - 1, 12
    re, im = (rng.integers(-limit, limit + 1, (5, 400)).astype(np.float64) for _ in range(2))
    re[0, :6] = [0, 1, -1, 2048, -2048, limit]  # with c = 1: exact halves (2048 / 4096) both ways for "nearest"
    c_re, c_im = (rng.integers(-(1 << bits), 1 << bits, 400, endpoint=True) for _ in range(2))
    c_re[:6] = 1
    a_in = rng.integers(-(1 << 24), 1 << 24, (5, 800)).astype(np.float64)
    for shift, sends in zip((0, 5, 0, 3), SENDS, strict=True):
        want = fx.RFUpdate(c_re, c_im, shift, bits, rounding, limit, sends)
        new_re, new_im, out_a, out_b = re.copy(), im.copy(), np.zeros((5, 400)), np.zeros((5, 400))
        count = want(new_re, new_im, a_in, out_a, out_b)
        got = fx.RFUpdateTorch(c_re, c_im, shift, bits, rounding, limit, sends,
                               device=torch.device(device.replace("torch-", "")))
        t_re, t_im, t_a, t_b = (_on(device, x) for x in (re, im, np.zeros((5, 400)), np.zeros((5, 400))))
        assert int(got(t_re, t_im, _on(device, a_in), t_a, t_b)) == count > 0
        for g, w in ((t_re, new_re), (t_im, new_im), (t_a, out_a), (t_b, out_b)):
            np.testing.assert_array_equal(_back(g), w)
        assert len(np.unique(out_a)) > 2 or sends.spike in ("none", "cartesian")


@pytest.mark.parametrize("device", DEVICES)
def test_spikes_payloads_and_dense_outputs_torch_equal_numpy(device):
    rng = np.random.default_rng(3)
    re, im = (rng.integers(-(1 << 23) + 1, 1 << 23, 3000).astype(np.float64) for _ in range(2))
    k = np.arange(-20, 20)
    re[:40], im[:40] = (k * 3).astype(np.float64), (k * 4).astype(np.float64)  # |z| = 5 |k|: multiples of 5
    re[40:60] = np.arange(-10, 10) * 7.0  # multiples of the threshold and their neighbours
    for rule in ("cartesian", "polar"):
        for levels, thr in ((1, 7), (3, 7), (15, 5), (3, 1 << 20)):
            want = fx.rf_spikes(re, im, thr, rule, levels)
            got = _back(fx.rf_spikes_torch(_on(device, re), _on(device, im), thr, rule, levels))
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype
    for shift, bits in ((0, 24), (5, 24), (3, 12)):
        np.testing.assert_array_equal(_back(fx.graded_payload_torch(_on(device, re), shift, bits)),
                                      fx.graded_payload_float(re, shift, bits))
    acc = rng.integers(-(1 << 30), 1 << 30, 3000).astype(np.float64)
    for exp in range(-8, 8):
        np.testing.assert_array_equal(_back(fx.dense_output_torch(_on(device, acc), exp)),
                                      fx.dense_output_float(acc, exp))


RULES = [fx.LAVA_RULE, fx.SpikeRule("subtract"), fx.SpikeRule("subtract_next"), fx.SpikeRule("zero_next"),
         fx.SpikeRule("subtract", inclusive=True, max_spikes=3), fx.SpikeRule("subtract_next", True, 2)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.reset}-{r.inclusive}-{r.max_spikes}")
def test_lif_step_torch_equals_numpy(device, rule):
    """Random states and inputs around Lava's wrap of u (beyond +-2**23) and clip of v, negative products (the
    decays round toward zero), per-neuron decays and a spike count carried to the next step."""
    rng = np.random.default_rng(rule.max_spikes)
    half = 1 << 23
    u = rng.integers(-half + 1, half, (6, 300))
    v = rng.integers(-half + 1, half, (6, 300))
    a_in = rng.integers(-(1 << 17), 1 << 17, (6, 300)).astype(np.float64)
    a_in[0, :4] = [half >> 6, -(half >> 6), (half >> 6) - 1, 0]
    u[0, :4] = 0
    du = rng.integers(0, 4096, 300)
    last = rng.integers(0, rule.max_spikes + 1, (6, 300))
    last = last.astype(bool) if rule.max_spikes == 1 else last
    for dv in (0, 123):
        want = fx.lif_step(u, v, a_in, du, dv, 1000, rule, last)
        got = fx.lif_step_torch(_on(device, u), _on(device, v), _on(device, a_in), _on(device, du), dv, 1000, rule,
                                _on(device, last))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(_back(g), w)
            assert _back(g).dtype == w.dtype
        assert want[3].any() and want[2].any()


@pytest.mark.parametrize("device", DEVICES)
def test_readout_lif_torch_equals_compiled_step(device):
    rng = np.random.default_rng(5)
    half = 1 << 23
    u, v = (rng.integers(-half + 1, half, (4, 50)) for _ in range(2))
    a_in = rng.integers(-(1 << 17), 1 << 17, (4, 50)).astype(np.float64)
    du = rng.integers(0, 4096, 50)
    want_u, want_v = u.copy(), v.copy()
    count = fx.LavaLIFStep(du, 0, 1000)(want_u, want_v, a_in)
    t_u, t_v = _on(device, u), _on(device, v)
    assert int(fx.LavaLIFStepTorch(du, 0, 1000, device=t_u.device)(t_u, t_v, _on(device, a_in))) == count > 0
    np.testing.assert_array_equal(_back(t_u), want_u)
    np.testing.assert_array_equal(_back(t_v), want_v)


def _assert_same_run(got, want) -> None:
    np.testing.assert_array_equal(got.readout, want.readout)
    assert got.readout.dtype == want.readout.dtype
    assert got.saturation == want.saturation
    for kind in ("spikes", "states"):
        pairs = list(zip(got.named(kind), want.named(kind), strict=True))
        assert pairs
        for (name_g, g), (name_w, w) in pairs:
            assert name_g == name_w and g.dtype == w.dtype
            np.testing.assert_array_equal(g, w, err_msg=f"{kind} {name_w}")


TIGHT = profile_from_dict(LOIHI2.to_dict() | {"state": dict(LOIHI2.state, default_headroom=1.0)}, "tight")
NEAREST = profile_from_dict(LOIHI2.to_dict() | {"decay": dict(LOIHI2.decay, rounding="nearest")}, "nearest")
# (variant, layers, spike bits, inputs, profile, gain): every variant with skips (3-4 layers), graded stages (zoh),
# polar, multi-bit outputs, analog inputs sent as graded payloads, clipped states (data-free scales, no headroom),
# rounding to nearest.
S5RF_CASES = [
    ("dirac_keepimag", 4, 1, "spikes", LOIHI2, None),
    ("dirac_real", 3, 2, "spikes", LOIHI2, None),
    ("zoh_vmix", 3, 1, "analog", LOIHI2, None),
    ("zoh_real_polar", 3, 2, "spikes", NEAREST, None),
    ("bilinear_polar", 3, 3, "analog", LOIHI2, None),
    ("bilinear_real", 3, 1, "spikes", TIGHT, 40.0),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant, layers, bits, inputs, profile, gain", S5RF_CASES, ids=[c[0] for c in S5RF_CASES])
def test_s5rf_stepper_on_device_equals_cpu(device, variant, layers, bits, inputs, profile, gain):
    model = make_model(variant, layers=layers, neurons=8, blocks=2, inputs=5, classes=3, seed=7, spike_bits=bits,
                       gain=gain)
    rng = np.random.default_rng(8)
    u = random_spikes(5, 30, 5, rate=0.4, seed=9) if inputs == "spikes" else rng.random((5, 30, 5)).astype(np.float32)
    fxp, _ = quantize(network_from_model(model), profile, None if gain else u, max_steps=30)  # data-free: clips
    fxp = dataclasses.replace(fxp, state_stages=tuple(range(len(fxp.stages))))
    want = Stepper(fxp).run(u, record=("spikes", "states"), batch_size=3)
    _assert_same_run(Stepper(fxp, device).run(u, record=("spikes", "states"), batch_size=3), want)
    assert (fxp.input_encoding.kind == GRADED) == (inputs == "analog")
    assert bool(gain) == (sum(want.saturation.values()) > 0)
    assert all(s.any() for s in want.spikes) and (max(s.max() for s in want.spikes) > 1) == (bits > 1)


INTEROP = DATA_DIR / "interop"
MANIFEST = json.loads((INTEROP / "manifest.json").read_text())
# LIF with subtract at the next step (recurrent), CubaLIF zero at the next step, multi-spike counts, inclusive
# single spikes, an LI readout.
GRAPH_CASES = ["snntorch_rsynaptic", "snntorch_synaptic_zero", "rockpool_lifneurontorch", "sinabs_lif_single",
               "norse_lifbox_li"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", GRAPH_CASES)
def test_graph_stepper_on_device_equals_cpu(device, case):
    data = np.load(INTEROP / f"{case}.npz")
    x = data["input"].astype(np.float64)[:3]
    net = load_nir(INTEROP / f"{case}.nir", semantics=MANIFEST[case]["semantics"])
    graph, _ = lif_graph(net, LOIHI2, calibration=x)
    want = GraphStepper(graph).run(x, record=("spikes", "states"), batch_size=2)
    _assert_same_run(GraphStepper(graph, device).run(x, record=("spikes", "states"), batch_size=2), want)
    assert sum(int(s.sum()) for s in want.spikes.values()) > 0


def test_device_names_and_inexact_products_are_refused():
    with pytest.raises(S5RFError, match="unknown device 'gpu'"):
        kernels_for("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(S5RFError, match="no CUDA GPU is available"):
            kernels_for("cuda:0")
    port = Port([Synapse(INPUT, np.full((2, 3), 1000), 0)], 2, lambda source: 1)
    port.products = [(keys, w_t.astype(np.int64), *rest) for keys, w_t, *rest in port.products]  # bound >= 2**53
    with pytest.raises(S5RFError, match="inexact in float64"):
        DevicePort(port, torch.device("cpu"))
