"""Test helpers: an independent per-step float64 implementation of S5-RF."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "tests" / "data"  # public fixtures: see tests/data/README.md
# The NIR paper's LIF stimulus (lif_*.csv): 100 bins of one 0/1 entry and nine zeros, ones at these bins.
PAPER_STIMULUS_ONES = [6, 22, 27, 31, 32, 35, 37, 40, 41, *range(43, 54), *range(67, 79), 84, 85]


def paper_stimulus() -> np.ndarray:
    """The NIR paper's LIF stimulus, (1000,) of 0/1."""
    stimulus = np.zeros(1000)
    stimulus[np.array(PAPER_STIMULUS_ONES) * 10] = 1.0
    return stimulus


def loop_forward(model: S5RFModel, u: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Per-time-step numpy float64 evaluation written from DESIGN.md section 1.

    Returns (logprobs (N, C), spikes per layer (N, T, P), pre-spike x per layer).
    """
    cfg = model.config
    x = u.astype(np.float64)
    n, steps, _ = x.shape
    all_spikes, all_pre = [], []
    for i, layer in enumerate(model.layers):
        b = layer.B.detach().double().numpy()
        bc = b[..., 0] + 1j * b[..., 1]
        lam = -np.exp(layer.log_neg_real.detach().double().numpy()) + 1j * layer.imag.detach().double().numpy()
        delta = np.exp(layer.log_step.detach().double().numpy())
        rule = layer.discretization
        if rule == "dirac":
            lb, gain = np.exp(lam * delta), delta + 0j
        elif rule == "zoh":
            lb = np.exp(lam * delta)
            gain = (lb - 1) / lam
        else:
            lb = (1 + delta / 2 * lam) / (1 - delta / 2 * lam)
            gain = delta / (1 - delta / 2 * lam)
        v = None if layer.V is None else layer.V.numpy().astype(np.complex128)
        thr = float(layer.threshold)
        z = np.zeros((n, bc.shape[0]), complex)
        s_out = np.zeros((n, steps, bc.shape[0]))
        pre_out = np.zeros((n, steps, bc.shape[0]), complex)
        for t in range(steps):
            c = x[:, t] @ bc.T
            if not layer.keep_imag:
                c = c.real + 0j
            z = lb * z + gain * c
            pre = z if v is None else z @ v.T
            drive = pre.real if layer.spike_rule == "cartesian" else np.abs(pre)
            s_out[:, t] = sum(drive > n * thr for n in range(1, 2**layer.spike_bits))  # levels exceeded
            pre_out[:, t] = pre
        all_spikes.append(s_out)
        all_pre.append(pre_out)
        x = s_out + x if cfg.has_skip(i) else s_out
    w = model.readout_weight.detach().double().numpy()
    beta = torch.sigmoid(model.tau.detach().double()).numpy()
    y = np.zeros((n, w.shape[0]))
    acc = np.zeros_like(y)
    for t in range(steps):
        y = beta * y + x[:, t] @ w.T
        acc += y
    logits = acc / steps
    logits = logits - logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True)), all_spikes, all_pre


VARIANTS = {
    "dirac_keepimag": dict(discretization="dirac", keep_imag=True, spike="cartesian"),
    "dirac_real": dict(discretization="dirac", keep_imag=False, spike="cartesian"),
    "zoh_vmix": dict(discretization="zoh", keep_imag=True, spike="cartesian"),
    "zoh_real_polar": dict(discretization="zoh", keep_imag=False, spike="polar"),
    "bilinear_polar": dict(discretization="bilinear", keep_imag=True, spike="polar"),
    "bilinear_real": dict(discretization="bilinear", keep_imag=False, spike="cartesian"),
}


def make_model(variant: str, layers: int = 2, neurons: int = 12, blocks: int = 3, inputs: int = 5,
               classes: int = 4, seed: int = 0, gain: float | None = None, spike_bits: int = 1) -> S5RFModel:
    """A random model of a named variant whose layers fire at a useful rate."""
    cfg = ModelConfig(input_dim=inputs, output_dim=classes, num_neurons=(neurons,) * layers,
                      num_blocks=(blocks,) * layers, eta_min=0.05, eta_max=0.5, spike_bits=spike_bits,
                      **VARIANTS[variant])
    model = S5RFModel(cfg, seed=seed)
    gain = gain if gain is not None else (3.0 if cfg.spike == "polar" else 6.0)
    with torch.no_grad():
        for layer in model.layers:
            layer.B.mul_(gain)
    return model.eval()


def random_spikes(n: int, steps: int, width: int, rate: float = 0.2, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, steps, width)) < rate).astype(np.float32)


# --- The big-integer oracle of quantized S5-RF networks (tests/s5rf/test_oracle_bigint.py, test_oracle_lava_rf.py) --
# Written from docs/fixed-point.md ("Arithmetic", "Timing") with Python ints, explicit loops and explicit rounding;
# it reads only the integers of an FxpNetwork and its profile's widths (never s5rf_deploy.fixed.arithmetic or the
# steppers' engine).


def toward_zero(x: int, shift: int) -> int:
    """``x / 2**shift`` rounded toward zero (``sign(x) * (|x| >> shift)``)."""
    return x >> shift if x >= 0 else -((-x) >> shift)


def clip(x: int, limit: int) -> int:
    return max(-limit, min(limit, x))


def dense(weights: list[list[int]], values: list[int], exponent: int) -> list[int]:
    """Lava's bit-accurate Dense: accumulate, then shift once (Python's ``>>`` on ints is floor)."""
    out = []
    for row in weights:
        acc = 0
        for w, x in zip(row, values, strict=True):
            acc += w * x
        assert abs(acc) < 2**31, "Lava's int32 accumulator would overflow"
        out.append(acc << exponent if exponent >= 0 else acc >> -exponent)
    return out


@dataclasses.dataclass
class BigIntRun:
    states: list[np.ndarray]  # per stage: (T, P, 2)
    spikes: dict[int, np.ndarray]  # per spiking stage: (T, P)
    readout: list[int]  # LIF v after the run
    saturation: dict[str, int]


def bigint_run(net, u: np.ndarray) -> BigIntRun:
    """Evaluate one sample ``u`` (T, H) of 0/1 spikes."""
    prof = net.profile
    assert prof.decay["rounding"] == "toward_zero"
    dbits = prof.decay["bits"]
    limit = 2 ** (prof.state["bits"] - 1) - 1
    payload_limit = 2 ** (prof.spikes["payload_bits"] - 1) - 1
    leak_bits, in_shift = prof.readout["leak_bits"], prof.readout["input_shift"]
    half = 2 ** (prof.state["bits"] - 1)  # the LIF's u wraps beyond +-2**23, v clips at 2**23 - 1
    steps, width = u.shape
    stages = net.stages
    latency = len(stages) + 1
    sent: dict[tuple[int, str], list[list[int]]] = {}  # (source, part) -> value sent at each pipeline step
    sizes = {INPUT: width} | {k: st.decay_re.shape[0] for k, st in enumerate(stages)}

    def read(source: int, part: str, step: int) -> list[int]:
        if step < 0:
            return [0] * sizes[source]
        return sent[(source, part)][step]

    def synaptic_input(synapses, rows: int, p: int) -> list[int]:
        total = [0] * rows
        for syn in synapses:
            out = dense(syn.weights.tolist(), read(syn.source, syn.part, p - 1 - syn.delay), int(syn.weight_exp))
            total = [a + b for a, b in zip(total, out, strict=True)]
        return total

    re = [[0] * sizes[k] for k in range(len(stages))]
    im = [[0] * sizes[k] for k in range(len(stages))]
    states = [np.zeros((steps, sizes[k], 2), np.int64) for k in range(len(stages))]
    spikes = {k: np.zeros((steps, sizes[k]), np.uint8) for k, st in enumerate(stages) if st.spike != "graded"}
    saturation = {f"stage{k}": 0 for k in range(len(stages))} | {"readout": 0}
    classes = net.readout.du.shape[0]
    lif_u, lif_v = [0] * classes, [0] * classes
    for p in range(steps + latency):
        inputs = [synaptic_input(st.inputs, 2 * sizes[k], p) for k, st in enumerate(stages)]
        readout_in = synaptic_input(net.readout.inputs, classes, p)
        sent.setdefault((INPUT, "spikes"), []).append([int(x) for x in u[p]] if p < steps else [0] * width)
        for k, st in enumerate(stages):
            n = sizes[k]
            c_re, c_im = [int(c) for c in st.decay_re], [int(c) for c in st.decay_im]
            for j in range(n):
                new_re = (toward_zero(c_re[j] * re[k][j], dbits) - toward_zero(c_im[j] * im[k][j], dbits)
                          + (inputs[k][j] << st.input_shift))
                new_im = (toward_zero(c_im[j] * re[k][j], dbits) + toward_zero(c_re[j] * im[k][j], dbits)
                          + (inputs[k][n + j] << st.input_shift))
                saturation[f"stage{k}"] += abs(new_re) > limit or abs(new_im) > limit
                re[k][j], im[k][j] = clip(new_re, limit), clip(new_im, limit)
            if st.spike == "graded":
                sent.setdefault((k, "re"), []).append([clip(toward_zero(x, st.payload_shift), payload_limit)
                                                       for x in re[k]])
                sent.setdefault((k, "im"), []).append([clip(toward_zero(x, st.payload_shift), payload_limit)
                                                       for x in im[k]])
            else:  # the count of levels thr, 2 thr, .., (2^spike_bits - 1) thr exceeded (1 level: a spike)
                levels = range(1, 2**st.spike_bits)
                if st.spike == "cartesian":
                    counts = [sum(x > n * st.threshold for n in levels) for x in re[k]]
                else:
                    counts = [sum(x * x + y * y > (n * st.threshold) ** 2 for n in levels)
                              for x, y in zip(re[k], im[k], strict=True)]
                sent.setdefault((k, "spikes"), []).append(counts)
            t = p - (k + 1)
            if 0 <= t < steps:
                states[k][t, :, 0], states[k][t, :, 1] = re[k], im[k]
                if k in spikes:
                    spikes[k][t] = sent[(k, "spikes")][p]
        for c in range(classes):
            decayed = toward_zero(lif_u[c] * ((1 << leak_bits) - int(net.readout.du[c]) - 1), leak_bits)
            new_u = decayed + (readout_in[c] << in_shift)
            wrapped = new_u - 2 * half if new_u > half else new_u
            wrapped = new_u + 2 * half if wrapped <= -half else wrapped
            new_v = lif_v[c] + wrapped
            clipped = clip(new_v, half - 1)
            fired = clipped > net.readout.vth_mantissa << in_shift
            saturation["readout"] += (wrapped != new_u or clipped != new_v) + fired
            lif_u[c], lif_v[c] = wrapped, 0 if fired else clipped
    return BigIntRun(states, spikes, lif_v, saturation)


def assert_stepper_equals_bigint(fxp, u: np.ndarray, oracle_inputs: np.ndarray | None = None) -> list[np.ndarray]:
    """The stepper on ``u`` equals :func:`bigint_run` on ``oracle_inputs`` (default ``u``; the payloads of graded
    inputs): every stage's states at every step, the spikes, the readout and the saturation counts."""
    from s5rf_deploy.s5rf.stepper import Stepper

    every_stage = dataclasses.replace(fxp, state_stages=tuple(range(len(fxp.stages))))
    res = Stepper(every_stage).run(u, record=("spikes", "states"))
    saturation = dict.fromkeys(res.saturation, 0)
    for i, sample in enumerate(u if oracle_inputs is None else oracle_inputs):
        oracle = bigint_run(fxp, sample)
        for k in range(len(fxp.stages)):
            np.testing.assert_array_equal(res.states[k][i], oracle.states[k], err_msg=f"sample {i}, stage {k} states")
        for j, k in enumerate(fxp.layer_stages):
            np.testing.assert_array_equal(res.spikes[j][i], oracle.spikes[k], err_msg=f"sample {i}, stage {k} spikes")
        np.testing.assert_array_equal(res.readout[i], oracle.readout, err_msg=f"sample {i}, readout")
        for key, count in oracle.saturation.items():
            saturation[key] += count
    assert res.saturation == saturation
    return res.spikes
