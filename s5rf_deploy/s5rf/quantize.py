"""Quantize a float :class:`S5RFNetwork` to a :class:`FxpNetwork` for a hardware profile.

Scales are powers of two.  For RF layer i with state scale ``S = 2^s``
(state units per float unit, so the threshold becomes ``round(thr S)``):

- poles: ``c = round(lambda_bar 2^decay_bits)`` (real and imaginary part),
- input weights: ``sum_d W_d 2^E_d ~= S [Re M; Im M]`` (real and imaginary
  rows stacked) for the discrete input matrix ``M``, one synapse per weight
  digit d, ``W_d`` in Lava's 8-bit weight set for its sign mode and ``E_d``
  split into the compartment's input shift and the synapse's exponent,
- readout: Lava LIFs with ``du = 4095 - round(beta 4096)``, weights
  ``sum_d W_d 2^(e_d + 6) ~= S_r Re(B_out)``.

``S`` comes from calibration data (largest state seen, with a safety margin)
or from the profile's default headroom; ``S_r`` from calibration or from a
worst-case bound over ``max_steps`` steps.  See docs/fixed-point.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.hw_profiles import HardwareProfile
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage, Synapse
from s5rf_deploy.s5rf.layout import layer_sources, links, mixing_blocks
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network

CALIBRATION_MARGIN = 1.5  # calibrated scales leave 50 % above the largest value seen
LAVA_ACCUMULATOR_BITS = 31


@dataclass
class QuantizationReport:
    """What the quantizer chose and what it costs, per layer."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    readout: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    overflow: list[str] = field(default_factory=list)


def quantize_weights(values: np.ndarray, profile: HardwareProfile) -> tuple[np.ndarray, int]:
    """Lava weight values ``W`` and exponent ``E`` with ``W 2^E ~= values`` (the largest maps to the top).

    Sign mode follows Lava's ``determine_sign_mode``: non-negative -> excitatory
    (0..2^b - 1), non-positive -> inhibitory, else mixed (even values in
    [-2^b, 2^b - 2], Lava truncates one bit).  ``b`` = mantissa bits.
    """
    bits = profile.weights["mantissa_bits"]
    top = float(np.abs(values).max(initial=0.0))
    if top == 0:
        return np.zeros(values.shape, np.int64), 0
    mixed = values.min() < 0 < values.max()
    wmax = (1 << bits) - 2 if mixed else (1 << bits) - 1
    exp = math.ceil(math.log2(top / wmax))
    scaled = values / 2.0**exp
    if mixed:
        w = 2 * np.clip(np.rint(scaled / 2), -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    elif values.max() > 0:
        w = np.clip(np.rint(scaled), 0, wmax)
    else:
        w = np.clip(np.rint(scaled), -wmax, 0)
    return w.astype(np.int64), exp


def weight_digits(values: np.ndarray, profile: HardwareProfile, digits: int) -> list[tuple[np.ndarray, int]]:
    """``values ~= sum_d W_d 2^E_d``: each digit quantizes what the previous ones left.

    Each digit is one more synapse between the same neurons (one more Dense in
    Lava) with its own exponent: ``digits`` = 2 gives ~14-bit weights for twice
    the synaptic memory.  All-zero digits are dropped (at least one is kept).
    """
    out: list[tuple[np.ndarray, int]] = []
    rest = np.asarray(values, np.float64)
    for _ in range(digits):
        w, e = quantize_weights(rest, profile)
        if out and not np.any(w):
            break
        out.append((w, e))
        rest = rest - w * 2.0**e
    return out


def _input_shift(exponents: list[int], shift_max: int, profile: HardwareProfile) -> int:
    """Compartment input shift: as large as possible while every synapse exponent stays >= 0 and in range."""
    if not exponents:
        return 0
    low = max(0, max(exponents) - profile.weights["exponent_max"])
    return int(np.clip(min(exponents), low, shift_max))


def _synapse_exponent(total: int, shift: int, profile: HardwareProfile, where: str,
                      report: QuantizationReport) -> int:
    exp = total - shift
    lo, hi = profile.weights["exponent_min"], profile.weights["exponent_max"]
    if exp > hi:
        report.overflow.append(f"{where}: weight exponent {exp} exceeds the profile's {hi}")
    return int(np.clip(exp, lo, hi))


def _pow2_scale(limit: float, largest: float) -> int:
    """Largest s with ``largest * 2^s <= limit``."""
    return math.floor(math.log2(limit / largest)) if largest > 0 else 0


def _calibrate(net: S5RFNetwork, inputs: np.ndarray | None) -> tuple[list[float], float | None, dict]:
    """Largest |state| per layer (of z and, with V mixing, of x = V z) and largest |sum_t y| on calibration data."""
    if inputs is None:
        return [], None, {}
    model = model_from_network(net)
    peaks = np.zeros(len(net.layers))
    readout_peak = 0.0

    def peak(x: torch.Tensor) -> float:
        return float(torch.maximum(x.real.abs(), x.imag.abs()).max())

    with torch.no_grad():
        for start in range(0, len(inputs), 128):
            out = model(torch.from_numpy(inputs[start:start + 128]).double(), record_states=True)
            for i, (layer, x) in enumerate(zip(model.layers, out.states, strict=True)):
                peaks[i] = max(peaks[i], peak(x))
                if layer.V is not None:  # x = z V^T, so z^T = V^-1 x^T
                    flat = x.reshape(-1, x.shape[-1]).T
                    peaks[i] = max(peaks[i], peak(torch.linalg.solve(layer.V.to(x.dtype), flat)))
            readout_peak = max(readout_peak, float(out.readout.sum(dim=1).abs().max()), float(out.readout.abs().max()))
    info = {"samples": int(len(inputs)), "steps": int(inputs.shape[1]), "state_peaks": peaks.tolist(),
            "readout_peak": readout_peak}
    return list(peaks), readout_peak, info


def _synapses(digits: list[tuple[np.ndarray, int]], shift: int, feed: list[tuple[int, int]], part: str,
              profile: HardwareProfile, where: str, report: QuantizationReport) -> tuple[Synapse, ...]:
    """One synapse per (source, digit); ``feed`` holds (source stage, extra delay)."""
    return tuple(Synapse(src, w, _synapse_exponent(e, shift, profile, where, report), delay, part)
                 for src, delay in feed for w, e in digits)


def _effective(syns: tuple[Synapse, ...], shift: int, source: int) -> np.ndarray:
    """The float weights the synapses from one source implement, in target units."""
    return sum(s.weights * 2.0 ** (s.weight_exp + shift) for s in syns if s.source == source)


def quantize(net: S5RFNetwork, profile: HardwareProfile, calibration: np.ndarray | None = None,
             max_steps: int = 1000, digits: int = 2) -> tuple[FxpNetwork, QuantizationReport]:
    """Quantize ``net`` for ``profile``.

    ``calibration`` inputs (N, T, H) choose the state and readout scales;
    ``digits`` synapses per connection give ~7 more weight bits each (see
    :func:`weight_digits`).
    """
    net.validate()
    if digits < 1:
        raise S5RFError("weight digits must be at least 1")
    report = QuantizationReport()
    peaks, readout_peak, report.calibration = _calibrate(net, calibration)
    limit = profile.state_max
    dbits = profile.decay["bits"]
    shift_max = profile.state["input_shift_max"]
    stages: list[Stage] = []
    layer_stage: dict[int, int] = {}  # float layer -> stage with its spikes
    state_stage: list[int] = []
    sources = layer_sources(net)
    for i, layer in enumerate(net.layers):
        lam_bar, m = layer.discretized()
        largest = peaks[i] * CALIBRATION_MARGIN if peaks else profile.state["default_headroom"] * layer.threshold
        s = _pow2_scale(limit, max(largest, layer.threshold))
        scale = 2.0**s
        dmax = (1 << dbits) - 1
        c = np.rint(lam_bar * 2**dbits)
        c_re = np.clip(c.real, -dmax, dmax).astype(np.int64)
        c_im = np.clip(c.imag, -dmax, dmax).astype(np.int64)
        lam_q = (c_re + 1j * c_im) / 2**dbits
        dig = weight_digits(scale * np.concatenate([m.real, m.imag]), profile, digits)
        shift = _input_shift([e for w, e in dig if np.any(w)], shift_max, profile)
        depth = len(stages) + 1
        feed = links(sources[i], layer_stage, depth)
        where = f"layer {i}"
        syns = _synapses(dig, shift, feed, "spikes", profile, where, report)
        stacked = _effective(syns, shift, feed[0][0])
        p = layer.num_neurons
        err = np.abs((stacked[:p] + 1j * stacked[p:]) / scale - m)
        graded = layer.mixing is not None
        threshold = int(round(layer.threshold * scale))
        payload_shift = _payload_shift(layer.mixing, profile) if graded else 0
        stages.append(Stage(c_re, c_im, threshold, "graded" if graded else layer.spike, shift, syns, scale,
                            payload_shift))
        state_stage.append(len(stages) - 1)
        entry = {
            "layer": i, "neurons": layer.num_neurons, "state_scale_log2": s, "threshold": threshold,
            "input_shift": shift, "weight_exponents": sorted({syn.weight_exp for syn in syns}),
            "weight_digits": len(dig),
            "weight_error": {"max_abs": float(err.max()),
                             "rel_rms": float(np.sqrt(np.mean(err**2) / max(np.mean(np.abs(m) ** 2), 1e-300)))},
            "pole_error": {"magnitude": (np.abs(lam_q) - np.abs(lam_bar)).tolist(),
                           "angle": (np.angle(lam_q) - np.angle(lam_bar)).tolist(),
                           "max_abs_magnitude": float(np.abs(np.abs(lam_q) - np.abs(lam_bar)).max()),
                           "max_abs_angle": float(np.abs(np.angle(lam_q) - np.angle(lam_bar)).max())},
        }
        if graded:
            stages.append(_mixing_stage(layer, len(stages) - 1, scale, payload_shift, profile, digits, report))
            entry["mixing_payload_shift"] = payload_shift
        layer_stage[i] = len(stages) - 1
        report.layers.append(entry)
    readout = _quantize_readout(net, profile, sources[-1], layer_stage, len(stages) + 1, readout_peak, max_steps,
                                digits, report)
    fxp = FxpNetwork(net.input_dim, tuple(stages), readout, profile,
                     tuple(layer_stage[i] for i in range(len(net.layers))), tuple(state_stage),
                     {"source": str(net.provenance.get("source", "")), "calibration": report.calibration,
                      "weight_digits": digits})
    report.resources = estimate_resources(fxp)
    if calibration is not None:
        report.calibration["agreement"] = agreement(net, fxp, calibration)
    if not report.resources["fits"]:
        report.overflow.append(f"network needs {report.resources['cores']} cores, the profile has "
                               f"{report.resources['cores_available']}")
    return fxp, report


def _payload_shift(v: np.ndarray, profile: HardwareProfile) -> int:
    """Right shift of a graded stage's state so that every synapse's ``sum_j |W_ij| p_j`` fits Lava's
    32-bit accumulator (each synapse is its own Dense, with its own accumulator)."""
    fan_in = int(max(np.count_nonzero(v.real, axis=1).max(), np.count_nonzero(v.imag, axis=1).max(), 1))
    p_bits = min(profile.spikes["payload_bits"] - 1,
                 LAVA_ACCUMULATOR_BITS - profile.weights["mantissa_bits"] - 1 - math.ceil(math.log2(2 * fan_in)))
    return max(0, profile.state["bits"] - 1 - p_bits)


def _mixing_stage(layer, source: int, scale: float, payload_shift: int, profile: HardwareProfile, digits: int,
                  report: QuantizationReport) -> Stage:
    """The V-mixing stage after a graded RF stage: x = V z, spiking by the layer's rule."""
    v = layer.mixing
    factor = 2.0**payload_shift  # state units per payload unit
    dig = {part: weight_digits(block * factor, profile, digits) for part, block in mixing_blocks(v).items()}
    shift = _input_shift([e for d in dig.values() for w, e in d if np.any(w)], profile.state["input_shift_max"],
                         profile)
    syns = tuple(syn for part in ("re", "im")
                 for syn in _synapses(dig[part], shift, [(source, 0)], part, profile, "V mixing", report))
    zeros = np.zeros(layer.num_neurons, np.int64)
    return Stage(zeros, zeros.copy(), int(round(layer.threshold * scale)), layer.spike, shift, syns, scale)


def _quantize_readout(net: S5RFNetwork, profile: HardwareProfile, sources: list[int], layer_stage: dict[int, int],
                      depth: int, readout_peak: float | None, max_steps: int, digits: int,
                      report: QuantizationReport) -> Readout:
    leak_bits = profile.readout["leak_bits"]
    unity = 1 << leak_bits
    beta = net.readout.leak
    du = np.clip(unity - 1 - np.rint(beta * unity), 0, unity - 1).astype(np.int64)
    beta_q = (unity - 1 - du) / unity
    vth_mant = (1 << profile.readout["threshold_mantissa_bits"]) - 1
    vth_eff = vth_mant << profile.readout["input_shift"]
    w = net.readout.weight
    if readout_peak is None:  # worst case: every input spikes on every step
        per_step = np.abs(w).sum(axis=1) * len(sources)
        readout_peak = float(np.max(per_step / (1 - beta_q)) * max_steps)
        basis = f"worst case over {max_steps} steps"
    else:
        readout_peak *= CALIBRATION_MARGIN
        basis = "calibration"
    s_r = _pow2_scale(min(vth_eff, profile.state_max), readout_peak)
    dig = weight_digits(w * 2.0**s_r, profile, digits)
    shift = profile.readout["input_shift"]
    feed = links(sources, layer_stage, depth)
    inputs = _synapses(dig, shift, feed, "spikes", profile, "readout", report)
    eff = _effective(inputs, shift, feed[0][0]) / 2.0**s_r
    report.readout = {"scale_log2": s_r, "scale_basis": basis,
                      "weight_exponents": sorted({syn.weight_exp for syn in inputs}), "du": du.tolist(),
                      "leak_error": (beta_q - beta).tolist(), "max_abs_leak_error": float(np.abs(beta_q - beta).max()),
                      "weight_error": {"max_abs": float(np.abs(eff - w).max())}, "vth_effective": int(vth_eff)}
    return Readout(inputs, du, vth_mant, 2.0**s_r)


def agreement(net: S5RFNetwork, fxp: FxpNetwork, inputs: np.ndarray) -> dict[str, Any]:
    """Fixed point (stepper) against float64 on ``inputs``: spikes per layer, top-1, saturations."""
    from s5rf_deploy.s5rf.stepper import Stepper

    res = Stepper(fxp).run(inputs, record=("spikes",))
    with torch.no_grad():
        out = model_from_network(net)(torch.from_numpy(np.asarray(inputs)).double())
    return {"spike_agreement": [float((res.spikes[i] == out.spikes[i].numpy()).mean()) for i in range(len(res.spikes))],
            "top1_agreement": float((res.predictions == out.logprobs.argmax(-1).numpy()).mean()),
            "saturation": res.saturation}


def estimate_resources(net: FxpNetwork) -> dict[str, Any]:
    """Neurons, synapses, synaptic memory and cores per population, and whether it fits."""
    pops = [(f"stage{k}", st.size, st.inputs) for k, st in enumerate(net.stages)]
    return resource_table(pops + [("readout", net.num_classes, net.readout.inputs)], net.profile)


def resource_table(populations: list[tuple[str, int, tuple[Synapse, ...]]], profile: HardwareProfile
                   ) -> dict[str, Any]:
    """Resources of (name, neurons, input synapses) populations on ``profile``: one core or more each."""
    res = profile.resources
    wbits = profile.weights["mantissa_bits"]
    rows, cores = [], 0
    for name, neurons, inputs in populations:
        synapses = sum(int(np.count_nonzero(s.weights)) for s in inputs)
        fan_in = sum(int(np.count_nonzero(s.weights, axis=1).max(initial=0)) for s in inputs)
        memory = math.ceil(synapses * wbits / 8)
        need = max(math.ceil(neurons / res["neurons_per_core"]),
                   math.ceil(memory / res["synaptic_memory_bytes_per_core"]), 1)
        cores += need
        rows.append({"population": name, "neurons": neurons, "synapses": synapses, "synaptic_memory_bytes": memory,
                     "fan_in": fan_in, "cores": need, "fan_in_ok": fan_in <= res["max_fan_in"]})
    available = res["cores_per_chip"] * res["chips"]
    return {"populations": rows, "neurons": sum(r["neurons"] for r in rows),
            "synapses": sum(r["synapses"] for r in rows), "cores": cores, "cores_available": available,
            "fits": cores <= available and all(r["fan_in_ok"] for r in rows)}


def check_fits(report: QuantizationReport, allow_overflow: bool) -> None:
    """Raise unless the network fits and nothing overflowed (or ``allow_overflow``)."""
    if report.overflow and not allow_overflow:
        raise S5RFError(f"{report.overflow[0]} (use --allow-overflow to proceed)")
