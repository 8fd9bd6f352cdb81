"""A standard NIR graph laid out on Lava ``Dense`` + CUBA ``LIF`` processes (fixed or float).

One :class:`LifStage` is one Lava ``LIF`` process: one ``du``, ``dv`` and
``vth`` for all its neurons (Lava's are scalars), so a NIR node whose neurons
differ in time constants becomes several stages, each holding some of the
node's neurons.  Sources of synapses are stage indices, ``INPUT`` or ``BIAS``
(constant bias lines, column ``j`` is 1 from pipeline step ``bias_starts[j]`` on).
A stage's *role* says what the Output reads from it: spike counts (SPIKES), the
final ``v`` as the running sum of ``u`` (SUM: LI, I), or, for a CubaLI output,
the final ``v`` as its voltage (VOLTAGE), combined with the node's SUM stages.
Timing is that of :mod:`s5rf_deploy.graphs.layout`: a stage with offset ``o``
handles exact step ``k`` at pipeline step ``k + o``; the input has offset 1.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed import synapse as fs
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.hw_profiles import HardwareProfile, profile_from_dict

KIND = "s5rf-fxp-graph"
VERSION = 1
BIAS = -2  # synapse source index of the bias lines
UNSAVED = "<unsaved graph>"  # how validation before saving names the graph
SPIKES, SUM, VOLTAGE = "spikes", "sum", "voltage"  # stage roles
ROLES = (SPIKES, SUM, VOLTAGE)
RULE_FIELDS = ("reset", "inclusive", "max_spikes")
MAX_SPIKES = 255  # a multi-spike count travels as an 8-bit graded payload


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
    role: str | None = None  # one of ROLES; None: SPIKES or SUM as ``spiking`` says (artifacts before roles)
    reset: str = "zero"  # the fields of its fixed.arithmetic.SpikeRule (Lava's LIF rule by default)
    inclusive: bool = False
    max_spikes: int = 1

    def __post_init__(self) -> None:
        if self.role is None:
            object.__setattr__(self, "role", SPIKES if self.spiking is True else SUM)

    @property
    def rule(self) -> fx.SpikeRule:
        """How the stage fires and resets."""
        return fx.SpikeRule(self.reset, self.inclusive, self.max_spikes)

    @property
    def size(self) -> int:
        return self.neurons.shape[0]


@dataclass(frozen=True)
class LifGraph:
    """A graph of LIF stages: quantized for ``profile``, or a float layout (``profile`` None) for Lava's
    floating_pt models."""

    input_dim: int
    stages: tuple[LifStage, ...]
    bias_starts: tuple[int, ...]
    outputs: tuple[str, ...]  # nodes forming the Output, in order
    node_sizes: dict[str, int]
    profile: HardwareProfile | None
    dt: float
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def precision(self) -> str:
        """"fixed" for a quantized graph, "float" for a float layout: what its hardware profile says."""
        return "float" if self.profile is None else "fixed"

    @property
    def latency(self) -> int:
        """Pipeline steps after the input's last step until every stage has handled it."""
        return max(st.offset for st in self.stages)

    @property
    def num_classes(self) -> int:
        return sum(self.node_sizes[n] for n in self.outputs)

    def node_stages(self, node: str, role: str | None = None) -> list[int]:
        """Indices of ``node``'s stages (of ``role`` only, when given)."""
        return [k for k, st in enumerate(self.stages) if st.node == node and role in (None, st.role)]

    def spiking_nodes(self) -> list[str]:
        """Nodes whose stages spike, in stage order."""
        return list(dict.fromkeys(st.node for st in self.stages if st.spiking))

    def source_width(self, source: int) -> int:
        if source == INPUT:
            return self.input_dim
        return len(self.bias_starts) if source == BIAS else self.stages[source].size


def save_lif_graph(net: LifGraph, path: str | os.PathLike) -> None:
    """Validate the graph (as :func:`load_lif_graph` will), then write the artifact atomically (fixed-point
    graphs: the artifact holds integers)."""
    if net.precision != "fixed":
        raise S5RFError("only fixed-point graphs are written as artifacts (the float layout comes from the .nir)")
    validate_lif_graph(net, UNSAVED)
    arrays: dict[str, np.ndarray] = {}
    stages = fs.stage_records(net.stages, arrays, ("neurons", "scale"),
                              ("node", "du", "dv", "vth", "spiking", "offset", "role") + RULE_FIELDS)
    meta = {"input_dim": net.input_dim, "stages": stages, "bias_starts": list(net.bias_starts),
            "outputs": list(net.outputs), "node_sizes": net.node_sizes, "profile": net.profile.to_dict(),
            "dt": net.dt, "provenance": net.provenance}
    container.save(path, KIND, VERSION, meta, arrays)


def load_lif_graph(path: str | os.PathLike) -> LifGraph:
    """Read an artifact written by :func:`save_lif_graph`; name any problem in one line.

    Stored values keep their JSON types here: :func:`validate_lif_graph` checks them.
    """
    meta, arrays = container.load(path, KIND, VERSION)
    try:
        stages = []
        for k, s in enumerate(meta["stages"]):
            syns = fs.read_synapses(f"stage{k}.in", s["inputs"], arrays)
            rule = {name: s[name] for name in RULE_FIELDS if name in s}  # artifacts before rules: Lava's
            stages.append(LifStage(s["node"], fs.int_array(arrays, f"stage{k}.neurons"), s["du"], s["dv"], s["vth"],
                                   s["spiking"], s["offset"], syns, arrays[f"stage{k}.scale"], s.get("role"), **rule))
        net = LifGraph(meta["input_dim"], tuple(stages), fs.as_tuple(meta["bias_starts"]), fs.as_tuple(meta["outputs"]),
                       meta["node_sizes"], profile_from_dict(meta["profile"], f"{path} (embedded profile)"),
                       meta["dt"], meta.get("provenance", {}))
        if meta.get("precision", "fixed") != "fixed":  # artifacts written before layouts carried precision
            raise ValueError(f"precision {meta['precision']!r}: artifacts hold fixed-point graphs only")
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: incomplete fixed-point graph ({type(exc).__name__}: {exc})") from None
    validate_lif_graph(net, str(path))
    return net


def validate_lif_graph(net: LifGraph, source: str) -> None:
    """Check every field the stepper and the Lava builder rely on; raise a one-line :class:`FormatError`
    naming ``source`` and the field.

    Types, shapes and dtypes; nodes, outputs and bias lines; each stage's neurons, scales, Lava LIF integers,
    offset, role (SPIKES exactly for spiking stages; SUM stages' v sums u: dv 0; VOLTAGE stages' v leaks:
    dv > 0); each node's neurons covered exactly once by its stages of each role (spiking:
    SPIKES; voltage outputs: SUM, and VOLTAGE where present), its stages all spiking or all voltage, one offset;
    synapses from the input, the bias lines or spiking stages (voltage stages never drive others) within the
    profile's weights, exponents and delays.
    """
    if net.profile is None:
        raise FormatError(f"{source}: a float layout (no hardware profile): artifacts hold fixed-point graphs only")
    fs.check_int(net.input_dim, 0, None, "input_dim", source)
    fs.check_positive(net.dt, "dt", source)
    if not isinstance(net.provenance, dict):
        raise FormatError(f"{source}: provenance is not a mapping")
    if not isinstance(net.node_sizes, dict):
        raise FormatError(f"{source}: node_sizes is not a mapping of node names to sizes")
    for node, size in net.node_sizes.items():
        fs.check_int(size, 1, None, f"node_sizes[{node!r}]", source)
    if not (isinstance(net.outputs, tuple) and net.outputs):
        raise FormatError(f"{source}: outputs {net.outputs!r} is not a non-empty list of nodes")
    for out in net.outputs:
        if not (isinstance(out, str) and out in net.node_sizes):
            raise FormatError(f"{source}: output node {out!r} is not one of the nodes in node_sizes")
    if not isinstance(net.bias_starts, tuple):
        raise FormatError(f"{source}: bias_starts {net.bias_starts!r} is not a list of steps")
    for j, start in enumerate(net.bias_starts):
        fs.check_int(start, 1, None, f"bias_starts[{j}]", source)
    for k in range(len(net.stages)):
        _check_stage(net, k, source)
    _check_coverage(net, source)
    sends = {INPUT: (net.input_dim, ("spikes",)), BIAS: (len(net.bias_starts), ("spikes",))}
    sends |= {k: (st.size, ("spikes",)) for k, st in enumerate(net.stages) if st.spiking}
    for k, st in enumerate(net.stages):
        for j, syn in enumerate(st.inputs):
            fs.check_synapse(syn, f"stage {k}", f"stage{k}.in.{j}", st.size, sends,
                          "the network input, the bias lines or a spiking stage", net.profile, source)


def _check_stage(net: LifGraph, k: int, source: str) -> None:
    """A stage's node, neurons, scales, Lava LIF integers, kind and offset."""
    st = net.stages[k]
    if not (isinstance(st.node, str) and st.node in net.node_sizes):
        raise FormatError(f"{source}: stage {k} node {st.node!r} is not one of the nodes in node_sizes")
    neurons = st.neurons
    if not (isinstance(neurons, np.ndarray) and neurons.dtype.kind in "iu" and neurons.ndim == 1 and neurons.size):
        raise FormatError(f"{source}: stage {k} neurons (stage{k}.neurons) are not a non-empty 1-D integer array")
    if neurons.min() < 0 or neurons.max() >= net.node_sizes[st.node]:
        raise FormatError(f"{source}: stage {k} neurons (stage{k}.neurons) outside node {st.node!r}'s "
                          f"0..{net.node_sizes[st.node] - 1}")
    scale = st.scale
    if not (isinstance(scale, np.ndarray) and scale.dtype.kind == "f" and scale.shape == neurons.shape
            and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise FormatError(f"{source}: stage {k} scale (stage{k}.scale) is not one positive finite float per neuron")
    decay_max = (1 << fx.LIF_DECAY_BITS) - 1
    for name, value, high in (("du", st.du, decay_max), ("dv", st.dv, decay_max),
                              ("vth", st.vth, (1 << net.profile.readout["threshold_mantissa_bits"]) - 1)):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and float(value).is_integer() and 0 <= value <= high):
            raise FormatError(f"{source}: stage {k} {name} {value!r} is not an integer in Lava's range 0..{high}")
    if not isinstance(st.spiking, bool):
        raise FormatError(f"{source}: stage {k} spiking {st.spiking!r} is not true or false")
    fs.check_int(st.offset, 1, None, f"stage {k} offset", source)
    _check_role(st, k, source)
    _check_rule(st, k, source)


def _check_rule(st: LifStage, k: int, source: str) -> None:
    """A stage's spike rule: a known reset, a boolean ``inclusive``, a spike count that its synapses carry;
    voltage stages keep Lava's rule."""
    if not (isinstance(st.reset, str) and st.reset in fx.RESETS):
        raise FormatError(f"{source}: stage {k} reset {st.reset!r} is not one of {', '.join(fx.RESETS)}")
    if not isinstance(st.inclusive, bool):
        raise FormatError(f"{source}: stage {k} inclusive {st.inclusive!r} is not true or false")
    fs.check_int(st.max_spikes, 1, MAX_SPIKES, f"stage {k} max_spikes", source)
    try:
        rule = st.rule
    except ValueError as exc:
        raise FormatError(f"{source}: stage {k} spike rule: {exc}") from None
    if not st.spiking and not rule.is_lava:
        raise FormatError(f"{source}: stage {k} is a voltage stage with a spike rule other than Lava's")


def _check_role(st: LifStage, k: int, source: str) -> None:
    """A stage's role against ``spiking`` and its ``dv``."""
    if not (isinstance(st.role, str) and st.role in ROLES):
        raise FormatError(f"{source}: stage {k} role {st.role!r} is not one of {', '.join(ROLES)}")
    if (st.role == SPIKES) != st.spiking:
        raise FormatError(f"{source}: stage {k} role {st.role!r} does not match spiking {st.spiking}")
    if st.role == SUM and st.dv != 0:
        raise FormatError(f"{source}: stage {k} role 'sum' needs dv 0 (its v sums u), not {st.dv}")
    if st.role == VOLTAGE and st.dv == 0:
        raise FormatError(f"{source}: stage {k} role 'voltage' needs dv > 0 (a leaking voltage), not 0")


def _check_coverage(net: LifGraph, source: str) -> None:
    """Each node's neurons covered exactly once by its stages of each role (SPIKES, or SUM and any VOLTAGE),
    which agree on spiking and offset."""
    for node, size in net.node_sizes.items():
        stages = [net.stages[k] for k in net.node_stages(node)]
        roles = {st.role for st in stages}
        for role in sorted(roles | ({SUM} if roles - {SPIKES} else {SPIKES})):
            counts = np.bincount(np.concatenate([st.neurons for st in stages if st.role == role]
                                                or [np.zeros(0, np.int64)]), minlength=size)
            if np.any(counts != 1):
                i = int(np.argmax(counts != 1))
                raise FormatError(f"{source}: node {node!r} neuron {i} is in {counts[i]} stages' neurons of role "
                                  f"{role!r}, not exactly one")
        if len({(st.spiking, st.offset) for st in stages}) != 1:
            raise FormatError(f"{source}: node {node!r} has stages that differ in spiking or offset")
