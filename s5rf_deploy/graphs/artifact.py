"""A standard NIR graph laid out on Lava ``Dense`` + CUBA ``LIF`` processes (fixed or float).

One :class:`LifStage` is one Lava ``LIF`` process: one ``du``, ``dv`` and
``vth`` for all its neurons (Lava's are scalars), so a NIR node whose neurons
differ in time constants becomes several stages, each holding some of the
node's neurons.  Sources of synapses are stage indices, ``INPUT`` or ``BIAS``
(constant bias lines, column ``j`` is 1 from pipeline step ``bias_starts[j]`` on).
Timing is that of :mod:`s5rf_deploy.graphs.layout`: a stage with offset ``o``
handles exact step ``k`` at pipeline step ``k + o``; the input has offset 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.synapse import INPUT, Synapse, read_synapses, synapse_arrays, weights_fit
from s5rf_deploy.hw_profiles import HardwareProfile, profile_from_dict

KIND = "s5rf-fxp-graph"
VERSION = 1
BIAS = -2  # synapse source index of the bias lines


@dataclass(frozen=True)
class LifStage:
    """One Lava LIF process: some neurons of one NIR node."""

    node: str
    neurons: np.ndarray  # int64 (n,): which of the node's neurons, in stage order
    du: float  # Lava du (int in fixed point): u' = (1 - du) u + a
    dv: float  # Lava dv: v' = (1 - dv) v + u
    vth: float  # Lava vth: threshold mantissa (fixed) or threshold (float); voltage stages never fire
    spiking: bool  # False: a voltage output, whose v sums u
    offset: int
    inputs: tuple[Synapse, ...]
    scale: np.ndarray  # float64 (n,): state units per float unit of the node

    @property
    def size(self) -> int:
        return self.neurons.shape[0]


@dataclass(frozen=True)
class LifGraph:
    """A quantized (``precision`` "fixed") or float graph of LIF stages."""

    input_dim: int
    stages: tuple[LifStage, ...]
    bias_starts: tuple[int, ...]
    outputs: tuple[str, ...]  # nodes forming the Output, in order
    node_sizes: dict[str, int]
    profile: HardwareProfile
    precision: str
    dt: float
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def latency(self) -> int:
        """Pipeline steps after the input's last step until every stage has handled it."""
        return max(st.offset for st in self.stages)

    @property
    def num_classes(self) -> int:
        return sum(self.node_sizes[n] for n in self.outputs)

    def node_stages(self, node: str) -> list[int]:
        return [k for k, st in enumerate(self.stages) if st.node == node]

    def spiking_nodes(self) -> list[str]:
        """Nodes whose stages spike, in stage order."""
        return list(dict.fromkeys(st.node for st in self.stages if st.spiking))

    def source_width(self, source: int) -> int:
        if source == INPUT:
            return self.input_dim
        return len(self.bias_starts) if source == BIAS else self.stages[source].size


def save_lif_graph(net: LifGraph, path: str | os.PathLike) -> None:
    """Write the artifact atomically (fixed-point graphs: the artifact holds integers)."""
    if net.precision != "fixed":
        raise S5RFError("only fixed-point graphs are written as artifacts (the float layout comes from the .nir)")
    arrays: dict[str, np.ndarray] = {}
    stages = []
    for k, st in enumerate(net.stages):
        arrays[f"stage{k}.neurons"] = st.neurons
        arrays[f"stage{k}.scale"] = st.scale
        syns: list = []
        synapse_arrays(f"stage{k}.in", st.inputs, arrays, syns)
        stages.append({"node": st.node, "du": st.du, "dv": st.dv, "vth": st.vth, "spiking": st.spiking,
                       "offset": st.offset, "inputs": syns})
    meta = {"input_dim": net.input_dim, "stages": stages, "bias_starts": list(net.bias_starts),
            "outputs": list(net.outputs), "node_sizes": net.node_sizes, "profile": net.profile.to_dict(),
            "precision": net.precision, "dt": net.dt, "provenance": net.provenance}
    container.save(path, KIND, VERSION, meta, arrays)


def load_lif_graph(path: str | os.PathLike) -> LifGraph:
    """Read an artifact written by :func:`save_lif_graph`; name any problem in one line."""
    meta, arrays = container.load(path, KIND, VERSION)
    try:
        stages = []
        for k, s in enumerate(meta["stages"]):
            syns = read_synapses(f"stage{k}.in", s["inputs"], arrays)
            stages.append(LifStage(str(s["node"]), arrays[f"stage{k}.neurons"].astype(np.int64), s["du"], s["dv"],
                                   s["vth"], bool(s["spiking"]), int(s["offset"]), syns,
                                   arrays[f"stage{k}.scale"].astype(np.float64)))
        net = LifGraph(int(meta["input_dim"]), tuple(stages), tuple(int(b) for b in meta["bias_starts"]),
                       tuple(meta["outputs"]), {str(k): int(v) for k, v in meta["node_sizes"].items()},
                       profile_from_dict(meta["profile"], f"{path} (embedded profile)"), str(meta["precision"]),
                       float(meta["dt"]), meta.get("provenance", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: incomplete fixed-point graph ({type(exc).__name__}: {exc})") from None
    validate_lif_graph(net, str(path))
    return net


def validate_lif_graph(net: LifGraph, source: str) -> None:
    """Shapes, sources, and (fixed point) that every integer fits Lava's LIF and Dense."""
    if net.precision not in ("fixed", "float"):
        raise FormatError(f"{source}: unknown precision {net.precision!r}")
    for out in net.outputs:
        if out not in net.node_sizes or not net.node_stages(out):
            raise FormatError(f"{source}: output node {out!r} has no stages")
    for k, st in enumerate(net.stages):
        if st.scale.shape != st.neurons.shape or st.offset < 0:
            raise FormatError(f"{source}: stage {k} has inconsistent neurons, scales or offset")
        decay_max = (1 << fx.LIF_DECAY_BITS) - 1
        vth_bits = net.profile.readout["threshold_mantissa_bits"]
        if net.precision == "fixed" and not (0 <= st.du <= decay_max and 0 <= st.dv <= decay_max
                                             and 0 <= st.vth < 1 << vth_bits):
            raise FormatError(f"{source}: stage {k} du/dv/vth outside Lava's {fx.LIF_DECAY_BITS}/"
                              f"{fx.LIF_DECAY_BITS}/{vth_bits}-bit ranges")
        for syn in st.inputs:
            if syn.source not in (INPUT, BIAS) and not 0 <= syn.source < len(net.stages):
                raise FormatError(f"{source}: stage {k} has a synapse from unknown stage {syn.source}")
            if syn.weights.shape != (st.size, net.source_width(syn.source)):
                raise FormatError(f"{source}: stage {k} synapse from {syn.source} has shape {syn.weights.shape}")
            if net.precision == "fixed" and not weights_fit(syn.weights):
                raise FormatError(f"{source}: stage {k} synapse weights exceed 8 bits")
            if syn.delay < 0:
                raise FormatError(f"{source}: stage {k} synapse has a negative delay")
