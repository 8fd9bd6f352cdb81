"""Read NIR files: our own S5-RF exports exactly, anything else as a :class:`GraphNetwork`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nir
import numpy as np

from s5rf_deploy.converters.nir.export import FORMAT_KEY, FORMAT_VALUE, FORMAT_VERSION, to_nir
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.graphs.frameworks import SEMANTICS, SEMANTICS_KEY, look_alikes, semantics_named
from s5rf_deploy.graphs.network import GraphNetwork, from_nir
from s5rf_deploy.s5rf.network import Readout, RFLayer, S5RFNetwork

# Relative tolerance between the stored standard nodes and the ones re-derived from
# the raw parameters in metadata: both come from the same float64 formulas.
CONSISTENCY_RTOL = 1e-12


def read_graph(path: str | os.PathLike) -> nir.NIRGraph:
    """``nir.read`` with one-line errors for missing, truncated or malformed files."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FormatError(f"{p}: not a readable NIR file (empty file)")
    try:
        graph = nir.read(p, type_check=False)  # our own checks name the problem more precisely
    except Exception as exc:  # noqa: BLE001 - h5py and nir raise many types on bad files
        raise FormatError(f"{p}: not a readable NIR file ({type(exc).__name__}: {exc})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise FormatError(f"{p}: the NIR file does not hold a graph")
    return graph


def is_s5rf_export(graph: nir.NIRGraph) -> bool:
    return (graph.metadata or {}).get(FORMAT_KEY) == FORMAT_VALUE


def _layer_from_metadata(sub: nir.NIRGraph, where: str) -> RFLayer:
    m = sub.metadata
    try:
        mixing = m["V_re"] + 1j * m["V_im"] if "V_re" in m else None
        return RFLayer(
            weight=np.asarray(m["B_re"], np.float64) + 1j * np.asarray(m["B_im"], np.float64),
            log_neg_real=np.asarray(m["log_neg_real"], np.float64), imag=np.asarray(m["imag"], np.float64),
            log_step=np.asarray(m["log_step"], np.float64), discretization=str(m["discretization"]),
            keep_imag=bool(m["keep_imag"]), spike=str(m["spike_rule"]), skip=bool(m["skip"]),
            threshold=float(m["threshold"]), mixing=mixing, spike_bits=int(m.get("spike_bits", 1)),
        )
    except KeyError as exc:
        raise FormatError(f"{where}: metadata lacks {exc.args[0]!r}") from None


def _compare_nodes(stored: nir.NIRGraph, rebuilt: nir.NIRGraph, where: str) -> None:
    """Raise if a node parameter of ``stored`` differs from the one derived from metadata."""
    if set(stored.nodes) != set(rebuilt.nodes):
        raise FormatError(f"{where}: nodes {sorted(stored.nodes)} differ from an s5rf-deploy export")
    for name, node in rebuilt.nodes.items():
        other = stored.nodes[name]
        if isinstance(node, nir.NIRGraph):
            _compare_nodes(other, node, f"{where}/{name}")
            continue
        for key, value in vars(node).items():
            if key in ("metadata", "input_type", "output_type"):
                continue
            a, b = np.asarray(value, np.float64), np.asarray(getattr(other, key), np.float64)
            if a.shape != b.shape or not np.allclose(a, b, rtol=CONSISTENCY_RTOL, atol=0):
                raise FormatError(f"{where}: node {name!r} parameter {key!r} disagrees with the s5rf-deploy "
                                  f"metadata (edited by another tool?); import it as a plain graph instead")


def network_from_export(graph: nir.NIRGraph, source: str) -> S5RFNetwork:
    """Rebuild an S5-RF network exactly from the metadata of one of our exports."""
    meta = graph.metadata
    if int(meta.get("s5rf_deploy.version", -1)) != FORMAT_VERSION:
        raise FormatError(f"{source}: s5rf-deploy NIR version {meta.get('s5rf_deploy.version')} is not supported")
    try:
        count = int(meta["num_layers"])
        layers = tuple(_layer_from_metadata(graph.nodes[f"rf{i}"], f"{source}: rf{i}") for i in range(count))
        ro = graph.nodes["readout"].metadata
        readout = Readout(np.asarray(ro["W"], np.float64), np.asarray(ro["leak"], np.float64))
    except KeyError as exc:
        raise FormatError(f"{source}: incomplete s5rf-deploy export (missing {exc.args[0]!r})") from None
    net = S5RFNetwork(layers, readout, {"source": source})
    _compare_nodes(graph, to_nir(net, float(meta["dt"]), str(meta["input_convention"])), source)
    return net


def load_nir(path: str | os.PathLike, dt: float | None = None, as_graph: bool = False, semantics: str | None = None,
             convention: str | None = None) -> S5RFNetwork | GraphNetwork:
    """An :class:`S5RFNetwork` for our exports (unless ``as_graph``), else a :class:`GraphNetwork` read with
    ``semantics`` and the input ``convention`` (defaults: :func:`~s5rf_deploy.graphs.network.from_nir`'s)."""
    graph = read_graph(path)
    try:
        if is_s5rf_export(graph) and not as_graph:
            if semantics not in (None, "nir"):
                raise S5RFError(f"written by s5rf-deploy from an S5-RF network, whose nodes are exact: --semantics "
                                f"{semantics} applies to graphs from other frameworks (or use --as-graph)")
            return network_from_export(graph, str(path))
        net = from_nir(graph, dt=dt, input_convention=convention, semantics=semantics)
    except FormatError:
        raise
    except S5RFError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise FormatError(f"{path}: malformed NIR graph ({type(exc).__name__}: {exc})") from None
    _say_reading(net, path, chosen=semantics is not None or SEMANTICS_KEY in (graph.metadata or {}))
    return net


def _say_reading(net: GraphNetwork, path: str | os.PathLike, chosen: bool) -> None:
    """Warn about how a foreign graph is read when nobody chose it: the framework its metadata names, or the
    exact ODEs and the frameworks whose exporters write parameters like its own."""
    if chosen:
        return
    if net.semantics != "nir":
        warnings.warn(f"{path}: read as {net.semantics} (named in the file's metadata): "
                      f"{semantics_named(net.semantics).summary}; --semantics chooses another reading", stacklevel=3)
        return
    alike = look_alikes(net)
    if alike:
        options = " or ".join(f"--semantics {name}" for name in SEMANTICS if name.split("-")[0] in alike)
        warnings.warn(f"{path}: read by its ODEs (--semantics nir); its parameters look like a {'/'.join(alike)} "
                      f"export, whose own simulation differs: {options} computes what that framework did "
                      f"(docs/interop.md)", stacklevel=3)
