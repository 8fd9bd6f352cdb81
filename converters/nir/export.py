"""Export an :class:`S5RFNetwork` to NIR with standard primitives only.

Each RF layer becomes a nested ``NIRGraph`` (see docs/nir.md): with the
continuous pole ``a = log(lambda_bar) / dt`` and, under the "impulse" input
convention (sample k is a Dirac impulse of area ``u_k dt``), continuous input
matrix ``Bc`` = discrete input matrix / dt,

    input -> Linear(Re Bc) -> LI x,   input -> Linear(Im Bc) -> LI y,
    y -> Linear(diag(-Im a)) -> x,    x -> Linear(diag(Im a)) -> y,
    x -> Threshold(thr) -> output     (with V mixing: x -> Linear(Re V), y -> Linear(-Im V) -> Threshold)

(multi-bit outputs: one Threshold(n thr) per level n = 1 .. 2^k - 1, all into
the output, whose inputs NIR sums: the count of levels exceeded, exactly)

where both LI have ``tau = -1/Re a``, ``r = tau``, ``v_leak = 0``.  Skip
connections are extra edges; the readout is ``Linear(W) -> LI``.  The raw
parameters are kept in node metadata so :mod:`s5rf_deploy.converters.nir.load` can
rebuild the network exactly.
"""

from __future__ import annotations

import os

import nir
import numpy as np

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import ConfigError, S5RFError
from s5rf_deploy.s5rf.network import RFLayer, S5RFNetwork

FORMAT_KEY = "s5rf_deploy.format"
FORMAT_VALUE = "s5rf-network"
FORMAT_VERSION = 1
DEFAULT_DT = 1e-3
INPUT_CONVENTIONS = ("impulse", "zoh")


def continuous_pole(layer: RFLayer, dt: float) -> np.ndarray:
    """``a`` with ``exp(a dt) = lambda_bar``: ``lambda Delta / dt`` (dirac, zoh) or ``log(lambda_bar) / dt``."""
    if layer.discretization == "bilinear":
        return np.log(layer.discretized()[0]) / dt
    return layer.eigenvalues() * layer.step() / dt


def continuous_input(layer: RFLayer, dt: float, convention: str) -> np.ndarray:
    """``Bc`` such that the convention's exact discretization gives the discrete input matrix."""
    lam_bar, m = layer.discretized()
    if convention == "impulse":
        return m / dt
    a = continuous_pole(layer, dt)
    return (a / (lam_bar - 1))[:, None] * m


def _li(tau: np.ndarray) -> nir.LI:
    return nir.LI(tau=tau, r=tau.copy(), v_leak=np.zeros_like(tau))


def rf_subgraph(layer: RFLayer, index: int, dt: float, convention: str) -> nir.NIRGraph:
    """The nested NIR graph of one RF layer (``convention`` applies to its input)."""
    if layer.spike != "cartesian":
        raise S5RFError(f"layer {index}: the {layer.spike!r} spike rule (|x| > threshold) has no exact "
                        f"encoding with standard NIR primitives; only cartesian layers export")
    lam_bar, _ = layer.discretized()
    if np.any(np.abs(lam_bar) >= 1):
        bad = int(np.argmax(np.abs(lam_bar) >= 1))
        raise ConfigError(f"layer {index}: neuron {bad} has an unstable pole |lambda_bar| = "
                          f"{abs(lam_bar[bad]):.6g} >= 1; no leaky-integrator encoding exists")
    a = continuous_pole(layer, dt)
    bc = continuous_input(layer, dt, convention)
    tau = -1.0 / a.real
    p = layer.num_neurons
    nodes = {
        "input": nir.Input(input_type=np.array([layer.input_dim])),
        "w_re": nir.Linear(weight=bc.real.copy()),
        "w_im": nir.Linear(weight=bc.imag.copy()),
        "x": _li(tau),
        "y": _li(tau.copy()),
        "rot_yx": nir.Linear(weight=np.diag(-a.imag)),
        "rot_xy": nir.Linear(weight=np.diag(a.imag)),
        "output": nir.Output(output_type=np.array([p])),
    }
    edges = [("input", "w_re"), ("w_re", "x"), ("input", "w_im"), ("w_im", "y"),
             ("y", "rot_yx"), ("rot_yx", "x"), ("x", "rot_xy"), ("rot_xy", "y")]
    drives = ["x"]
    if layer.mixing is not None:
        nodes["mix_re"] = nir.Linear(weight=layer.mixing.real.copy())
        nodes["mix_im"] = nir.Linear(weight=-layer.mixing.imag)
        edges += [("x", "mix_re"), ("y", "mix_im")]
        drives = ["mix_re", "mix_im"]
    for n in range(1, layer.levels + 1):
        name = "spike" if n == 1 else f"spike_{n}"
        nodes[name] = nir.Threshold(threshold=np.full(p, n * float(layer.threshold)))
        edges += [(drive, name) for drive in drives] + [(name, "output")]
    metadata = {
        "s5rf_deploy.layer": index, "B_re": layer.weight.real.copy(), "B_im": layer.weight.imag.copy(),
        "log_neg_real": layer.log_neg_real, "imag": layer.imag, "log_step": layer.log_step,
        "discretization": layer.discretization, "keep_imag": bool(layer.keep_imag), "spike_rule": layer.spike,
        "skip": bool(layer.skip), "threshold": float(layer.threshold), "input_convention": convention,
        "dt": float(dt), "spike_bits": int(layer.spike_bits),
    }
    if layer.mixing is not None:
        metadata["V_re"] = layer.mixing.real.copy()
        metadata["V_im"] = layer.mixing.imag.copy()
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def to_nir(net: S5RFNetwork, dt: float = DEFAULT_DT, convention: str = "impulse") -> nir.NIRGraph:
    """The whole network as a NIR graph of standard primitives (readout mean is host-side)."""
    net.validate()
    if convention not in INPUT_CONVENTIONS:
        raise S5RFError(f"input convention {convention!r} is not one of {INPUT_CONVENTIONS}")
    if not dt > 0:
        raise S5RFError(f"dt must be positive, got {dt}")
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([net.input_dim]))}
    edges: list[tuple[str, str]] = []
    sources = ["input"]
    for i, layer in enumerate(net.layers):
        name = f"rf{i}"
        nodes[name] = rf_subgraph(layer, i, dt, convention if i == 0 else "impulse")
        edges += [(s, name) for s in sources]
        sources = [name] + (sources if layer.skip else [])
    leak = net.readout.leak
    tau = -dt / np.log(leak)
    nodes["readout_w"] = nir.Linear(weight=net.readout.weight.copy())
    nodes["readout"] = nir.LI(tau=tau, r=tau / dt, v_leak=np.zeros_like(tau),
                              metadata={"leak": leak.copy(), "W": net.readout.weight.copy()})
    nodes["output"] = nir.Output(output_type=np.array([net.num_classes]))
    edges += [(s, "readout_w") for s in sources] + [("readout_w", "readout"), ("readout", "output")]
    metadata = {FORMAT_KEY: FORMAT_VALUE, "s5rf_deploy.version": FORMAT_VERSION, "dt": float(dt),
                "input_convention": convention, "num_layers": len(net.layers),
                "readout": "class = argmax over classes of the time mean of 'output'"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(graph: nir.NIRGraph, path: str | os.PathLike) -> None:
    """Write a NIR graph atomically."""
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
