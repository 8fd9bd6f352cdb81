"""Standard NIR graphs -> :class:`LifGraph`: Lava LIF stages in fixed point (or float for floating_pt).

Per population (docs/fixed-point.md, "Standard NIR graphs"):

- decays: ``du = 4095 - round(beta 4096)`` (Lava's u keeps ``(4096 - du - 1)/4096``),
  ``dv = 4096 - round(alpha 4096)``; neurons with different ``(du, dv)`` go to
  different stages (Lava's are per process);
- spiking neurons: one threshold ``vth << 6 = state_max / headroom`` per stage,
  each neuron scaled by ``S_i = (vth << 6) / theta_i`` so that every per-neuron
  threshold is met exactly (headroom: the profile's default, or from the
  voltages calibration inputs reach);
- voltage outputs (LI, I, CubaLI): one scale ``S`` for all of them (the Output's
  argmax compares them) that keeps every state they hold (``u``, the running sum
  of ``u``, a CubaLI's voltage) below ``vth << 6``: from the bound of the leaky
  integrators over ``max_steps`` steps, or from the peaks the exact simulator
  reaches on calibration inputs; a CubaLI output is two stages fed alike, its
  voltage (VOLTAGE) and the running sum of its ``u`` (SUM, ``dv = 0``), which
  give its time mean (:func:`~s5rf_deploy.graphs.stepper.readout_of`);
- taps: ``sum_d W_d 2^E_d ~= S_i w_ij / 2^6`` with :func:`weight_digits`, one
  synapse per digit and source (Lava shifts ``a_in`` left by 6), exponents
  within the profile's range, no digit after one finer than ``2^-1`` (each
  ``Dense`` floors its output to an integer, so it would add more error than
  precision).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.resources import resource_table
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.fixed.weights import CALIBRATION_MARGIN, QuantizationReport, weight_digits
from s5rf_deploy.graphs.artifact import BIAS, MAX_SPIKES, SPIKES, SUM, VOLTAGE, LifGraph, LifStage
from s5rf_deploy.graphs.layout import BIAS_SOURCE, INPUT_SOURCE, LoweredGraph, Population, Tap, lower
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.hw_profiles import HardwareProfile

LIF_UNITY = 1 << fx.LIF_DECAY_BITS
LIF_INPUT_SHIFT = fx.LIF_INPUT_SHIFT
DIGIT_EXPONENT_MIN = -1  # weight digits end after one with a smaller exponent (see _digits)
LEVELS_MIN = 32  # voltage outputs: warn when the largest input is fewer steps of Lava's input quantum
CALIBRATION_BATCH = 64  # samples per exact-simulator run while calibrating (bounds the recorded traces)


def _groups(keys: list[tuple]) -> list[np.ndarray]:
    """Neuron indices per distinct key, in first-seen order."""
    order: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    return [np.array(v, np.int64) for v in order.values()]


def _input_bound(pop: Population) -> np.ndarray:
    """Largest |a| per neuron and step (binary inputs, bias lines 1)."""
    return sum((np.abs(t.weights).sum(axis=1) for t in pop.taps), np.zeros(pop.size))


def _lava_decays(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Lava's ``du``, ``dv`` per neuron (12 bits; u keeps ``(4096 - du - ds_offset) / 4096``)."""
    du = np.clip(LIF_UNITY - fx.LIF_DS_OFFSET - np.rint(pop.beta * LIF_UNITY), 0, LIF_UNITY - 1)
    dv = np.clip(LIF_UNITY - fx.LIF_DM_OFFSET - np.rint(pop.alpha * LIF_UNITY), 0, LIF_UNITY - 1)
    return du, dv


def _voltage_bound(pop: Population, steps: int) -> np.ndarray:
    """Largest |value| a voltage output's stages hold over ``steps`` steps, per unit of input bound (every
    ``|a_k| <= 1``, the larger of the float and Lava's retentions): the running sum of ``u`` and, for CubaLI,
    its voltage ``v_k = alpha v_{k-1} + u_k``; both grow with the steps (``|u|`` is below either)."""
    du, dv = _lava_decays(pop)
    beta = np.maximum(pop.beta, (LIF_UNITY - fx.LIF_DS_OFFSET - du) / LIF_UNITY)
    alpha = np.maximum(pop.alpha, (LIF_UNITY - fx.LIF_DM_OFFSET - dv) / LIF_UNITY) if pop.two_pole else 0.0
    u, v, total = (np.zeros(pop.size) for _ in range(3))
    for _ in range(steps):
        u = beta * u + 1
        v = alpha * v + u
        total += u
    return np.maximum(total, v)


def calibration_peaks(net: GraphNetwork, low: LoweredGraph, inputs: np.ndarray) -> dict[str, float]:
    """Largest |value| each population's Lava state must hold on ``inputs`` (N, T, H), in float units,
    from the float reference of the graph's semantics: spiking nodes |v - v_reset| (Lava's shifted v; before
    an immediate subtracting reset), relative to the threshold;
    voltage outputs the largest of |u|, |running sum of u| and (CubaLI) |voltage|, with LI/I's u their state
    and CubaLI's ``u_k = V_k - alpha V_{k-1}`` (Lava's form)."""
    from s5rf_deploy.graphs.discrete_sim import float_simulator

    sim = float_simulator(net, low.dt)
    pops = {p.name: p for p in low.populations}
    peaks = dict.fromkeys(pops, 0.0)
    for start in range(0, len(inputs), CALIBRATION_BATCH):
        run = sim.run(np.asarray(inputs[start:start + CALIBRATION_BATCH], np.float64), tuple(pops))
        for name, pop in pops.items():
            v = run[f"v_{name}"]
            if pop.spiking:
                shifted = v - (0.0 if pop.v_reset is None else pop.v_reset)
                if pop.rule.reset == "subtract":  # v is after the reset: the state held count thresholds more
                    shifted = shifted + run[f"out_{name}"] * pop.threshold
                peak = float((np.abs(shifted) / pop.threshold).max(initial=0.0))
            else:
                u = v - pop.alpha * np.pad(v, ((0, 0), (1, 0), (0, 0)))[:, :-1] if pop.two_pole else v
                peak = max(float(np.abs(a).max(initial=0.0)) for a in (u, np.cumsum(u, axis=1), v))
            peaks[name] = max(peaks[name], peak)
    return peaks


def _spiking_scales(pop: Population, profile: HardwareProfile, vth_m: int,
                    max_steps: int) -> tuple[np.ndarray, int]:
    """State units per float unit per neuron, and the threshold mantissa: the largest ``vth`` up to ``vth_m``
    (halving it) for which the worst case of ``u`` (every input spiking on every step) still fits the state."""
    if np.any(pop.threshold <= 0):
        raise S5RFError(f"node {pop.name!r}: threshold at or below the reset level; such a neuron fires on "
                        f"every step and has no Lava LIF mapping")
    u_max = _input_bound(pop) * np.where(pop.beta < 1, 1 / np.maximum(1 - pop.beta, 1e-300), max_steps)
    while vth_m > 1 and float(((vth_m << LIF_INPUT_SHIFT) / pop.threshold * u_max).max()) > profile.state_max:
        vth_m >>= 1
    return (vth_m << LIF_INPUT_SHIFT) / pop.threshold, vth_m


def _voltage_scale(low: LoweredGraph, limit: int, max_steps: int,
                   peaks: dict[str, float] | None) -> tuple[float, str]:
    """One scale for all voltage outputs: the largest value they hold (the bound of their leaky integrators over
    ``max_steps`` steps, or the calibrated peak with margin) maps to ``limit``; and where it came from."""
    voltage = [p for p in low.populations if not p.spiking]
    if peaks is not None:
        largest = CALIBRATION_MARGIN * max((peaks[p.name] for p in voltage), default=0.0)
        basis = "calibration"
    else:
        largest = max((float((_input_bound(p) * _voltage_bound(p, max_steps)).max(initial=0.0)) for p in voltage),
                      default=0.0)
        basis = f"worst case over {max_steps} steps"
    return (limit / largest if largest > 0 else 1.0), basis


def _skeletons(low: LoweredGraph, profile: HardwareProfile | None, fixed: bool, max_steps: int,
               peaks: dict[str, float] | None) -> tuple[list[LifStage], str]:
    """Stages without synapses: decays, thresholds and scales, neurons grouped by them; and the basis of the
    voltage outputs' scale."""
    v_scale, basis = 1.0, "float"
    if fixed:
        vth_top = (1 << profile.readout["threshold_mantissa_bits"]) - 1
        limit = min(vth_top << LIF_INPUT_SHIFT, profile.state_max)  # a voltage stage's v above vth << 6 would reset
        v_scale, basis = _voltage_scale(low, limit, max_steps, peaks)
    stages = []
    for pop in low.populations:
        if fixed:
            du, dv = _lava_decays(pop)
            if pop.spiking:
                headroom = CALIBRATION_MARGIN * max(peaks[pop.name], 1.0) if peaks is not None else \
                    profile.state["default_headroom"]
                vth_m = min(vth_top, int(profile.state_max / headroom) >> LIF_INPUT_SHIFT)
                scale, stage_vth = _spiking_scales(pop, profile, vth_m, max_steps)
            else:
                scale, stage_vth = np.full(pop.size, v_scale), vth_top
            vth = np.full(pop.size, float(stage_vth))
        else:
            du, dv, scale = 1 - pop.beta, 1 - pop.alpha, np.ones(pop.size)
            vth = pop.threshold if pop.spiking else np.full(pop.size, np.finfo(np.float64).max)
        if pop.two_pole and np.any(dv <= 0):
            raise S5RFError(f"node {pop.name!r}: CubaLI tau_mem is too long for Lava's 12-bit voltage decay (dv "
                            f"rounds to 0), so its time mean has no Lava form")
        groups = _groups(list(zip(du.tolist(), dv.tolist(), vth.tolist(), strict=True)))
        # a CubaLI's SUM stages mirror its VOLTAGE stages (same neurons, so the same synapses and u) with dv = 0
        roles = [(VOLTAGE, dv), (SUM, np.zeros(pop.size))] if pop.two_pole else [(SPIKES if pop.spiking else SUM, dv)]
        for role, role_dv in roles:
            for members in groups:
                i = members[0]
                stages.append(LifStage(pop.name, members, float(du[i]), float(role_dv[i]), float(vth[i]),
                                       pop.spiking, pop.offset, (), scale[members], role, pop.rule.reset,
                                       pop.rule.inclusive, min(pop.rule.max_spikes, MAX_SPIKES) if fixed
                                       else pop.rule.max_spikes))
    return stages, basis


def _digits(values: np.ndarray, profile: HardwareProfile, digits: int) -> list[tuple[np.ndarray, int]]:
    """:func:`weight_digits` for Lava's ``Dense``, which floors each synapse's output to an integer: exponents
    no lower than the profile's minimum, and no digit after one with an exponent below
    :data:`DIGIT_EXPONENT_MIN` (that one's rounding, at most a quarter of the integer per weight, costs less
    than the floor error of one more synapse)."""
    out: list[tuple[np.ndarray, int]] = []
    for w, e in weight_digits(values, profile, digits, profile.weights["exponent_min"]):
        out.append((w, e))
        if e < DIGIT_EXPONENT_MIN:
            break
    return out


def lif_graph(net: GraphNetwork, profile: HardwareProfile | None, dt: float | None = None, digits: int = 2,
              max_steps: int = 1000, calibration: np.ndarray | None = None) -> tuple[LifGraph, QuantizationReport]:
    """Lay ``net`` out on Lava LIF stages: quantized for ``profile``, or in float for Lava's floating_pt models
    when ``profile`` is None (the one place precision is chosen; the runners follow the layout).

    Fixed point: ``calibration`` inputs (N, T, H) of 0/1 spikes choose the voltage outputs' scale and the
    spiking populations' headroom from the peaks the exact simulator reaches on them (with
    :data:`CALIBRATION_MARGIN`); without them the voltage outputs hold ``max_steps`` steps of the worst case.
    """
    if digits < 1:
        raise S5RFError("weight digits must be at least 1")
    low = lower(net, dt)
    fixed = profile is not None
    report = QuantizationReport()
    max_delay = profile.spikes["max_delay"] if fixed else math.inf
    for pop in low.populations:
        for tap in pop.taps:
            if tap.delay > max_delay:
                raise S5RFError(f"node {pop.name!r}: an input from {tap.source!r} needs {tap.delay} steps of synaptic "
                                f"delay, the profile allows {max_delay}")
    peaks = calibration_peaks(net, low, calibration) if fixed and calibration is not None else None
    calibrated = {"samples": len(calibration), "steps": int(np.shape(calibration)[1])} if peaks is not None else {}
    if peaks is not None:
        report.calibration = {**calibrated, "margin": CALIBRATION_MARGIN, "peaks": peaks}
    lines = sorted({p.offset + t.lag for p in low.populations for t in p.taps if t.source == BIAS_SOURCE})
    skeletons, basis = _skeletons(low, profile, fixed, max_steps, peaks)
    if fixed:
        wlo, whi = profile.weights["exponent_min"], profile.weights["exponent_max"]
        one_digit = 2.0 ** (1 - profile.weights["mantissa_bits"])  # relative precision of one 8-bit digit
    stages, levels = [], {}
    for pop in low.populations:
        entry: dict[str, Any] = {"node": pop.name, "neurons": pop.size, "offset": pop.offset, "stages": []}
        for sk in (s for s in skeletons if s.node == pop.name):
            syns, errors, largest = [], [], 0.0
            for tap in pop.taps:
                target = tap.weights[sk.neurons] * (sk.scale[:, None] / 2**LIF_INPUT_SHIFT if fixed else 1.0)
                for source, weights in _tap_sources(tap, pop, target, lines, skeletons):
                    parts = _digits(weights, profile, digits) if fixed else [(weights, 0)]
                    for w, e in parts:
                        if fixed and e > whi:
                            report.overflow.append(f"node {pop.name!r}: weight exponent {e} exceeds the profile's "
                                                   f"{whi}")
                        syns.append(Synapse(source, w, int(min(e, whi)) if fixed else 0, tap.delay))
                    got = sum(s.weights * 2.0**s.weight_exp for s in syns[-len(parts):])
                    top = float(np.abs(weights).max(initial=0.0))
                    errors.append(float(np.abs(got - weights).max(initial=0.0)) / max(top, 1e-300))
                    largest = max(largest, top)
                    if fixed and pop.spiking and parts[-1][1] == wlo and errors[-1] > one_digit:
                        report.warnings.append(
                            f"node {pop.name!r}: inputs from {tap.source!r} are below the smallest Lava weight "
                            f"2^{wlo} at this threshold and round with relative error {errors[-1]:.1e}")
            stages.append(dataclasses.replace(sk, inputs=tuple(syns)))
            if fixed:
                beta_q = (LIF_UNITY - fx.LIF_DS_OFFSET - sk.du) / LIF_UNITY
                alpha_q = (LIF_UNITY - fx.LIF_DM_OFFSET - sk.dv) / LIF_UNITY
                alpha = 1.0 if sk.role == SUM else pop.alpha[sk.neurons]  # a CubaLI's SUM stage sums its u
                entry["stages"].append({
                    "role": sk.role, "neurons": int(sk.size), "du": int(sk.du), "dv": int(sk.dv),
                    "vth_mantissa": int(sk.vth), "scale_range": [float(sk.scale.min()), float(sk.scale.max())],
                    "pole_error": {"u": float(np.abs(beta_q - pop.beta[sk.neurons]).max()),
                                   "v": float(np.abs(alpha_q - alpha).max())},
                    "weight_rel_error": max(errors, default=0.0)})
                if not sk.spiking:
                    levels[pop.name] = min(levels.get(pop.name, np.inf), largest)
        report.layers.append(entry)
    if levels:
        _check_resolution(levels, float(next(s.scale[0] for s in skeletons if not s.spiking)), basis, report)
    sizes = {p.name: p.size for p in low.populations}
    graph = LifGraph(low.input_dim, tuple(stages), tuple(lines), low.outputs, sizes, profile, low.dt,
                     {"weight_digits": digits, "max_steps": max_steps, "calibration": calibrated,
                      "semantics": net.semantics})
    if not fixed:
        return graph, report
    report.resources = estimate_graph_resources(graph)
    if not report.resources["fits"]:
        report.overflow.append(f"network needs {report.resources['cores']} cores, the profile has "
                               f"{report.resources['cores_available']}")
    return graph, report


def _check_resolution(levels: dict[str, float], scale: float, basis: str, report: QuantizationReport) -> None:
    """Record the voltage outputs' scale; warn where a node's largest per-step input (``levels``, in units of
    Lava's input quantum: ``a_in`` is an integer shifted left by 6) is under :data:`LEVELS_MIN`: each step's
    input is then rounded by several percent of it."""
    report.readout = {"scale": scale, "scale_basis": basis, "input_levels": levels}
    fix = ("fewer steps per sample" if basis == "calibration"
           else "calibrate (--calibrate FILE) or lower --max-steps")
    for node, n in levels.items():
        if n < LEVELS_MIN:
            report.warnings.append(f"node {node!r}: voltage-output scale {scale:.3g} ({basis}) resolves its largest "
                                   f"input into only {n:.3g} steps of Lava's input quantum; outputs lose precision: "
                                   f"{fix}")


def _tap_sources(tap: Tap, pop: Population, target: np.ndarray, lines: list[int],
                 skeletons: list[LifStage]) -> list[tuple[int, np.ndarray]]:
    """(synapse source, weights laid out for it) of one tap: one per source stage."""
    if tap.source == INPUT_SOURCE:
        return [(INPUT, target)]
    if tap.source == BIAS_SOURCE:
        weights = np.zeros((target.shape[0], len(lines)))
        weights[:, lines.index(pop.offset + tap.lag)] = target[:, 0]
        return [(BIAS, weights)]
    return [(k, target[:, sk.neurons]) for k, sk in enumerate(skeletons) if sk.node == tap.source]


def estimate_graph_resources(net: LifGraph) -> dict[str, Any]:
    """Neurons, synapses, synaptic memory and cores per stage, and whether it fits."""
    return resource_table([(f"{st.node}[{k}]", st.size, st.inputs) for k, st in enumerate(net.stages)], net.profile)


def graph_agreement(net: GraphNetwork, graph: LifGraph, inputs: np.ndarray) -> dict[str, Any]:
    """Fixed point (stepper) against the exact float simulator on ``inputs``: spikes per node, top-1,
    saturations."""
    from s5rf_deploy.graphs.discrete_sim import float_simulator
    from s5rf_deploy.graphs.stepper import GraphStepper

    res = GraphStepper(graph).run(inputs, record=("spikes",))
    exact = float_simulator(net, graph.dt).run(np.asarray(inputs, np.float64), tuple(res.spikes))
    return {"spike_agreement": {node: float((s == exact[f"out_{node}"]).mean()) for node, s in res.spikes.items()},
            "top1_agreement": float((res.predictions == exact["outputs"].mean(axis=1).argmax(-1)).mean()),
            "saturation": res.saturation}
