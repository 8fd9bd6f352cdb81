"""Load a network from any supported file, chosen by suffix and content."""

from __future__ import annotations

import os
from pathlib import Path

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork, network_from_model
from s5rf_deploy.tasks.backends import artifact_kind
from s5rf_deploy.timing import stage

NETX_SUFFIXES = (".net", ".h5", ".hdf5")  # lava-dl netx HDF5 networks


def load_network(path: str | os.PathLike, config: str | os.PathLike | None = None, dt: float | None = None,
                 as_graph: bool = False, semantics: str | None = None,
                 convention: str | None = None) -> S5RFNetwork | GraphNetwork:
    """A native checkpoint, a reference ``.eqx`` (with its JSON ``config``), a ``.nir`` file or a lava-dl netx
    HDF5 network (a :class:`GraphNetwork`; ``dt`` defaults to 1, time in steps).

    NIR files written by s5rf-deploy come back as the exact :class:`S5RFNetwork`
    (unless ``as_graph``); other NIR graphs as a :class:`GraphNetwork` whose
    sampling period is ``dt`` or the graph's ``dt`` metadata, read with ``semantics`` and the input
    ``convention`` (defaults: the file's; docs/interop.md).
    """
    with stage(f"load {path}"):
        return _load_float(Path(path), config, dt, as_graph, semantics, convention)


def _load_float(p: Path, config: str | os.PathLike | None, dt: float | None, as_graph: bool,
                semantics: str | None = None, convention: str | None = None) -> S5RFNetwork | GraphNetwork:
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    if p.suffix == ".nir":
        from s5rf_deploy.converters.nir.load import load_nir

        return load_nir(p, dt=dt, as_graph=as_graph, semantics=semantics, convention=convention)
    if p.suffix in NETX_SUFFIXES:
        from s5rf_deploy.converters.netx import read_netx, to_graph

        return to_graph(read_netx(p), dt if dt is not None else 1.0, str(p))
    if p.suffix == ".eqx":
        if config is None:
            raise S5RFError(f"{p}: a reference .eqx checkpoint needs --config CONFIG.json")
        from s5rf_deploy.converters.equinox import load_reference

        return network_from_model(load_reference(p, config))
    from s5rf_deploy.s5rf import checkpoint  # (torch: float models only)

    kind = container.peek_kind(p)
    if kind == checkpoint.KIND:
        return network_from_model(checkpoint.load_checkpoint(p))
    if kind is None:
        raise FormatError(f"{p}: not a model file this tool can read")
    raise FormatError(f"{p}: holds a {kind!r}, not a float model")


def load_any(path: str | os.PathLike, config: str | os.PathLike | None = None, dt: float | None = None,
             as_graph: bool = False, semantics: str | None = None, convention: str | None = None):
    """Like :func:`load_network`, but fixed-point artifacts load as an :class:`FxpNetwork` (S5-RF) or a
    :class:`~s5rf_deploy.graphs.artifact.LifGraph` (standard graphs)."""
    from s5rf_deploy.graphs import artifact as lif_graph
    from s5rf_deploy.s5rf import artifact as fxp_network

    p = Path(path)
    kind = artifact_kind(p)
    with stage(f"load {path}"):
        if kind == fxp_network.KIND:
            net = fxp_network.load_fxp(p)
        elif kind == lif_graph.KIND:
            net = lif_graph.load_lif_graph(p)
        else:
            net = _load_float(p, config, dt, as_graph, semantics, convention)
    return net
