"""Quantize a float :class:`S5RFNetwork` to a :class:`FxpNetwork` for a hardware profile.

Scales are powers of two.  For RF layer i with state scale ``S = 2^s``
(state units per float unit, so the threshold becomes ``round(thr S)``):

- poles: ``c = round(lambda_bar 2^decay_bits)`` (real and imaginary part),
- input weights: ``sum_d W_d 2^E_d ~= S [Re M; Im M]`` (real and imaginary
  rows stacked) for the discrete input matrix ``M``, one synapse per weight
  digit d, ``W_d`` in Lava's 8-bit weight set for its sign mode and ``E_d``
  split into the compartment's input shift and the synapse's exponent (never
  below the profile's minimum: a digit finer than that is rounded on it),
- readout: Lava LIFs with ``du = 4095 - round(beta 4096)``, weights
  ``sum_d W_d 2^(e_d + 6) ~= S_r Re(B_out)``.

``S`` comes from calibration data (largest state seen, with a safety margin)
or from the profile's default headroom.  ``S_r`` comes from calibration, or
without data from the leaky integrators' bound: the LIF voltage sums the
readout over the sequence, so it must hold ``max_steps`` steps of
``|y_c| <= drive_c / (1 - beta_c)`` at :data:`ASSUMED_ACTIVITY` of the
worst-case drive (the current register holds the full worst case).  Data-free
choices that likely cost accuracy land in ``report.warnings``.  See
docs/fixed-point.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.inputs import (
    BINARY_INPUT,
    InputEncoding,
    calibrated_encoding,
    is_binary,
    payload_limit_bits,
    require_graded,
)
from s5rf_deploy.fixed.resources import resource_table
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.fixed.weights import (
    CALIBRATION_MARGIN,
    QuantizationReport,
    input_shift,
    pow2_scale,
    weight_digits,
)
from s5rf_deploy.hw_profiles import HardwareProfile
from s5rf_deploy.progress import Progress, batches
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage
from s5rf_deploy.s5rf.layout import layer_sources, links, mixing_blocks
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network
from s5rf_deploy.timing import stage

# Without data, the readout range assumes that the inputs pushing a class one way deliver on average at most this
# share of the worst case (all of them spiking on every step); trained models measured 0.10 to 0.26.
ASSUMED_ACTIVITY = 0.5
# Bits between the weakest class's assumed readout level and the LIF current's rounding (one unit per step) below
# which a data-free readout warns: trained models lost top-1 agreement (< 0.99) at 11.4 bits and less, none at 11.6
# and more (docs/fixed-point.md, "What calibration does, when you need it").
READOUT_RESOLUTION_BITS = 12.5
# A --digits auto choice may have at most this many times the mean logit error of the most digits everywhere.
LOGIT_ERROR_TOLERANCE = 1.5
CALIBRATE_FIX = "calibrate (--calibrate FILE)"

Digits = list[tuple[np.ndarray, int]]
# _calibrate's result: state peaks per layer, readout peak, report entry, the calibration inputs
Calibration = tuple[list[float], float | None, dict, np.ndarray | None]


def connections(net: S5RFNetwork) -> list[str]:
    """Names of the network's weighted connections in stage order: what ``digits`` may set one by one."""
    names = []
    for i, layer in enumerate(net.layers):
        names += [f"layer {i}"] + ([f"layer {i} mixing"] if layer.mixing is not None else [])
    return names + ["readout"]


def _synapse_exponent(total: int, shift: int, profile: HardwareProfile, where: str,
                      report: QuantizationReport) -> int:
    exp = total - shift
    lo, hi = profile.weights["exponent_min"], profile.weights["exponent_max"]
    if exp > hi:
        report.overflow.append(f"{where}: weight exponent {exp} exceeds the profile's {hi}")
    return int(np.clip(exp, lo, hi))


def _digits(blocks: dict[str, np.ndarray], profile: HardwareProfile, digits: int,
            shift: int | None = None) -> tuple[dict[str, Digits], int]:
    """Weight digits of each block of one connection and the compartment input shift they share.

    ``shift`` is fixed (the readout's) or chosen by :func:`input_shift`; no digit's
    synapse exponent ends below the profile's minimum (such digits are rounded on
    the coarsest grid the profile has instead of being silently scaled up).
    """
    dig = {part: weight_digits(values, profile, digits) for part, values in blocks.items()}
    if shift is None:
        shift = input_shift([e for d in dig.values() for w, e in d if np.any(w)], profile.state["input_shift_max"],
                            profile)
    floor = profile.weights["exponent_min"] + shift
    if any(e < floor for d in dig.values() for _, e in d):
        dig = {part: weight_digits(values, profile, digits, floor) for part, values in blocks.items()}
    return dig, shift


def _calibrate(net: S5RFNetwork, inputs: np.ndarray | None) -> Calibration:
    """Largest |state| per layer (of z and, with V mixing, of x = V z) and largest |sum_t y| on calibration data."""
    if inputs is None:
        return [], None, {"calibrated": False}, None
    model = model_from_network(net)
    peaks = np.zeros(len(net.layers))
    readout_peak = 0.0

    def peak(x: torch.Tensor) -> float:
        return float(torch.maximum(x.real.abs(), x.imag.abs()).max())

    with torch.no_grad(), stage(f"calibrate on {len(inputs)} samples"):
        for part in batches(len(inputs), 128):
            out = model(torch.from_numpy(inputs[part]).double(), record_states=True)
            for i, (layer, x) in enumerate(zip(model.layers, out.states, strict=True)):
                peaks[i] = max(peaks[i], peak(x))
                if layer.V is not None:  # x = z V^T, so z^T = V^-1 x^T
                    flat = x.reshape(-1, x.shape[-1]).T
                    peaks[i] = max(peaks[i], peak(torch.linalg.solve(layer.V.to(x.dtype), flat)))
            readout_peak = max(readout_peak, float(out.readout.sum(dim=1).abs().max()), float(out.readout.abs().max()))
    info = {"calibrated": True, "samples": int(len(inputs)), "steps": int(np.shape(inputs)[1]),
            "state_peaks": peaks.tolist(), "readout_peak": readout_peak}
    return list(peaks), readout_peak, info, np.asarray(inputs)


def _synapses(digits: Digits, shift: int, feed: list[tuple[int, int]], part: str,
              profile: HardwareProfile, where: str, report: QuantizationReport) -> tuple[Synapse, ...]:
    """One synapse per (source, digit); ``feed`` holds (source stage, extra delay)."""
    return tuple(Synapse(src, w, _synapse_exponent(e, shift, profile, where, report), delay, part)
                 for src, delay in feed for w, e in digits)


def _effective(syns: tuple[Synapse, ...], shift: int, source: int) -> np.ndarray:
    """The float weights the synapses from one source implement, in target units."""
    return sum(s.weights * 2.0 ** (s.weight_exp + shift) for s in syns if s.source == source)


def _digit_choice(net: S5RFNetwork, digits: int | dict[str, int]) -> dict[str, int]:
    """Weight digits per connection: one number for all, or a number for each of :func:`connections`."""
    names = connections(net)
    choice = dict.fromkeys(names, digits) if isinstance(digits, int) else dict(digits)
    if set(choice) != set(names):
        raise S5RFError(f"weight digits must name exactly the connections {names}, got {sorted(choice)}")
    if min(choice.values()) < 1:
        raise S5RFError("weight digits must be at least 1")
    return choice


def quantize(net: S5RFNetwork, profile: HardwareProfile, calibration: np.ndarray | None = None,
             max_steps: int = 1000, digits: int | dict[str, int] = 2) -> tuple[FxpNetwork, QuantizationReport]:
    """Quantize ``net`` for ``profile``.

    ``calibration`` inputs (N, T, H) choose the state and readout scales;
    without them the readout must hold sequences of up to ``max_steps`` steps.
    ``digits`` synapses per connection (one number, or one per name of
    :func:`connections`) give ~7 more weight bits each (see :func:`weight_digits`).
    """
    net.validate()
    choice = _digit_choice(net, digits)
    if max_steps < 1:
        raise S5RFError("max_steps must be at least 1")
    return _quantize(net, profile, _calibrate(net, calibration), max_steps, choice)


def _quantize(net: S5RFNetwork, profile: HardwareProfile, calibrated: Calibration,
              max_steps: int, digits: dict[str, int]) -> tuple[FxpNetwork, QuantizationReport]:
    """:func:`quantize` with the calibration already measured (``_calibrate``'s result) and digits per connection.

    Calibration inputs that are not all 0/1 make the input graded (:mod:`s5rf_deploy.fixed.inputs`): its scale
    ``2^a`` is folded into layer 0's weights, which implement ``scale M / 2^a`` per payload unit."""
    report = QuantizationReport()
    peaks, readout_peak, info, calib = calibrated
    report.calibration = dict(info)
    encoding = BINARY_INPUT
    if any(layer.mixing is not None for layer in net.layers):
        require_graded(profile, "layers with V mixing (graded re/im payloads)")
    _check_spike_bits(net, profile)
    limit = profile.state_max
    dbits = profile.decay["bits"]
    stages: list[Stage] = []
    layer_stage: dict[int, int] = {}  # float layer -> stage with its spikes
    state_stage: list[int] = []
    sources = layer_sources(net)
    for i, layer in enumerate(net.layers):
        lam_bar, m = layer.discretized()
        largest = peaks[i] * CALIBRATION_MARGIN if peaks else (profile.state["default_headroom"] * layer.threshold
                                                               * max(_levels(net, src) for src in sources[i] + [i]))
        s = pow2_scale(limit, max(largest, layer.threshold))
        scale = 2.0**s
        dmax = (1 << dbits) - 1
        c = np.rint(lam_bar * 2**dbits)
        c_re = np.clip(c.real, -dmax, dmax).astype(np.int64)
        c_im = np.clip(c.imag, -dmax, dmax).astype(np.int64)
        lam_q = (c_re + 1j * c_im) / 2**dbits
        where = f"layer {i}"
        block = scale * np.concatenate([m.real, m.imag])
        if INPUT in sources[i] and calib is not None and not is_binary(calib):
            encoding = _input_encoding(calib, block, profile, digits[where])
            block = block * 2.0**-encoding.scale_log2
        fold = 2.0**encoding.scale_log2 if INPUT in sources[i] else 1.0  # payload units per float input unit
        dig, shift = _digits({"spikes": block}, profile, digits[where])
        feed = links(sources[i], layer_stage, len(stages) + 1)
        syns = _synapses(dig["spikes"], shift, feed, "spikes", profile, where, report)
        stacked = _effective(syns, shift, feed[0][0]) * fold
        p = layer.num_neurons
        err = np.abs((stacked[:p] + 1j * stacked[p:]) / scale - m)
        graded = layer.mixing is not None
        threshold = int(round(layer.threshold * scale))
        payload_shift = _payload_shift(layer.mixing, profile) if graded else 0
        stages.append(Stage(c_re, c_im, threshold, "graded" if graded else layer.spike, shift, syns, scale,
                            payload_shift, 1 if graded else layer.spike_bits))
        state_stage.append(len(stages) - 1)
        entry = {
            "layer": i, "neurons": layer.num_neurons, "spike_bits": layer.spike_bits, "state_scale_log2": s,
            "threshold": threshold,
            "input_shift": shift, "weight_exponents": sorted({syn.weight_exp for syn in syns}),
            "weight_digits": len(dig["spikes"]),
            "weight_error": {"max_abs": float(err.max()),
                             "rel_rms": float(np.sqrt(np.mean(err**2) / max(np.mean(np.abs(m) ** 2), 1e-300)))},
            "pole_error": {"magnitude": (np.abs(lam_q) - np.abs(lam_bar)).tolist(),
                           "angle": (np.angle(lam_q) - np.angle(lam_bar)).tolist(),
                           "max_abs_magnitude": float(np.abs(np.abs(lam_q) - np.abs(lam_bar)).max()),
                           "max_abs_angle": float(np.abs(np.angle(lam_q) - np.angle(lam_bar)).max())},
        }
        if graded:
            mixing, error = _mixing_stage(layer, len(stages) - 1, scale, payload_shift, profile,
                                          digits[f"{where} mixing"], report)
            stages.append(mixing)
            entry["mixing_payload_shift"] = payload_shift
            entry["mixing_weight_error"] = {"rel_max": error}
        layer_stage[i] = len(stages) - 1
        report.layers.append(entry)
    readout = _quantize_readout(net, profile, sources[-1], layer_stage, len(stages) + 1, readout_peak, max_steps,
                                digits["readout"], report)
    coarse = [name for name, d in digits.items() if d == 1 and name != "readout"]
    if coarse and readout_peak is None:
        report.warnings.append(
            f"{', '.join(coarse)}: one weight digit (8-bit weights) cost trained models up to 4.5 points of top-1 "
            f"agreement; {CALIBRATE_FIX} to measure it, or choose digits by result (--digits auto)")
    report.inputs = encoding.to_dict()
    if encoding.graded:
        report.inputs |= {"payload_max": encoding.payload_max, "input_max": encoding.input_max,
                          "error": encoding.error(calib)}
    fxp = FxpNetwork(net.input_dim, tuple(stages), readout, profile,
                     tuple(layer_stage[i] for i in range(len(net.layers))), tuple(state_stage),
                     {"source": str(net.provenance.get("source", "")), "calibration": report.calibration,
                      "weight_digits": digits if len(set(digits.values())) > 1 else digits["readout"],
                      "max_steps": max_steps}, encoding)
    report.resources = estimate_resources(fxp)
    if not report.resources["fits"]:
        report.overflow.append(f"network needs {report.resources['cores']} cores, the profile has "
                               f"{report.resources['cores_available']}")
    return fxp, report


def _levels(net: S5RFNetwork, source: int) -> int:
    """The largest value a layer (or the network input, taken as spikes) sends per neuron and step."""
    return 1 if source == INPUT else net.layers[source].levels


def _check_spike_bits(net: S5RFNetwork, profile: HardwareProfile) -> None:
    """Refuse multi-bit outputs the profile cannot carry: binary-only messages, or counts whose weighted sum over
    the layer's neurons would pass the payload width or Lava's 32-bit accumulator (one per synapse)."""
    for i, layer in enumerate(net.layers):
        if layer.spike_bits == 1:
            continue
        require_graded(profile, f"multi-bit outputs (layer {i}: spike_bits = {layer.spike_bits})")
        allowed = payload_limit_bits(profile, layer.num_neurons)
        if layer.spike_bits > allowed:
            raise S5RFError(f"layer {i}: spike_bits = {layer.spike_bits} exceeds the {allowed} payload bits profile "
                            f"{profile.name!r} carries from {layer.num_neurons} neurons")


def _input_encoding(calib: np.ndarray, block: np.ndarray, profile: HardwareProfile, digits: int) -> InputEncoding:
    """The graded input encoding for analog calibration inputs: its scale ``2^a`` as large as the payloads allow
    and no larger than keeps layer 0's finest weight digit of ``block / 2^a`` on the profile's exponent grid."""
    dig, _ = _digits({"spikes": block}, profile, digits)
    finest = min((e for w, e in dig["spikes"] if np.any(w)), default=profile.weights["exponent_min"])
    return calibrated_encoding(calib, profile, finest - profile.weights["exponent_min"])


def _payload_shift(v: np.ndarray, profile: HardwareProfile) -> int:
    """Right shift of a graded stage's state so that every synapse's ``sum_j |W_ij| p_j`` fits Lava's
    32-bit accumulator (each synapse is its own Dense, with its own accumulator)."""
    fan_in = int(max(np.count_nonzero(v.real, axis=1).max(), np.count_nonzero(v.imag, axis=1).max(), 1))
    return max(0, profile.state["bits"] - 1 - payload_limit_bits(profile, fan_in))


def _mixing_stage(layer, source: int, scale: float, payload_shift: int, profile: HardwareProfile, digits: int,
                  report: QuantizationReport) -> tuple[Stage, float]:
    """The V-mixing stage after a graded RF stage (x = V z, spiking by the layer's rule) and the largest weight
    error relative to the largest weight."""
    factor = 2.0**payload_shift  # state units per payload unit
    blocks = mixing_blocks(layer.mixing)
    dig, shift = _digits({part: block * factor for part, block in blocks.items()}, profile, digits)
    syns = tuple(syn for part in ("re", "im")
                 for syn in _synapses(dig[part], shift, [(source, 0)], part, profile, "V mixing", report))
    error = max(float(np.abs(sum(w * 2.0**e for w, e in dig[part]) / factor - block).max()
                      / max(np.abs(block).max(), 1e-300)) for part, block in blocks.items())
    zeros = np.zeros(layer.num_neurons, np.int64)
    return Stage(zeros, zeros.copy(), int(round(layer.threshold * scale)), layer.spike, shift, syns, scale,
                 spike_bits=layer.spike_bits), error


def _readout_bound(net: S5RFNetwork, leak: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per class: the largest readout drive ``|sum_j w_cj x_j|`` one step can bring and the leaky
    integrator's bound ``|y_c| <= drive_c / (1 - beta_c)``.

    Every readout source sends at most its largest count (1 for binary spikes) per neuron, so a step's drive is
    at most the sum of one sign's weights times those counts summed over the sources.  ``leak`` replaces
    ``beta`` (e.g. by its quantized value).
    """
    w = net.readout.weight
    counts = sum(_levels(net, src) for src in layer_sources(net)[-1])
    drive = counts * np.maximum(np.clip(w, 0, None).sum(1), np.clip(-w, 0, None).sum(1))
    return drive, drive / (1 - (net.readout.leak if leak is None else leak))


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
    voltage_max = min(vth_eff, profile.state_max)  # the LIF voltage sums the readout; beyond this it fires or clips
    w = net.readout.weight
    drive, bound = _readout_bound(net, beta_q)
    if readout_peak is None:
        s_r = min(pow2_scale(voltage_max, ASSUMED_ACTIVITY * max_steps * float(bound.max())),
                  pow2_scale(profile.state_max, float(bound.max())))
        basis = f"data-free: {max_steps} steps at {ASSUMED_ACTIVITY:g} of the worst-case drive"
    else:
        s_r = pow2_scale(voltage_max, readout_peak * CALIBRATION_MARGIN)
        basis = "calibration"
    shift = profile.readout["input_shift"]
    dig, _ = _digits({"spikes": w * 2.0**s_r}, profile, digits, shift)
    feed = links(sources, layer_stage, depth)
    inputs = _synapses(dig["spikes"], shift, feed, "spikes", profile, "readout", report)
    err = _effective(inputs, shift, feed[0][0]) / 2.0**s_r - w
    unbounded = sum(d * 2.0**e for d, e in weight_digits(w * 2.0**s_r, profile, digits)) / 2.0**s_r - w
    used = drive[drive > 0]
    bits = float(np.log2(ASSUMED_ACTIVITY * used.min() * 2.0**s_r)) if used.size else None
    report.readout = {"scale_log2": s_r, "scale_basis": basis,
                      "weight_exponents": sorted({syn.weight_exp for syn in inputs}),
                      "weight_digits": len(dig["spikes"]), "du": du.tolist(), "leak_error": (beta_q - beta).tolist(),
                      "max_abs_leak_error": float(np.abs(beta_q - beta).max()),
                      "weight_error": {"max_abs": float(np.abs(err).max()),
                                       "max_abs_without_exponent_floor": float(np.abs(unbounded).max())},
                      "vth_effective": int(vth_eff), "resolution_bits": bits,
                      "guaranteed_steps": int(voltage_max // (2.0**s_r * bound.max())) if bound.max() > 0 else None}
    if readout_peak is None and bits is not None and bits < READOUT_RESOLUTION_BITS:
        report.warnings.append(
            f"readout: without calibration its scale 2^{s_r} must hold sums over {max_steps} steps, leaving "
            f"{bits:.1f} bits of resolution (< {READOUT_RESOLUTION_BITS:g}): top-1 agreement may drop; "
            f"{CALIBRATE_FIX} or set --max-steps to the longest sequence you run")
    return Readout(inputs, du, vth_mant, 2.0**s_r)


def quantize_auto(net: S5RFNetwork, profile: HardwareProfile, calibration: np.ndarray, target: float = 0.995,
                  max_digits: int = 4, max_steps: int = 1000) -> tuple[FxpNetwork, QuantizationReport]:
    """Quantize with the fewest weight digits per connection that keep the fixed point faithful on ``calibration``.

    A choice qualifies when its top-1 agreement with float is at least
    ``target`` and its mean logit error (float units) at most
    :data:`LOGIT_ERROR_TOLERANCE` times that of ``max_digits`` digits
    everywhere: agreement on training samples overstates agreement on unseen
    ones (their margins are wider), the logit error does not.  First the
    fewest digits for all connections alike, then each connection (largest
    synaptic memory first) as few as still qualifies.  ``report.digits`` holds
    the choice and every choice tried with its agreement, logit error and
    synaptic memory.
    """
    from s5rf_deploy.s5rf.stepper import Stepper

    if calibration is None or len(calibration) == 0:
        raise S5RFError("choosing weight digits by result needs calibration data")
    if max_digits < 1:
        raise S5RFError("max_digits must be at least 1")
    net.validate()
    calibration = np.asarray(calibration)
    measured = _calibrate(net, calibration)
    with torch.no_grad():
        logits = model_from_network(net)(torch.from_numpy(calibration).double()).readout.mean(dim=1).numpy()
    tried: list[dict[str, Any]] = []

    def attempt(choice: dict[str, int]) -> tuple[FxpNetwork, QuantizationReport]:
        with stage(f"try digits {choice}"):
            return measure(choice)

    def measure(choice: dict[str, int]) -> tuple[FxpNetwork, QuantizationReport]:
        fxp, report = _quantize(net, profile, measured, max_steps, choice)
        res = Stepper(fxp).run(calibration)
        fixed = res.readout / fxp.readout.scale / calibration.shape[1]
        memory = sum(r["synaptic_memory_bytes"] for r in report.resources["populations"])
        tried.append({"digits": dict(choice), "top1_agreement": float(np.mean(res.predictions == logits.argmax(-1))),
                      "logit_error": float(np.abs(fixed - logits).max(axis=1).mean()), "synaptic_memory_bytes": memory})
        return fxp, report

    names = connections(net)
    best = attempt(dict.fromkeys(names, max_digits))
    chosen = tried[-1]
    bound = LOGIT_ERROR_TOLERANCE * chosen["logit_error"]

    def qualifies(entry: dict[str, Any]) -> bool:
        return entry["top1_agreement"] >= target and entry["logit_error"] <= bound

    for uniform in range(1, max_digits):
        trial = attempt(dict.fromkeys(names, uniform))
        if qualifies(tried[-1]):
            best, chosen = trial, tried[-1]
            break
    choice = dict(chosen["digits"])
    populations = best[1].resources["populations"]  # in stage order, then the readout: one per connection
    for name in sorted(names, key=lambda n: -populations[names.index(n)]["synaptic_memory_bytes"]):
        for fewer in range(choice[name] - 1, 0, -1) if qualifies(chosen) else ():
            trial = attempt(choice | {name: fewer})
            if not qualifies(tried[-1]):
                break
            best, chosen, choice = trial, tried[-1], choice | {name: fewer}
    fxp, report = best
    report.digits = {"target": target, "logit_error_bound": bound, "chosen": choice, "tried": tried}
    if chosen["top1_agreement"] < target:
        report.warnings.append(
            f"--digits auto: even {max_digits} weight digits per connection keep only top-1 agreement "
            f"{chosen['top1_agreement']:.4f} (< {target:g}) on the calibration data: weight precision is not what "
            f"limits this network")
    return fxp, report


def agreement(net: S5RFNetwork, fxp: FxpNetwork, inputs: np.ndarray, progress: Progress | None = None
              ) -> dict[str, Any]:
    """Fixed point (stepper) against float64 on ``inputs``: spikes per layer, top-1, saturations (``progress`` is
    told the stepper's samples)."""
    from s5rf_deploy.s5rf.stepper import Stepper

    res = Stepper(fxp).run(inputs, record=("spikes",), progress=progress)
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
