"""One conversion entry point: the source is read by content and suffix, the target chosen by suffix.

Sources: native checkpoints, reference ``.eqx`` (with a config), ``.nir``,
fixed-point ``.fxp`` artifacts, lava-dl netx HDF5 (``.net``/``.h5``/``.hdf5``).
Targets: ``.s5rf`` (S5-RF networks), ``.nir`` (float networks), ``.fxp``
(quantized for a profile), ``.net`` (netx; standard LIF/IF/CubaLIF chains),
``.onnx`` (float S5-RF networks, sequence form).
Impossible pairs are refused with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from s5rf_deploy.errors import S5RFError


@dataclass(frozen=True)
class ConvertOptions:
    """Settings a target may need."""

    profile: str = "loihi2"
    dt: float | None = None
    convention: str = "impulse"
    digits: int = 2
    allow_overflow: bool = False
    semantics: str | None = None  # how a NIR source's neurons compute (graphs/frameworks.py)


def _describe(net) -> str:
    from s5rf_deploy.tasks.families import family_of, is_fixed

    return "a fixed-point artifact" if is_fixed(net) else family_of(net).describe


def _is(net, family) -> bool:
    """Whether ``net`` is a float network of ``family``."""
    from s5rf_deploy.tasks.families import family_of, is_fixed

    return family_of(net) is family and not is_fixed(net)


def _to_checkpoint(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.s5rf.checkpoint import save_checkpoint
    from s5rf_deploy.s5rf.network import model_from_network
    from s5rf_deploy.tasks.families import S5RF

    if not _is(net, S5RF):
        raise S5RFError(f"{_describe(net)} is not an S5-RF network; a native checkpoint holds S5-RF models only "
                        f"(convert to .nir or .fxp)")
    save_checkpoint(model_from_network(net), path, dict(net.provenance))
    return f"{len(net.layers)} RF layers"


def nir_of(net, dt: float | None = None, convention: str = "impulse"):
    """The NIR graph of a float network and what it holds, in words (S5-RF: ``dt`` default 1e-3)."""
    from s5rf_deploy.converters.nir.export import DEFAULT_DT, to_nir
    from s5rf_deploy.graphs.network import to_nir as graph_to_nir
    from s5rf_deploy.tasks.families import GRAPH, S5RF

    if _is(net, S5RF):
        return to_nir(net, dt or DEFAULT_DT, convention), f"{len(net.layers)} RF layers as nested graphs"
    if _is(net, GRAPH):
        return graph_to_nir(net), f"{len(net.nodes)} nodes"
    raise S5RFError("a fixed-point artifact has no float parameters to write as NIR; convert the float model")


def _to_nir(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.nir.export import write_nir

    graph, what = nir_of(net, opts.dt, opts.convention)
    write_nir(graph, path)
    return what


def _to_fxp(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.fixed.resources import check_fits
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.families import family_of, is_fixed, quantize_network

    if is_fixed(net):
        raise S5RFError("the input is already a fixed-point artifact")
    prof = load_profile(opts.profile)
    fixed, report = quantize_network(net, prof, digits=opts.digits, dt=opts.dt)
    check_fits(report, opts.allow_overflow)
    family_of(net).save_fixed(fixed, path)
    return f"quantized for {prof.name} (no calibration: use `quantize --calibrate` for deployment)"


def to_netx(net, dt: float | None = None):
    """netx integers for a loaded model: standard NIR graphs only; S5-RF networks and fixed-point graphs
    are refused."""
    from s5rf_deploy.converters.netx import LIF_GRAPH_UNSUPPORTED, S5RF_UNSUPPORTED, NetxError, from_graph
    from s5rf_deploy.tasks.families import S5RF, family_of, is_fixed

    if family_of(net) is S5RF:
        raise NetxError(S5RF_UNSUPPORTED)
    if is_fixed(net):
        raise NetxError(LIF_GRAPH_UNSUPPORTED)
    return from_graph(net, dt)


def _to_netx(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.netx import write_netx

    result = to_netx(net, opts.dt)
    write_netx(result.network, path)
    exact = all(f.exact for f in result.fits)
    return (f"{len(result.fits)} dense CUBA layers ({'exact' if exact else 'rounded: see export-netx for errors'})"
            + (f", spikes {result.time_shift} steps after the graph's" if result.time_shift else ""))


def _to_onnx(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.onnx import export_onnx
    from s5rf_deploy.tasks.families import S5RF

    if not _is(net, S5RF):
        raise S5RFError(f"{_describe(net)} does not export to ONNX; only float S5-RF networks do")
    export_onnx(net, path)
    return "sequence form, float32 (export-onnx has the streaming form and float64)"


TARGETS: dict[str, Callable] = {".s5rf": _to_checkpoint, ".nir": _to_nir, ".fxp": _to_fxp, ".net": _to_netx,
                                ".onnx": _to_onnx}


def convert(source: str | os.PathLike, target: str | os.PathLike, config: str | os.PathLike | None = None,
            opts: ConvertOptions | None = None) -> str:
    """Convert ``source`` into ``target`` (written atomically); returns what was written, in words."""
    opts = opts or ConvertOptions()
    src, dst = Path(source), Path(target)
    writer = TARGETS.get(dst.suffix)
    if writer is None:
        raise S5RFError(f"{dst}: unknown target type {dst.suffix or '(no suffix)'!r}; "
                        f"supported: {', '.join(sorted(TARGETS))}")
    if src.resolve() == dst.resolve():
        raise S5RFError(f"{dst}: input and output are the same file")
    from s5rf_deploy.tasks.loading import load_any

    net = load_any(src, config, dt=opts.dt, semantics=opts.semantics)
    return writer(net, dst, opts)
