"""Standard NIR graphs as a flat, validated description (:class:`GraphNetwork`).

Nested graphs are flattened (node names joined with "."), edges into or out of
a subgraph are resolved to its Input/Output nodes, every signal is a 1-D
vector, and only the primitives s5rf-deploy can deploy are accepted.  The node
objects themselves are the ``nir`` dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np

from s5rf_deploy.errors import S5RFError

LINEAR_TYPES = (nir.Affine, nir.Linear, nir.Scale)
STATE_TYPES = (nir.I, nir.IF, nir.LI, nir.LIF, nir.CubaLI, nir.CubaLIF)
SPIKING_TYPES = (nir.IF, nir.LIF, nir.CubaLIF)
SUPPORTED = (nir.Input, nir.Output, nir.Flatten, nir.Threshold, nir.Delay) + LINEAR_TYPES + STATE_TYPES
INPUT_CONVENTIONS = ("impulse", "zoh")


class GraphError(S5RFError):
    """A NIR graph that cannot be imported or simulated."""


def _size(shape: Any) -> int:
    return int(np.prod(np.asarray(shape, dtype=np.int64).ravel())) if np.size(shape) else 1


def node_sizes(node: nir.NIRNode) -> tuple[int, int]:
    """(input size, output size) of a supported node, signals flattened to 1-D."""
    if isinstance(node, (nir.Affine, nir.Linear)):
        out, inp = np.atleast_2d(node.weight).shape
        return inp, out
    if isinstance(node, nir.Input):
        n = _size(node.input_type["input"])
        return n, n
    if isinstance(node, nir.Output):
        n = _size(node.output_type["output"])
        return n, n
    if isinstance(node, nir.Flatten):
        n = _size(node.input_type["input"])
        return n, n
    if isinstance(node, nir.Scale):
        n = np.size(node.scale)
        return n, n
    if isinstance(node, nir.Threshold):
        n = np.size(node.threshold)
        return n, n
    if isinstance(node, nir.Delay):
        n = np.size(node.delay)
        return n, n
    n = np.size(node.r)
    return n, n


@dataclass(frozen=True)
class GraphNetwork:
    """A flat graph of supported NIR primitives with its sampling period."""

    nodes: dict[str, nir.NIRNode]
    edges: tuple[tuple[str, str], ...]
    inputs: tuple[str, ...]  # top-level Input nodes, in name order
    outputs: tuple[str, ...]  # top-level Output nodes, in name order
    dt: float | None = None
    input_convention: str = "impulse"
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    semantics: str = "nir"  # how neuron nodes compute: "nir" (exact ODE) or a framework (graphs/frameworks.py)

    def sources(self, name: str) -> list[str]:
        return [s for s, t in self.edges if t == name]

    @property
    def input_dim(self) -> int:
        return sum(node_sizes(self.nodes[n])[0] for n in self.inputs)

    @property
    def output_dim(self) -> int:
        return sum(node_sizes(self.nodes[n])[1] for n in self.outputs)


def _flatten(graph: nir.NIRGraph, prefix: str, nodes: dict, edges: list) -> tuple[dict, dict]:
    """Add ``graph``'s nodes under ``prefix``; return its entry and exit node maps."""
    entries, exits = {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sub_in, sub_out = _flatten(node, full + ".", nodes, edges)
            entries[name] = sub_in
            exits[name] = sub_out
        else:
            nodes[full] = node
    inner_inputs = {n: prefix + n for n, v in graph.nodes.items() if isinstance(v, nir.Input)}
    inner_outputs = {n: prefix + n for n, v in graph.nodes.items() if isinstance(v, nir.Output)}

    def resolve(name: str, ends: dict, role: str) -> str:
        if name in graph.nodes and not isinstance(graph.nodes[name], nir.NIRGraph):
            return prefix + name
        head, _, tail = name.partition(".")
        if head in ends:
            options = ends[head]
            if tail:
                key = prefix + name
                if key in nodes:
                    return key
                raise GraphError(f"edge names {name!r}, which does not exist")
            if len(options) != 1:
                raise GraphError(f"edge to subgraph {prefix + head!r} is ambiguous: it has {len(options)} "
                                 f"{role} nodes")
            return next(iter(options.values()))
        raise GraphError(f"edge names node {prefix + name!r}, which does not exist")

    for src, dst in graph.edges:
        edges.append((resolve(src, exits, "Output"), resolve(dst, entries, "Input")))
    return inner_inputs, inner_outputs


def _check_types(nodes: dict[str, nir.NIRNode]) -> None:
    for name, node in nodes.items():
        if not isinstance(node, SUPPORTED):
            raise GraphError(f"node {name!r} has type {type(node).__name__}, which s5rf-deploy does not support")
        if isinstance(node, nir.Flatten) and np.size(node.output_type["output"]) != 1:
            raise GraphError(f"node {name!r}: only Flatten to 1-D is supported")
        for key, value in vars(node).items():
            if key in ("input_type", "output_type", "metadata"):
                continue
            arr = np.asarray(value)
            if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
                raise GraphError(f"node {name!r}: parameter {key!r} contains NaN or Inf")
        if isinstance(node, (nir.LI, nir.LIF)) and np.any(np.asarray(node.tau) <= 0):
            raise GraphError(f"node {name!r}: time constant tau must be positive")
        if isinstance(node, (nir.CubaLI, nir.CubaLIF)) and (np.any(np.asarray(node.tau_syn) <= 0)
                                                             or np.any(np.asarray(node.tau_mem) <= 0)):
            raise GraphError(f"node {name!r}: time constants must be positive")


def _check_shapes(nodes: dict[str, nir.NIRNode], edges: list[tuple[str, str]]) -> None:
    for src, dst in edges:
        out = node_sizes(nodes[src])[1]
        inp = node_sizes(nodes[dst])[0]
        if out != inp:
            raise GraphError(f"edge {src!r} -> {dst!r}: {out} values into a node expecting {inp}")


def from_nir(graph: nir.NIRGraph, dt: float | None = None, input_convention: str | None = None,
             semantics: str | None = None) -> GraphNetwork:
    """Flatten and validate a NIR graph.  ``dt``, the convention and the semantics (how its neurons compute,
    graphs/frameworks.py) default to graph metadata; then the semantics to the framework that
    :func:`~s5rf_deploy.graphs.frameworks.detect` recognizes, else ``nir``; dt to that framework's step."""
    from s5rf_deploy.graphs.frameworks import SEMANTICS_KEY, detect, semantics_named

    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    _flatten(graph, "", nodes, edges)
    _check_types(nodes)
    _check_shapes(nodes, edges)
    inputs = tuple(sorted(n for n, v in graph.nodes.items() if isinstance(v, nir.Input)))
    outputs = tuple(sorted(n for n, v in graph.nodes.items() if isinstance(v, nir.Output)))
    if not inputs:
        raise GraphError("graph has no Input node")
    if not outputs:
        raise GraphError("graph has no Output node")
    meta = dict(graph.metadata or {})
    reading = semantics_named(semantics or meta.get(SEMANTICS_KEY) or detect(graph) or "nir")
    dt = dt if dt is not None else (float(meta["dt"]) if "dt" in meta else reading.dt)
    convention = input_convention or str(meta.get("input_convention", "impulse"))
    if convention not in INPUT_CONVENTIONS:
        raise GraphError(f"input convention {convention!r} is not one of {INPUT_CONVENTIONS}")
    if dt is not None and not dt > 0:
        raise GraphError(f"dt must be positive, got {dt}")
    return GraphNetwork(nodes, tuple(edges), inputs, outputs, dt, convention, meta, reading.name)


def _batchless(node: nir.NIRNode) -> nir.NIRNode:
    """An Input or Output node without the leading batch axes of size 1 some exporters (norse, sinabs) give it:
    their files read fine, but NIR's type check refuses to write them."""
    if isinstance(node, (nir.Input, nir.Output)):
        key = "input" if isinstance(node, nir.Input) else "output"
        shape = np.asarray(getattr(node, f"{key}_type")[key])
        while shape.ndim == 1 and shape.size > 1 and shape[0] == 1:
            shape = shape[1:]
        return type(node)(**{f"{key}_type": shape})
    return node


def to_nir(net: GraphNetwork) -> nir.NIRGraph:
    """A flat NIR graph with the same nodes, edges and metadata (dt and convention included); Input and Output
    nodes lose leading batch axes of size 1."""
    meta = dict(net.metadata)
    if net.dt is not None:
        meta["dt"] = float(net.dt)
    meta["input_convention"] = net.input_convention
    meta["s5rf_deploy.semantics"] = net.semantics
    nodes = {name: _batchless(node) for name, node in net.nodes.items()}
    return nir.NIRGraph(nodes=nodes, edges=list(net.edges), metadata=meta)
