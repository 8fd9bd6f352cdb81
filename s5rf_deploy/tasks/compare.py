"""How far a fixed-point network is from its float model: per-layer and output metrics (``compare``).

Definitions (docs/compare.md):

- spike agreement: fraction of (sample, step, neuron) entries where the fixed
  and float spikes (counts, for multi-bit outputs) are equal; Hamming distance
  per neuron: the number of steps where they differ, averaged over samples;
- first divergence: per sample, the first step at which any spike of the
  layer differs (samples that never diverge are counted separately);
- state SNR (S5-RF layers): ``10 log10(sum |z|^2 / sum |z_fixed / S - z|^2)`` over
  real and imaginary parts, with ``S`` the stage's state scale;
- traffic per layer and sample (:mod:`s5rf_deploy.tasks.traffic`): spikes,
  messages (non-zero outputs), bits moved = messages x payload bits, and
  synaptic operations = messages x fan-out (the non-zero weights each neuron's
  message drives in the layers and readout that read it), as the S5-RF paper
  counts them for binary spikes; the rate is the share of (step, neuron) entries
  that send a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from s5rf_deploy.dataset import Dataset
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.graphs.artifact import LifGraph
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.progress import Progress
from s5rf_deploy.s5rf.artifact import FxpNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network
from s5rf_deploy.tasks.families import S5RF, family_of
from s5rf_deploy.tasks.shards import Pool, run_job
from s5rf_deploy.tasks.traffic import payload_bits, s5rf_fan_out, traffic
from s5rf_deploy.timing import stage

TRAFFIC = ("spikes", "messages", "bits", "synops")


@dataclass
class Runs:
    """Float and fixed-point results on the same inputs, spikes per layer in the same order."""

    layers: list[str]
    float_spikes: list[np.ndarray]  # (N, T, P) spike counts (0/1 for binary spikes)
    fixed_spikes: list[np.ndarray]
    float_logits: np.ndarray  # (N, C) log-probabilities (S5-RF) or Output time means (graphs)
    fixed_logits: np.ndarray  # the same quantity from the fixed-point integers
    fan_out: list[np.ndarray]  # (P,) synapses each neuron's spike drives
    payload_bits: list[int]  # bits per message of each layer (1: binary spikes)
    float_states: list[np.ndarray | None] = field(default_factory=list)  # (N, T, P): S5-RF z (complex), graphs v
    fixed_states: list[np.ndarray | None] = field(default_factory=list)
    saturation: dict[str, int] = field(default_factory=dict)


def s5rf_runs(net: S5RFNetwork, fxp: FxpNetwork, inputs: np.ndarray, progress: Progress | None = None,
              device: str = "cpu") -> Runs:
    """Float64 PyTorch and the stepper (on ``device``) on ``inputs``."""
    from s5rf_deploy.s5rf.stepper import Stepper

    with torch.no_grad():
        out = model_from_network(net)(torch.from_numpy(np.asarray(inputs, np.float64)), record_states=True)
    res = Stepper(fxp, device).run(inputs, record=("spikes", "states"), progress=progress)
    steps = inputs.shape[1]
    fixed_mean = res.readout / (fxp.readout.scale * steps)
    fixed_logits = torch.log_softmax(torch.from_numpy(fixed_mean), -1).numpy()
    float_states, fixed_states = [], []
    for i, layer in enumerate(net.layers):
        x = out.states[i].numpy()
        z = x if layer.mixing is None else np.linalg.solve(layer.mixing, x.reshape(-1, x.shape[-1]).T).T.reshape(
            x.shape)
        st = res.states[i]
        float_states.append(z)
        fixed_states.append((st[..., 0] + 1j * st[..., 1]) / fxp.stages[fxp.state_stages[i]].state_scale)
    return Runs([f"layer {i}" for i in range(len(net.layers))], [s.numpy() for s in out.spikes], res.spikes,
                out.logprobs.numpy(), fixed_logits, s5rf_fan_out(net),
                [payload_bits(layer.levels) for layer in net.layers], float_states, fixed_states, res.saturation)


def graph_runs(net: GraphNetwork, graph: LifGraph, inputs: np.ndarray, progress: Progress | None = None,
               device: str = "cpu") -> Runs:
    """The float reference of the graph's semantics (the exact NIR simulator for ``nir``) and the graph stepper (on
    ``device``) on ``inputs``."""
    from s5rf_deploy.graphs.discrete_sim import float_simulator
    from s5rf_deploy.graphs.layout import lower
    from s5rf_deploy.graphs.stepper import GraphStepper

    res = GraphStepper(graph, device).run(inputs, record=("spikes", "states"), progress=progress)
    nodes = list(res.spikes)
    exact = float_simulator(net, graph.dt).run(np.asarray(inputs, np.float64), tuple(nodes))
    pops = {p.name: p for p in lower(net, graph.dt).populations}
    fan = {node: np.zeros(graph.node_sizes[node]) for node in nodes}
    for st in graph.stages:
        for syn in st.inputs:
            if syn.source >= 0:
                src = graph.stages[syn.source]
                fan[src.node][src.neurons] += np.count_nonzero(syn.weights, axis=0)
    return Runs(nodes, [exact[f"out_{n}"] for n in nodes], [res.spikes[n] for n in nodes],
                exact["outputs"].mean(axis=1), res.readout / inputs.shape[1], [fan[n] for n in nodes],
                [payload_bits(max(graph.stages[k].rule.max_spikes for k in graph.node_stages(n))) for n in nodes],
                [exact[f"v_{n}"] for n in nodes], [_node_voltage(graph, pops[n], res.states[n]) for n in nodes],
                saturation=res.saturation)


def _node_voltage(graph: LifGraph, pop, states: np.ndarray) -> np.ndarray:
    """A spiking node's fixed-point ``v`` (stepper states (N, T, n, 2)) in the float simulator's units: divided
    by each neuron's state scale, moved back by the reset level the layout shifted it by."""
    scale = np.zeros(graph.node_sizes[pop.name])
    for k in graph.node_stages(pop.name):
        scale[graph.stages[k].neurons] = graph.stages[k].scale
    return states[..., 1] / scale + (0.0 if pop.v_reset is None else pop.v_reset)


def _first_divergence(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    differs = (a != b).any(axis=2)  # (N, T)
    first = np.where(differs.any(axis=1), differs.argmax(axis=1), -1)
    diverged = first[first >= 0]
    return {"never": int(np.count_nonzero(first < 0)), "samples": int(first.size),
            "min": int(diverged.min()) if diverged.size else None,
            "median": float(np.median(diverged)) if diverged.size else None}


def _snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum(np.abs(got - ref) ** 2))
    signal = float(np.sum(np.abs(ref) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise) if signal > 0 else float("-inf")


def metrics(runs: Runs, labels: np.ndarray | None = None) -> dict[str, Any]:
    """Every number of the comparison as plain JSON-able values."""
    layers = []
    for i, name in enumerate(runs.layers):
        a, b = runs.float_spikes[i], runs.fixed_spikes[i]
        hamming = (a != b).sum(axis=1).mean(axis=0)  # per neuron, mean over samples
        moved = {side: traffic(s, runs.payload_bits[i], runs.fan_out[i]) for side, s in (("float", a), ("fixed", b))}
        entry = {"layer": name, "neurons": int(a.shape[2]), "payload_bits": runs.payload_bits[i],
                 "rate": {side: float(np.count_nonzero(s) / s.size) for side, s in (("float", a), ("fixed", b))},
                 "spike_agreement": float((a == b).mean()),
                 "hamming_per_neuron": {"mean": float(hamming.mean()), "max": float(hamming.max())},
                 "first_divergence": _first_divergence(a, b)}
        entry |= {f"{what}_per_sample": {side: moved[side][what] for side in moved} for what in TRAFFIC}
        if i < len(runs.float_states) and runs.float_states[i] is not None:
            entry["state_snr_db"] = _snr_db(runs.float_states[i], runs.fixed_states[i])
        layers.append(entry)
    pf, pq = runs.float_logits.argmax(-1), runs.fixed_logits.argmax(-1)
    output: dict[str, Any] = {"samples": int(pf.size),
                              "logit_error": {"max_abs": float(np.abs(runs.fixed_logits - runs.float_logits).max()),
                                              "rms": float(np.sqrt(np.mean((runs.fixed_logits
                                                                            - runs.float_logits) ** 2)))},
                              "top1_agreement": float((pf == pq).mean())}
    if labels is not None:
        output["accuracy"] = {"float": float((pf == labels).mean()), "fixed": float((pq == labels).mean())}
    return {"layers": layers, "output": output,
            "totals_per_sample": {k: {what: sum(e[f"{what}_per_sample"][k] for e in layers) for what in TRAFFIC}
                                  for k in ("float", "fixed")},
            "saturation": {k: int(v) for k, v in runs.saturation.items()}}


def checked_labels(net, data: Dataset, source: str, wanted: bool) -> np.ndarray | None:
    """The labels of ``data`` (from the file ``source``) if ``wanted``, after checking that its inputs fit ``net``
    and its labels name outputs of ``net``."""
    data.check_width(net.input_dim, source)
    classes = family_of(net).shapes(net)[2]
    labels = data.labels if wanted else None
    if labels is not None and (labels.min() < 0 or labels.max() >= classes):
        raise S5RFError(f"{source}: labels must lie in [0, {classes}), the model has {classes} outputs")
    return labels


def _runs(net, fxp, inputs: np.ndarray, progress: Progress | None = None, device: str = "cpu") -> Runs:
    return (s5rf_runs if family_of(net) is S5RF else graph_runs)(net, fxp, inputs, progress, device)


def join_runs(parts: list[Runs]) -> Runs:
    """The runs on consecutive slices of the samples as one: traces and logits joined, saturation summed."""
    first = parts[0]
    joined = [np.concatenate(arrays) for arrays in zip(*(p.float_spikes + p.fixed_spikes for p in parts), strict=True)]
    states = [[None if s[0] is None else np.concatenate(s) for s in zip(*(getattr(p, side) for p in parts),
                                                                         strict=True)]
              for side in ("float_states", "fixed_states")]
    layers = len(first.layers)
    return Runs(first.layers, joined[:layers], joined[layers:], np.concatenate([p.float_logits for p in parts]),
                np.concatenate([p.fixed_logits for p in parts]), first.fan_out, first.payload_bits, *states,
                {k: sum(p.saturation[k] for p in parts) for k in first.saturation})


@dataclass(frozen=True)
class CompareJob:
    """The float and fixed-point runs of ``compare``, for any slice of the samples (``tasks/shards.py``)."""

    net: Any
    fxp: Any
    quantum: int = 1
    device: str = "cpu"  # the stepper's; a sharded run's workers use it too

    def build(self) -> Callable[[np.ndarray, Progress | None], Runs]:
        return partial(_runs, self.net, self.fxp, device=self.device)

    def merge(self, parts: list[Runs]) -> Runs:
        return join_runs(parts)


def runs_for(net, fxp, inputs: np.ndarray, progress: Progress | None = None, pool: Pool | None = None,
             device: str = "cpu") -> Runs:
    """Float reference and stepper runs of either family (``progress`` is told the stepper's samples; the stepper
    on ``device``), sharded over ``pool``'s workers if given."""
    with stage(f"float and fixed-point runs on {len(inputs)} samples"):
        return run_job(CompareJob(net, fxp, device=device), inputs, progress, pool)


def _lava_part(runner, stepper, inputs: np.ndarray, progress: Progress | None = None) -> dict[str, Any]:
    """Values that differ between Lava and the stepper on ``inputs`` (saturation counts aside) and both runs'
    saturation counts."""
    got = runner.run(inputs, progress=progress)
    want = stepper.run(inputs, record=("spikes",) if got.states is None else ("spikes", "states"))
    pairs = [(a, b) for kind in ("spikes", "states")
             for (_, a), (_, b) in zip(got.named(kind), want.named(kind), strict=True)]
    mismatched = int(np.count_nonzero(got.readout != want.readout)) + sum(int(np.count_nonzero(a != b))
                                                                           for a, b in pairs)
    return {"samples": int(len(inputs)), "mismatched_values": mismatched,
            "saturation": {"lava": got.saturation, "stepper": want.saturation}}


@dataclass(frozen=True)
class LavaCheckJob:
    """Lava against the stepper for any slice of the samples (``tasks/shards.py``); ``build`` compiles once."""

    fxp: Any
    steps: int
    quantum: int = 1

    def build(self) -> Callable[[np.ndarray, Progress | None], dict[str, Any]]:
        family = family_of(self.fxp)
        return partial(_lava_part, family.lava(self.fxp, self.steps), family.stepper(self.fxp))

    def merge(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        counts = {side: {k: sum(p["saturation"][side][k] for p in parts) for k in parts[0]["saturation"][side]}
                  for side in ("lava", "stepper")}
        return {"samples": sum(p["samples"] for p in parts),
                "mismatched_values": sum(p["mismatched_values"] for p in parts), "saturation": counts}


def lava_check(fxp, inputs: np.ndarray, progress: Progress | None = None, pool: Pool | None = None
               ) -> dict[str, Any]:
    """Lava fixed point against the stepper on ``inputs``: readout, spikes (and states for S5-RF) and
    saturation counts, bit for bit; a count that differs (or is missing on one side) is one mismatched value.
    ``saturation`` holds both runs' counts.  Sharded over ``pool``'s workers if given."""
    with stage(f"Lava run on {len(inputs)} samples"):
        part = run_job(LavaCheckJob(fxp, inputs.shape[1]), inputs, progress, pool)
    lava, stepper = part["saturation"]["lava"], part["saturation"]["stepper"]
    mismatched = part["mismatched_values"] + sum(lava.get(k) != stepper.get(k) for k in lava | stepper)
    return {"samples": part["samples"], "bit_exact": mismatched == 0, "mismatched_values": mismatched,
            "saturation": {"lava": {k: int(v) for k, v in lava.items()},
                           "stepper": {k: int(v) for k, v in stepper.items()}}}
