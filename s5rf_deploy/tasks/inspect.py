"""What a model file holds: architecture, parameter counts, pole spectra, and the cost on a profile."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.graphs.artifact import LifGraph, LifStage
from s5rf_deploy.graphs.frameworks import semantics_named
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.hw_profiles import HardwareProfile
from s5rf_deploy.s5rf.artifact import FxpNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork
from s5rf_deploy.tasks.families import GRAPH, S5RF, family_of, is_fixed, quantize_network
from s5rf_deploy.tasks.traffic import fxp_fan_out, payload_bits, s5rf_fan_out


def pole_summary(lam_bar: np.ndarray, dt: float | None) -> dict[str, Any]:
    """Magnitudes (decay per step) and frequencies of discrete poles; Hz when ``dt`` is known."""
    mag = np.abs(lam_bar)
    freq = np.abs(np.angle(lam_bar)) / (2 * np.pi)  # cycles per step
    out = {"magnitude": {"min": float(mag.min()), "median": float(np.median(mag)), "max": float(mag.max())},
           "cycles_per_step": {"min": float(freq.min()), "median": float(np.median(freq)), "max": float(freq.max())},
           "unstable": int(np.count_nonzero(mag >= 1))}
    if dt:
        out["frequency_hz"] = {k: v / dt for k, v in out["cycles_per_step"].items()}
    return out


def _count(arrays: list[np.ndarray | None]) -> int:
    return int(sum(np.size(a) * (2 if np.iscomplexobj(a) else 1) for a in arrays if a is not None))


def _message_cost(levels: int, fan_out: np.ndarray) -> dict[str, Any]:
    """What one message of a layer costs: its payload bits and the synapses it drives (mean over neurons)."""
    return {"bits_per_message": payload_bits(levels), "synapses_per_message": float(fan_out.mean())}


def _s5rf(net: S5RFNetwork) -> dict[str, Any]:
    layers = []
    for i, (layer, fan) in enumerate(zip(net.layers, s5rf_fan_out(net), strict=True)):
        lam_bar, _ = layer.discretized()
        layers.append({"layer": i, "neurons": layer.num_neurons, "inputs": layer.input_dim,
                       "discretization": layer.discretization, "keep_imag": layer.keep_imag, "spike": layer.spike,
                       "spike_bits": layer.spike_bits, **_message_cost(layer.levels, fan),
                       "skip": layer.skip, "mixing": layer.mixing is not None,
                       "parameters": _count([layer.weight, layer.log_neg_real, layer.imag, layer.log_step,
                                             layer.mixing]),
                       "poles": pole_summary(lam_bar, net.provenance.get("dt"))})
    readout = {"classes": net.num_classes, "parameters": _count([net.readout.weight, net.readout.leak]),
               "leak": {"min": float(net.readout.leak.min()), "max": float(net.readout.leak.max())}}
    total = sum(entry["parameters"] for entry in layers) + readout["parameters"]
    return {"kind": "S5-RF network", "inputs": net.input_dim, "layers": layers, "readout": readout,
            "parameters": total}


def _graph(net: GraphNetwork) -> dict[str, Any]:
    nodes = []
    for name, node in net.nodes.items():
        params = {k: v for k, v in vars(node).items() if k not in ("input_type", "output_type", "metadata")}
        nodes.append({"node": name, "type": type(node).__name__,
                      "parameters": int(sum(np.size(v) for v in params.values() if isinstance(v, np.ndarray)))})
    summary = {"kind": "NIR graph", "inputs": net.input_dim, "outputs": net.output_dim, "dt": net.dt,
               "input_convention": net.input_convention, "semantics": net.semantics, "edges": len(net.edges),
               "types": dict(sorted(Counter(n["type"] for n in nodes).items())), "nodes": nodes,
               "parameters": sum(n["parameters"] for n in nodes)}
    return summary


def _fixed_graph(net: LifGraph) -> dict[str, Any]:
    stages = [{"stage": k, "node": st.node, "neurons": st.size, "du": st.du, "dv": st.dv, "vth": st.vth,
               "synapses": len(st.inputs)} | _rule(st) for k, st in enumerate(net.stages)]
    return {"kind": f"fixed-point graph ({net.precision}) on Lava LIF", "inputs": net.input_dim,
            "outputs": list(net.outputs), "profile": net.profile.name, "stages": stages, "dt": net.dt,
            "semantics": net.provenance.get("semantics", "nir")}


def _rule(st: LifStage) -> dict[str, Any]:
    """A stage's spike rule where it is not Lava's (reset, inclusive threshold, spikes per step)."""
    rule = st.rule
    if rule.is_lava:
        return {}
    return {"reset": rule.reset, "fires_at": ">=" if rule.inclusive else ">"} | (
        {"max_spikes": rule.max_spikes} if rule.max_spikes > 1 else {})


def _fixed_s5rf(net: FxpNetwork) -> dict[str, Any]:
    stages = [{"stage": k, "neurons": st.size, "spike": st.spike, "threshold": st.threshold,
               "input_shift": st.input_shift, "synapses": len(st.inputs)}
              | ({"spike_bits": st.spike_bits} if st.spike_bits > 1 else {}) for k, st in enumerate(net.stages)]
    messages = [{"layer": i, "stage": k, **_message_cost(net.stages[k].levels, fan)}
                for i, (k, fan) in enumerate(zip(net.layer_stages, fxp_fan_out(net), strict=True))]
    enc = net.input_encoding
    return {"kind": "fixed-point S5-RF network", "inputs": net.input_dim, "classes": net.num_classes,
            "profile": net.profile.name, "stages": stages, "messages": messages,
            "input_encoding": enc.to_dict() | ({"payload_max": enc.payload_max} if enc.graded else {})}


def calibration_of(net) -> dict[str, Any]:
    """Whether an artifact was calibrated, on what and how many samples (older artifacts: from the samples)."""
    record = net.provenance.get("calibration") or {}
    calibrated = bool(record.get("calibrated", "samples" in record))
    return {"calibrated": calibrated} | {k: record[k] for k in ("source", "samples", "steps") if k in record}


SUMMARIES = {(S5RF, False): _s5rf, (GRAPH, False): _graph, (S5RF, True): _fixed_s5rf, (GRAPH, True): _fixed_graph}


def inspect(net, profile: HardwareProfile | None = None) -> dict[str, Any]:
    """A summary of ``net``; with ``profile``, the resources its quantization needs there."""
    family, fixed = family_of(net), is_fixed(net)
    summary = SUMMARIES[family, fixed](net)
    if fixed:
        summary["resources"] = family.resources(net)
        summary["calibration"] = calibration_of(net)
    elif profile is not None:
        try:
            _, report = quantize_network(net, profile)
            summary["resources"] = {**report.resources, "profile": profile.name}
        except S5RFError as exc:
            summary["resources"] = {"profile": profile.name, "error": str(exc)}
    return summary


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as a few readable lines."""
    lines = [f"{summary['kind']}: {summary['inputs']} inputs"]
    enc = summary.get("input_encoding", {})
    if enc.get("kind") == "graded":
        lines.append(f"  analog inputs as graded payloads round(x 2^{enc['scale_log2']}), |payload| <= "
                     f"{enc['payload_max']}")
    for layer in summary.get("layers", []):
        poles = layer["poles"]
        flags = [layer["discretization"], "keep_imag" if layer["keep_imag"] else "real B", layer["spike"]]
        flags += [f"{layer['spike_bits']}-bit outputs"] if layer["spike_bits"] > 1 else []
        flags += ["skip"] if layer["skip"] else []
        flags += ["V mixing"] if layer["mixing"] else []
        hz = poles.get("frequency_hz")
        freq = (f"{hz['min']:.3g}..{hz['max']:.3g} Hz" if hz else
                f"{poles['cycles_per_step']['min']:.3g}..{poles['cycles_per_step']['max']:.3g} cycles/step")
        lines.append(f"  layer {layer['layer']}: {layer['neurons']} neurons ({', '.join(flags)}), "
                     f"{layer['parameters']} parameters; |pole| {poles['magnitude']['min']:.4f}.."
                     f"{poles['magnitude']['max']:.4f}, {freq}"
                     + (f", {poles['unstable']} UNSTABLE" if poles["unstable"] else "") + "; " + _cost_text(layer))
    if "readout" in summary:
        ro = summary["readout"]
        lines.append(f"  readout: {ro['classes']} classes, leak {ro['leak']['min']:.4f}..{ro['leak']['max']:.4f}")
    if "types" in summary:
        lines.append(f"  {len(summary['nodes'])} nodes ({', '.join(f'{n} {t}' for t, n in summary['types'].items())}),"
                     f" {summary['edges']} edges, dt {summary['dt']}, input convention {summary['input_convention']}")
        lines.append(f"  semantics {summary['semantics']}: {semantics_named(summary['semantics']).summary}")
    for st in summary.get("stages", []):
        lines.append("  stage " + ", ".join(f"{k} {v}" for k, v in st.items() if k != "stage"))
    for m in summary.get("messages", []):
        lines.append(f"  layer {m['layer']} (stage {m['stage']}): {_cost_text(m)}")
    if "parameters" in summary:
        lines.append(f"  {summary['parameters']} parameters")
    if "calibration" in summary:
        cal = summary["calibration"]
        lines.append("  calibrated" + (f" on {cal['source']}" if "source" in cal else "")
                     + (f" ({cal['samples']} samples of {cal['steps']} steps)" if "samples" in cal else "")
                     if cal["calibrated"] else "  not calibrated: scales are data-free bounds (quantize --calibrate)")
    res = summary.get("resources")
    if res and "error" in res:
        lines.append(f"  on {res['profile']}: cannot be mapped ({res['error']})")
    elif res:
        where = f" on {res['profile']}" if "profile" in res else ""
        lines.append(f"  resources{where}: {res['neurons']} neurons, {res['synapses']} synapses, {res['cores']} of "
                     f"{res['cores_available']} cores: {'fits' if res['fits'] else 'DOES NOT FIT'}")
    return "\n".join(lines)


def _cost_text(entry: dict[str, Any]) -> str:
    return (f"a message carries {entry['bits_per_message']} bit{'s' * (entry['bits_per_message'] > 1)} to "
            f"{entry['synapses_per_message']:.1f} synapses (mean)")


def plot_poles(net: S5RFNetwork | GraphNetwork, path: str) -> None:
    """The discrete poles of every RF layer in the complex plane (S5-RF networks only), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from s5rf_deploy.atomic import atomic_path

    if family_of(net) is not S5RF or is_fixed(net):
        raise S5RFError("pole plots are drawn for S5-RF networks (a NIR graph of LIF neurons has real poles only)")
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 400))
    ax.plot(circle.real, circle.imag, color="0.6", lw=0.8, label="|z| = 1")
    for i, layer in enumerate(net.layers):
        lam_bar, _ = layer.discretized()
        ax.scatter(lam_bar.real, lam_bar.imag, s=8, label=f"layer {i}")
    ax.set_aspect("equal")
    ax.set_xlabel("Re lambda_bar")
    ax.set_ylabel("Im lambda_bar")
    ax.set_title("Discrete poles per RF layer")
    ax.legend(loc="lower left", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)

