"""Standard NIR graphs -> :class:`LifGraph`: Lava LIF stages in fixed point (or float for floating_pt).

Per population (docs/fixed-point.md, "Standard NIR graphs"):

- decays: ``du = 4095 - round(beta 4096)`` (Lava's u keeps ``(4096 - du - 1)/4096``),
  ``dv = 4096 - round(alpha 4096)``; neurons with different ``(du, dv)`` go to
  different stages (Lava's are per process);
- spiking neurons: one threshold ``vth << 6 = state_max / headroom`` per stage,
  each neuron scaled by ``S_i = (vth << 6) / theta_i`` so that every per-neuron
  threshold is met exactly;
- voltage outputs (LI, I): a power-of-two scale from the worst case over
  ``max_steps`` steps, so that ``v`` (the running sum) stays below ``vth``;
- taps: ``sum_d W_d 2^E_d ~= S_i w_ij / 2^6`` with :func:`weight_digits`, one
  synapse per digit and source (Lava shifts ``a_in`` left by 6).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.resources import resource_table
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.fixed.weights import QuantizationReport, weight_digits
from s5rf_deploy.graphs.artifact import BIAS, LifGraph, LifStage
from s5rf_deploy.graphs.layout import BIAS_SOURCE, INPUT_SOURCE, LoweredGraph, Population, Tap, lower
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.hw_profiles import HardwareProfile

LIF_UNITY = 1 << fx.LIF_DECAY_BITS
LIF_INPUT_SHIFT = fx.LIF_INPUT_SHIFT


def _groups(keys: list[tuple]) -> list[np.ndarray]:
    """Neuron indices per distinct key, in first-seen order."""
    order: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    return [np.array(v, np.int64) for v in order.values()]


def _input_bound(pop: Population) -> np.ndarray:
    """Largest |a| per neuron and step (binary inputs, bias lines 1)."""
    return sum((np.abs(t.weights).sum(axis=1) for t in pop.taps), np.zeros(pop.size))


def _scales(pop: Population, profile: HardwareProfile, vth_m: int, max_steps: int) -> tuple[np.ndarray, int]:
    """State units per float unit per neuron, and the threshold mantissa.

    Spiking: the largest ``vth`` up to ``vth_m`` (halving it) for which the worst
    case of ``u`` (every input spiking on every step) still fits the state.
    """
    u_max = _input_bound(pop) * np.where(pop.beta < 1, 1 / np.maximum(1 - pop.beta, 1e-300), max_steps)
    if pop.spiking:
        if np.any(pop.threshold <= 0):
            raise S5RFError(f"node {pop.name!r}: threshold at or below the reset level; such a neuron fires on "
                            f"every step and has no Lava LIF mapping")
        while vth_m > 1 and float(((vth_m << LIF_INPUT_SHIFT) / pop.threshold * u_max).max()) > profile.state_max:
            vth_m >>= 1
        return (vth_m << LIF_INPUT_SHIFT) / pop.threshold, vth_m
    largest = float((u_max * max_steps).max(initial=0.0))
    limit = min(vth_m << LIF_INPUT_SHIFT, profile.state_max)
    return np.full(pop.size, 2.0 ** math.floor(math.log2(limit / largest)) if largest > 0 else 1.0), vth_m


def _skeletons(low: LoweredGraph, profile: HardwareProfile, fixed: bool, max_steps: int) -> list[LifStage]:
    """Stages without synapses: decays, thresholds and scales, neurons grouped by them."""
    vth_bits = profile.readout["threshold_mantissa_bits"]
    vth_top = (1 << vth_bits) - 1
    vth_m = min(vth_top, int(profile.state_max / profile.state["default_headroom"]) >> LIF_INPUT_SHIFT)
    stages = []
    for pop in low.populations:
        if fixed:
            du = np.clip(LIF_UNITY - fx.LIF_DS_OFFSET - np.rint(pop.beta * LIF_UNITY), 0, LIF_UNITY - 1)
            dv = np.clip(LIF_UNITY - fx.LIF_DM_OFFSET - np.rint(pop.alpha * LIF_UNITY), 0, LIF_UNITY - 1)
            scale, stage_vth = _scales(pop, profile, vth_m, max_steps)
            vth = np.full(pop.size, float(stage_vth if pop.spiking else vth_top))
        else:
            du, dv, scale = 1 - pop.beta, 1 - pop.alpha, np.ones(pop.size)
            vth = pop.threshold if pop.spiking else np.full(pop.size, np.finfo(np.float64).max)
        for members in _groups(list(zip(du.tolist(), dv.tolist(), vth.tolist(), strict=True))):
            i = members[0]
            stages.append(LifStage(pop.name, members, float(du[i]), float(dv[i]), float(vth[i]), pop.spiking,
                                   pop.offset, (), scale[members]))
    return stages


def lif_graph(net: GraphNetwork, profile: HardwareProfile, precision: str = "fixed", dt: float | None = None,
              digits: int = 2, max_steps: int = 1000) -> tuple[LifGraph, QuantizationReport]:
    """Lay ``net`` out on Lava LIF stages: quantized for ``profile``, or float (``precision`` "float")."""
    if digits < 1:
        raise S5RFError("weight digits must be at least 1")
    low = lower(net, dt)
    fixed = precision == "fixed"
    report = QuantizationReport()
    max_delay = profile.spikes["max_delay"]
    for pop in low.populations:
        for tap in pop.taps:
            if tap.delay > max_delay:
                raise S5RFError(f"node {pop.name!r}: an input from {tap.source!r} needs {tap.delay} steps of synaptic "
                                f"delay, the profile allows {max_delay}")
    lines = sorted({p.offset + t.lag for p in low.populations for t in p.taps if t.source == BIAS_SOURCE})
    skeletons = _skeletons(low, profile, fixed, max_steps)
    wlo, whi = profile.weights["exponent_min"], profile.weights["exponent_max"]
    stages = []
    for pop in low.populations:
        entry: dict[str, Any] = {"node": pop.name, "neurons": pop.size, "offset": pop.offset, "stages": []}
        for sk in (s for s in skeletons if s.node == pop.name):
            syns, errors = [], []
            for tap in pop.taps:
                target = tap.weights[sk.neurons] * (sk.scale[:, None] / 2**LIF_INPUT_SHIFT if fixed else 1.0)
                for source, weights in _tap_sources(tap, pop, target, lines, skeletons):
                    parts = weight_digits(weights, profile, digits) if fixed else [(weights, 0)]
                    for w, e in parts:
                        if fixed and e > whi:
                            report.overflow.append(f"node {pop.name!r}: weight exponent {e} exceeds the profile's "
                                                   f"{whi}")
                        syns.append(Synapse(source, w, int(np.clip(e, wlo, whi)) if fixed else 0, tap.delay))
                    got = sum(s.weights * 2.0**s.weight_exp for s in syns[-len(parts):])
                    errors.append(float(np.abs(got - weights).max(initial=0.0)
                                        / max(np.abs(weights).max(initial=0.0), 1e-300)))
            stages.append(LifStage(sk.node, sk.neurons, sk.du, sk.dv, sk.vth, sk.spiking, sk.offset, tuple(syns),
                                   sk.scale))
            if fixed:
                beta_q = (LIF_UNITY - fx.LIF_DS_OFFSET - sk.du) / LIF_UNITY
                alpha_q = (LIF_UNITY - fx.LIF_DM_OFFSET - sk.dv) / LIF_UNITY
                entry["stages"].append({
                    "neurons": int(sk.size), "du": int(sk.du), "dv": int(sk.dv), "vth_mantissa": int(sk.vth),
                    "scale_range": [float(sk.scale.min()), float(sk.scale.max())],
                    "pole_error": {"u": float(np.abs(beta_q - pop.beta[sk.neurons]).max()),
                                   "v": float(np.abs(alpha_q - pop.alpha[sk.neurons]).max())},
                    "weight_rel_error": max(errors, default=0.0)})
        report.layers.append(entry)
    sizes = {p.name: p.size for p in low.populations}
    graph = LifGraph(low.input_dim, tuple(stages), tuple(lines), low.outputs, sizes, profile, precision, low.dt,
                     {"weight_digits": digits, "max_steps": max_steps})
    report.resources = estimate_graph_resources(graph)
    if not report.resources["fits"]:
        report.overflow.append(f"network needs {report.resources['cores']} cores, the profile has "
                               f"{report.resources['cores_available']}")
    return graph, report


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
    from s5rf_deploy.graphs.exact_sim import GraphSimulator
    from s5rf_deploy.graphs.stepper import GraphStepper

    res = GraphStepper(graph).run(inputs, record=("spikes",))
    exact = GraphSimulator(net, graph.dt).run(np.asarray(inputs, np.float64), tuple(res.spikes))
    return {"spike_agreement": {node: float((s == exact[f"out_{node}"]).mean()) for node, s in res.spikes.items()},
            "top1_agreement": float((res.predictions == exact["outputs"].mean(axis=1).argmax(-1)).mean()),
            "saturation": res.saturation}
