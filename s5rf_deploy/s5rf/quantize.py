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
from typing import Any

import numpy as np
import torch

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.resources import resource_table
from s5rf_deploy.fixed.synapse import Synapse
from s5rf_deploy.fixed.weights import (
    CALIBRATION_MARGIN,
    QuantizationReport,
    input_shift,
    pow2_scale,
    weight_digits,
)
from s5rf_deploy.hw_profiles import HardwareProfile
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage
from s5rf_deploy.s5rf.layout import layer_sources, links, mixing_blocks
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network


def _synapse_exponent(total: int, shift: int, profile: HardwareProfile, where: str,
                      report: QuantizationReport) -> int:
    exp = total - shift
    lo, hi = profile.weights["exponent_min"], profile.weights["exponent_max"]
    if exp > hi:
        report.overflow.append(f"{where}: weight exponent {exp} exceeds the profile's {hi}")
    return int(np.clip(exp, lo, hi))


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
    info = {"state_peaks": peaks.tolist(), "readout_peak": readout_peak}
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
        s = pow2_scale(limit, max(largest, layer.threshold))
        scale = 2.0**s
        dmax = (1 << dbits) - 1
        c = np.rint(lam_bar * 2**dbits)
        c_re = np.clip(c.real, -dmax, dmax).astype(np.int64)
        c_im = np.clip(c.imag, -dmax, dmax).astype(np.int64)
        lam_q = (c_re + 1j * c_im) / 2**dbits
        dig = weight_digits(scale * np.concatenate([m.real, m.imag]), profile, digits)
        shift = input_shift([e for w, e in dig if np.any(w)], shift_max, profile)
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
    if not report.resources["fits"]:
        report.overflow.append(f"network needs {report.resources['cores']} cores, the profile has "
                               f"{report.resources['cores_available']}")
    return fxp, report


def _payload_shift(v: np.ndarray, profile: HardwareProfile) -> int:
    """Right shift of a graded stage's state so that every synapse's ``sum_j |W_ij| p_j`` fits Lava's
    32-bit accumulator (each synapse is its own Dense, with its own accumulator)."""
    fan_in = int(max(np.count_nonzero(v.real, axis=1).max(), np.count_nonzero(v.imag, axis=1).max(), 1))
    p_bits = min(profile.spikes["payload_bits"] - 1,
                 fx.ACCUMULATOR_BITS - profile.weights["mantissa_bits"] - 1 - math.ceil(math.log2(2 * fan_in)))
    return max(0, profile.state["bits"] - 1 - p_bits)


def _mixing_stage(layer, source: int, scale: float, payload_shift: int, profile: HardwareProfile, digits: int,
                  report: QuantizationReport) -> Stage:
    """The V-mixing stage after a graded RF stage: x = V z, spiking by the layer's rule."""
    v = layer.mixing
    factor = 2.0**payload_shift  # state units per payload unit
    dig = {part: weight_digits(block * factor, profile, digits) for part, block in mixing_blocks(v).items()}
    shift = input_shift([e for d in dig.values() for w, e in d if np.any(w)], profile.state["input_shift_max"],
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
    s_r = pow2_scale(min(vth_eff, profile.state_max), readout_peak)
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
    return {"spike_agreement": {f"layer {i}": float((s == out.spikes[i].numpy()).mean())
                                for i, s in enumerate(res.spikes)},
            "top1_agreement": float((res.predictions == out.logprobs.argmax(-1).numpy()).mean()),
            "saturation": res.saturation}


def estimate_resources(net: FxpNetwork) -> dict[str, Any]:
    """Neurons, synapses, synaptic memory and cores per population, and whether it fits."""
    pops = [(f"stage{k}", st.size, st.inputs) for k, st in enumerate(net.stages)]
    return resource_table(pops + [("readout", net.num_classes, net.readout.inputs)], net.profile)


