"""Fixed point against float for every S5-RF variant, within bounds derived from the quantizer's report.

Every variant (dirac / zoh / bilinear, keep_imag on and off, cartesian and polar spikes, skip connections,
V mixing with graded payloads) with complex poles (HiPPO blocks of 4) and non-identity complex V.  The float
model (float64 PyTorch) is *teacher-forced*: each layer gets the spikes the fixed-point layers before it
produced, so the bounds below hold whatever a spike near a threshold does, and a wrong skip connection, a
wrong V or a wrong leak in the quantized network shows as a state outside its bound.

Derivation (state units: ``S`` per float unit; all bounds are per neuron and per step ``t``):

RF state ``z``.  Float ``z[t] = lam z[t-1] + M x[t]``; fixed ``Z[t] = R(C Z[t-1]) + (W x[t] << shift)`` with
``C = lam_q 2^bits``.  The error ``e[t] = Z[t] / S - z[t]`` obeys
``e[t] = lam_q e[t-1] + (lam_q - lam) z[t-1] + (M_q - M) x[t] + r[t] / S``, so
``|e[t]| <= rho |e[t-1]| + d |z[t-1]| + w |x[t]|_1 + sqrt(2) (2 + n_neg 2^shift) / S`` with

- ``d >= |lam_q - lam|`` from the report's pole error: ``|dmag| + |lam| |dangle|`` (chord <= arc),
- ``rho = |lam| + |dmag| >= |lam_q|``,
- ``w`` = the report's ``weight_error.max_abs`` (largest ``|M_q - M|`` entry; each source synapse carries the
  same weights, so ``|(M_q - M) x| <= w |x|_1`` for the summed spikes ``x``),
- rounding: each part is two products each rounded toward zero (``< 1`` unit each, so ``< 2`` per part),
- ``n_neg`` synapses with a negative exponent floor their sum (``< 1`` Dense unit, ``2^shift`` state units).

V-mixing stage ``x = V z`` (zero decay: its state is its input).  With ``A`` the real ``2P x 2P`` form of
``V`` and ``A_q`` the quantized one, ``|A_q - A| <= eps = rel_max max|A|`` (the report's
``mixing_weight_error``), payloads ``p = R0(Z >> ps)`` (``|p 2^ps - Z| < 2^ps``):
``X / S - x = A_q (p 2^ps / S - Z / S) + A_q (Z / S - z) + (A_q - A) z``, so per component
``<= sum_c (|A| + eps)_rc (2^ps / S + B_c) + eps sum_c |z_c| + n_neg 2^shift / S``.

Readout (Lava LIF, ``u`` in ``S_r`` units per float unit, ``v`` its running sum, no wrap or clip): as for
``z`` with real ``beta``: ``E[t] = (beta + |dbeta|) E[t-1] + |dbeta| |y[t-1]| + w_r |x[t]|_1 + (1 + n_neg
2^6) / S_r`` (``u`` rounded toward zero: ``< 1`` unit; a Dense floor is shifted left by the LIF's 6), and
``|v / S_r - sum_t y[t]| <= sum_t E[t]``; ``dbeta`` and ``w_r`` from the report.

The report's own pole and leak errors are checked against what the profile's bits allow (``round`` to
``2^-bits``): ``|lam_q - lam| <= 2^-bits / sqrt(2)``, ``|dbeta| <= 2^-(leak_bits + 1)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from helpers import make_model, random_spikes
from s5rf_deploy.fixed.inputs import check_spike_inputs
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.layout import float_pipeline
from s5rf_deploy.s5rf.network import Readout, model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.scan import linear_scan
from s5rf_deploy.s5rf.stepper import Stepper

LOIHI2 = load_profile("loihi2")
STEPS = 40
# Readout leaks: 0.8 (the model's initial leak, not a multiple of 2^-12) and exact 12-bit values, whose
# quantization is exact, so any leak error the fixed point shows is a quantizer or LIF mistake.
LEAKS = np.array([0.8, 3584 / 4096, 3891 / 4096])


def rf_bound(lam: np.ndarray, z: np.ndarray, x: np.ndarray, layer_report: dict, stage) -> np.ndarray:
    """Per (sample, step, neuron) bound on ``|Z / S - z|`` (see the module docstring)."""
    pole = layer_report["pole_error"]
    dmag = np.abs(np.array(pole["magnitude"]))
    dangle = np.abs((np.array(pole["angle"]) + np.pi) % (2 * np.pi) - np.pi)
    d = dmag + np.abs(lam) * dangle
    rho = np.abs(lam) + dmag
    n_neg = sum(syn.weight_exp < 0 for syn in stage.inputs)
    additive = (layer_report["weight_error"]["max_abs"] * np.abs(x).sum(-1, keepdims=True)
                + math.sqrt(2) * (2 + n_neg * 2**stage.input_shift) / stage.state_scale)
    bound = np.zeros_like(np.abs(z))
    previous = np.zeros(z.shape[::2])
    previous_z = np.zeros(z.shape[::2])
    for t in range(z.shape[1]):
        previous = rho * previous + d * previous_z + additive[:, t]
        bound[:, t] = previous
        previous_z = np.abs(z[:, t])
    return bound


def mixing_bound(v: np.ndarray, z: np.ndarray, z_bound: np.ndarray, layer_report: dict, rf_stage,
                 mixing_stage) -> np.ndarray:
    """Per (sample, step, component) bound on ``|X / S - V z|``, components ordered (real parts, imaginary parts)."""
    a = np.block([[v.real, -v.imag], [v.imag, v.real]])
    eps = layer_report["mixing_weight_error"]["rel_max"] * np.abs(a).max()
    z_parts = np.concatenate([z.real, z.imag], -1)
    per_component = np.concatenate([z_bound, z_bound], -1) + 2.0**rf_stage.payload_shift / rf_stage.state_scale
    n_neg = sum(syn.weight_exp < 0 for syn in mixing_stage.inputs)
    return (per_component @ (np.abs(a) + eps).T + eps * np.abs(z_parts).sum(-1, keepdims=True)
            + n_neg * 2.0**mixing_stage.input_shift / mixing_stage.state_scale)


def teacher_forced_inputs(model, u: np.ndarray, spikes: list[np.ndarray]) -> list[np.ndarray]:
    """The input of each float layer and of the readout when each layer's spikes are the fixed-point ones
    (skips as the float model adds them: ``x = s + x`` on ``config.has_skip`` layers)."""
    inputs, x = [u.astype(np.float64)], u.astype(np.float64)
    for i, s in enumerate(spikes):
        x = s + x if model.config.has_skip(i) else s.astype(np.float64)
        inputs.append(x)
    return inputs


def make_network(variant: str, layers: int, seed: int):
    net = network_from_model(make_model(variant, layers=layers, neurons=8, blocks=2, inputs=5, classes=3, seed=seed))
    return dataclasses.replace(net, readout=Readout(net.readout.weight, LEAKS.copy()))


# (variant, layers): every discretization, keep_imag on/off, cartesian/polar, V mixing on zoh layer 0, skip
# connections on layers 1 .. L-2.
VARIANT_CASES = [("dirac_keepimag", 4), ("dirac_real", 3), ("zoh_vmix", 3), ("zoh_real_polar", 3),
                 ("bilinear_polar", 3), ("bilinear_real", 4)]


@pytest.mark.parametrize("variant, layers", VARIANT_CASES)
@pytest.mark.parametrize("calibrated", [True, False], ids=["calibrated", "data-free"])
def test_fixed_states_and_readout_within_the_reported_error(variant, layers, calibrated):
    net = make_network(variant, layers, seed=23)
    model = model_from_network(net)
    u = random_spikes(4, STEPS, 5, rate=0.3, seed=24)
    fxp, report = quantize(net, LOIHI2, u if calibrated else None, max_steps=STEPS)
    res = Stepper(dataclasses.replace(fxp, state_stages=tuple(range(len(fxp.stages))))).run(
        u, record=("spikes", "states"))
    assert sum(res.saturation.values()) == 0
    assert all(0 < s.mean() < 1 for s in res.spikes)
    inputs = teacher_forced_inputs(model, u, res.spikes)
    for i, layer in enumerate(model.layers):
        k = fxp.state_stages[i]
        stage = fxp.stages[k]
        with torch.no_grad():
            current = layer.current(torch.from_numpy(inputs[i]))
            lam, gain = layer.discretized()
            z = linear_scan(lam, current * gain).numpy()
            mixed = layer.dynamics(current).numpy()
        lam = lam.numpy()
        assert np.all(lam.imag != 0)  # complex poles
        fixed = res.states[k][..., 0] / stage.state_scale + 1j * res.states[k][..., 1] / stage.state_scale
        bound = rf_bound(lam, z, inputs[i], report.layers[i], stage)
        error = np.abs(fixed - z)
        assert np.all(error <= bound * (1 + 1e-9) + 1e-12), f"layer {i}: error {error.max():.3g} beyond its bound"
        assert bound.max() < 0.05 * layer.threshold.item()  # the bound is tight enough to mean something
        if layer.V is None:
            continue
        v = layer.V.numpy().astype(np.complex128)
        assert np.abs(v - np.diag(np.diag(v))).max() > 0.1 and np.abs(v.imag).max() > 0.1  # non-trivial V
        km = fxp.layer_stages[i]
        x_fixed = res.states[km].transpose(0, 1, 3, 2).reshape(*res.states[km].shape[:2], -1) / stage.state_scale
        x_float = np.concatenate([mixed.real, mixed.imag], -1)
        x_bound = mixing_bound(v, z, bound, report.layers[i], stage, fxp.stages[km])
        assert np.all(np.abs(x_fixed - x_float) <= x_bound * (1 + 1e-9) + 1e-12), f"layer {i}: V mixing"
        assert x_bound.max() < 0.05 * layer.threshold.item()

    # readout: the float leaky integrator on the fixed spikes against the LIF's v
    w = net.readout.weight
    beta = net.readout.leak
    with torch.no_grad():
        y = linear_scan(torch.from_numpy(beta), torch.from_numpy(inputs[-1] @ w.T)).numpy()
    dbeta = np.abs(np.array(report.readout["leak_error"]))
    n_neg = sum(syn.weight_exp < 0 for syn in fxp.readout.inputs)
    additive = (report.readout["weight_error"]["max_abs"] * np.abs(inputs[-1]).sum(-1, keepdims=True)
                + (1 + n_neg * 2**LOIHI2.readout["input_shift"]) / fxp.readout.scale)
    per_step, previous_y, total = np.zeros_like(y[:, 0]), np.zeros_like(y[:, 0]), np.zeros_like(y[:, 0])
    for t in range(STEPS):
        per_step = (beta + dbeta) * per_step + dbeta * np.abs(previous_y) + additive[:, t]
        total += per_step
        previous_y = y[:, t]
    error = np.abs(res.readout / fxp.readout.scale - y.sum(1))
    assert np.all(error <= total * (1 + 1e-9) + 1e-12), f"readout error {error.max():.3g} beyond {total.max():.3g}"
    # not vacuous: within 5 % of the largest readout (data-free: 25 %, its scale is 2^13 against 2^14..2^16
    # calibrated, and the floor of a -8 exponent digit costs up to 2^6 / S_r per synapse and step)
    assert total.max() < (0.05 if calibrated else 0.25) * np.abs(y.sum(1)).max()


def test_reported_pole_and_leak_errors_within_the_profile_bits():
    """``round(lambda_bar 2^bits)`` is off by at most half a unit in each part, ``du`` by half a leak unit; the
    report must say no more (and the quantized leak must hold the implicit ``ds_offset``, or it is one unit off)."""
    bits, leak_bits = LOIHI2.decay["bits"], LOIHI2.readout["leak_bits"]
    for variant, layers in VARIANT_CASES:
        net = make_network(variant, layers, seed=25)
        _, report = quantize(net, LOIHI2, max_steps=STEPS)
        for i, layer in enumerate(net.layers):
            lam = layer.discretized()[0]
            pole = report.layers[i]["pole_error"]
            assert pole["max_abs_magnitude"] <= 2.0**-bits / math.sqrt(2)
            angle = np.abs((np.array(pole["angle"]) + np.pi) % (2 * np.pi) - np.pi)
            assert np.all(angle * np.abs(lam) <= 2.0**-bits / math.sqrt(2) * (1 + 1e-9) + 1e-15)
        leak_error = np.abs(np.array(report.readout["leak_error"]))
        assert np.all(leak_error <= 2.0 ** -(leak_bits + 1))
        assert np.all(leak_error[1:] == 0)  # exact 12-bit leaks quantize exactly


@pytest.mark.lava
def test_quantized_readout_leak_in_lavas_own_lif_is_the_float_leak():
    """Each class's quantized ``du`` in Lava's real bit-accurate LIF (``PyLifModelBitAcc``, with its implicit
    ``ds_offset``): one step from ``u = 2**20`` without input leaves ``beta_q 2**20``, and ``beta_q`` must be
    the float leak to within the 12 leak bits' rounding (``2**-13``)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.lif.process import LIF

    from s5rf_deploy.fixed.lava_runtime import terminate_lava_processes

    leak_bits = LOIHI2.readout["leak_bits"]
    fxp, _ = quantize(make_network("dirac_real", 2, seed=26), LOIHI2, max_steps=STEPS)
    start = 2**20
    lifs = [LIF(shape=(1,), u=start, du=int(du), dv=0, vth=2**16) for du in fxp.readout.du]
    join = Sink(shape=(1,), buffer=1)
    for lif in lifs:
        lif.s_out.connect(join.a_in)
    try:
        join.run(condition=RunSteps(num_steps=1), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        applied = np.array([float(np.asarray(lif.u.get()).item()) for lif in lifs]) / start
    except BaseException:
        terminate_lava_processes()
        raise
    join.stop()
    assert np.all(np.abs(applied - LEAKS) <= 2.0 ** -(leak_bits + 1)), (applied, LEAKS)


def run_float_pipeline(pipe, u: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The float pipeline as Lava's floating_pt models run it (docs/fixed-point.md, Timing and Lava), step by
    step in numpy: each synapse delivers ``W s`` of what its source sent ``1 + delay`` steps before;
    ``z' = lambda z + a``; a graded stage sends its state, the others spike by their rule; the readout LIF
    ``u' = (1 - du) u + a``, ``v' = v + u``.  Returns (v, spikes per layer, states per stage), aligned to float time."""
    u = check_spike_inputs(u, pipe.input_dim).astype(np.float64)  # as LavaRunner checks them
    n, steps, _ = u.shape
    stages = pipe.stages
    sent: dict[tuple[int, str], list[np.ndarray]] = {}
    width = {INPUT: u.shape[2]} | {k: st.size for k, st in enumerate(stages)}

    def synaptic(synapses, rows: int, p: int) -> np.ndarray:
        total = np.zeros((n, rows))
        for syn in synapses:
            q = p - 1 - syn.delay
            if q >= 0:
                total += sent[(syn.source, syn.part)][q] @ syn.weights.T
        return total

    z = [np.zeros((n, st.size), complex) for st in stages]
    states = [np.zeros((n, steps, st.size), complex) for st in stages]
    spikes = {k: np.zeros((n, steps, st.size)) for k, st in enumerate(stages) if st.spike != "graded"}
    lif_u = lif_v = np.zeros((n, pipe.num_classes))
    for p in range(steps + pipe.latency):
        a = [synaptic(st.inputs, 2 * st.size, p) for st in stages]
        a_readout = synaptic(pipe.readout.inputs, pipe.num_classes, p)
        sent.setdefault((INPUT, "spikes"), []).append(u[:, p] if p < steps else np.zeros((n, width[INPUT])))
        for k, st in enumerate(stages):
            z[k] = (st.decay_re + 1j * st.decay_im) * z[k] + a[k][:, :st.size] + 1j * a[k][:, st.size:]
            if st.spike == "graded":
                sent.setdefault((k, "re"), []).append(z[k].real)
                sent.setdefault((k, "im"), []).append(z[k].imag)
            else:
                drive = z[k].real if st.spike == "cartesian" else np.abs(z[k])
                sent.setdefault((k, "spikes"), []).append((drive > st.threshold).astype(float))
            t = p - (k + 1)
            if 0 <= t < steps:
                states[k][:, t] = z[k]
                if k in spikes:
                    spikes[k][:, t] = sent[(k, "spikes")][p]
        lif_u = (1 - pipe.readout.du) * lif_u + a_readout
        lif_v = lif_v + lif_u
    return lif_v, [spikes[k] for k in pipe.layer_stages], states


@pytest.mark.parametrize("variant, layers", VARIANT_CASES)
def test_float_pipeline_layout_equals_the_float_model(variant, layers):
    """The layout Lava's float models run (``layout.float_pipeline``: stages, skip synapses and their delays,
    the V-mixing stage, the readout LIF's ``du``), evaluated step by step, against the float64 model: the
    readout (sum of ``y``) to 1e-9, every spike equal, the pre-spike states ``x`` (the mixing stage after a
    graded one) to 1e-9.  Without Lava, so that the layout's mutants meet a fast test."""
    net = make_network(variant, layers, seed=27)
    u = random_spikes(3, 30, 5, rate=0.3, seed=28)
    v, spikes, states = run_float_pipeline(float_pipeline(net), u)
    model = model_from_network(net)
    with torch.no_grad():
        out = model(torch.from_numpy(u).double(), record_states=True)
    total = out.readout.sum(dim=1).numpy()
    np.testing.assert_allclose(v, total, rtol=1e-9, atol=1e-9 * np.abs(total).max())
    for i, (got, expected) in enumerate(zip(spikes, out.spikes, strict=True)):
        np.testing.assert_array_equal(got, expected.numpy(), err_msg=f"spikes of layer {i}")
        assert 0 < got.mean() < 1
    pipe = float_pipeline(net)
    for i, (layer, expected) in enumerate(zip(model.layers, out.states, strict=True)):
        x = expected.numpy()
        np.testing.assert_allclose(states[pipe.layer_stages[i]], x, rtol=1e-9, atol=1e-9 * np.abs(x).max())
        z = x if layer.V is None else np.linalg.solve(layer.V.numpy(), x.reshape(-1, x.shape[-1]).T).T.reshape(x.shape)
        np.testing.assert_allclose(states[pipe.state_stages[i]], z, rtol=1e-7, atol=1e-7 * np.abs(z).max())


def network_loop(net, u: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Float64 step-by-step evaluation of an S5RFNetwork from its own description (not the torch model, which
    allows skips on layers 1 .. L-2 only): ``z = lambda_bar z + M x``, ``x = V z``, spikes, ``x_next = s + x`` on
    layers with ``skip``, readout ``y = beta y + W x``.  Returns (sum_t y, spikes per layer)."""
    x_all = u.astype(np.float64)
    spikes = []
    for layer in net.layers:
        lam, m = layer.discretized()
        z = np.zeros((u.shape[0], layer.num_neurons), complex)
        s = np.zeros((u.shape[0], u.shape[1], layer.num_neurons))
        for t in range(u.shape[1]):
            z = lam * z + x_all[:, t] @ m.T
            x = z if layer.mixing is None else z @ layer.mixing.T
            s[:, t] = (x.real if layer.spike == "cartesian" else np.abs(x)) > layer.threshold
        spikes.append(s)
        x_all = s + x_all if layer.skip else s
    y = np.zeros((u.shape[0], net.num_classes))
    total = np.zeros_like(y)
    for t in range(u.shape[1]):
        y = net.readout.leak * y + x_all[:, t] @ net.readout.weight.T
        total += y
    return total, spikes


@pytest.mark.parametrize("variant", ["dirac_keepimag", "zoh_vmix"])
def test_float_pipeline_with_a_skip_on_every_layer(variant):
    """The layout's general case: a skip on every layer, the first (from the input) and the last (into the
    readout) too, which the classifier never has; against :func:`network_loop`."""
    model = make_model(variant, layers=3, neurons=4, blocks=1, inputs=4, classes=3, seed=32)
    net = network_from_model(model)
    net = dataclasses.replace(net, layers=tuple(dataclasses.replace(layer, skip=True) for layer in net.layers))
    u = random_spikes(2, 30, 4, rate=0.3, seed=33)
    v, spikes, _ = run_float_pipeline(float_pipeline(net), u)
    total, expected = network_loop(net, u)
    np.testing.assert_allclose(v, total, rtol=1e-9, atol=1e-9 * np.abs(total).max())
    for i, (got, want) in enumerate(zip(spikes, expected, strict=True)):
        np.testing.assert_array_equal(got, want, err_msg=f"spikes of layer {i}")
        assert 0 < got.mean() < 1
