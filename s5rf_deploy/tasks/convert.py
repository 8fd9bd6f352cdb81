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
from s5rf_deploy.graphs.artifact import LifGraph
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.s5rf.artifact import FxpNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork


@dataclass(frozen=True)
class ConvertOptions:
    """Settings a target may need."""

    profile: str = "loihi2"
    dt: float | None = None
    convention: str = "impulse"
    digits: int = 2
    allow_overflow: bool = False


def _describe(net) -> str:
    if isinstance(net, S5RFNetwork):
        return "an S5-RF network"
    if isinstance(net, GraphNetwork):
        return "a standard NIR graph"
    return "a fixed-point artifact"


def _to_checkpoint(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.s5rf.checkpoint import save_checkpoint
    from s5rf_deploy.s5rf.network import model_from_network

    if not isinstance(net, S5RFNetwork):
        raise S5RFError(f"{_describe(net)} is not an S5-RF network; a native checkpoint holds S5-RF models only "
                        f"(convert to .nir or .fxp)")
    save_checkpoint(model_from_network(net), path, dict(net.provenance))
    return f"{len(net.layers)} RF layers"


def _to_nir(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.nir.export import DEFAULT_DT, to_nir, write_nir
    from s5rf_deploy.graphs.network import to_nir as graph_to_nir

    if isinstance(net, S5RFNetwork):
        write_nir(to_nir(net, opts.dt or DEFAULT_DT, opts.convention), path)
        return f"{len(net.layers)} RF layers as nested graphs"
    if isinstance(net, GraphNetwork):
        write_nir(graph_to_nir(net), path)
        return f"{len(net.nodes)} nodes"
    raise S5RFError("a fixed-point artifact has no float parameters to write as NIR; convert the float model")


def _to_fxp(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.graphs.artifact import save_lif_graph
    from s5rf_deploy.graphs.quantize import lif_graph
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.s5rf.artifact import save_fxp
    from s5rf_deploy.s5rf.quantize import check_fits, quantize

    if isinstance(net, (FxpNetwork, LifGraph)):
        raise S5RFError("the input is already a fixed-point artifact")
    prof = load_profile(opts.profile)
    if isinstance(net, S5RFNetwork):
        fxp, report = quantize(net, prof, digits=opts.digits)
        check_fits(report, opts.allow_overflow)
        save_fxp(fxp, path)
    else:
        graph, report = lif_graph(net, prof, "fixed", opts.dt, opts.digits)
        check_fits(report, opts.allow_overflow)
        save_lif_graph(graph, path)
    return f"quantized for {prof.name} (no calibration: use `quantize --calibrate` for deployment)"


def _to_netx(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.netx import export_model, write_netx

    result = export_model(net, opts.dt)
    write_netx(result.network, path)
    exact = all(f.exact for f in result.fits)
    return (f"{len(result.fits)} dense CUBA layers ({'exact' if exact else 'rounded: see export-netx for errors'})"
            + (f", spikes {result.time_shift} steps after the graph's" if result.time_shift else ""))


def _to_onnx(net, path: Path, opts: ConvertOptions) -> str:
    from s5rf_deploy.converters.onnx import export_onnx

    if not isinstance(net, S5RFNetwork):
        raise S5RFError(f"{_describe(net)} does not export to ONNX; only float S5-RF networks do")
    export_onnx(net, path)
    return "sequence form, float64 (export-onnx has the streaming form and float32)"


TARGETS: dict[str, Callable] = {".s5rf": _to_checkpoint, ".nir": _to_nir, ".fxp": _to_fxp, ".net": _to_netx,
                                ".onnx": _to_onnx}


def convert(source: str | os.PathLike, target: str | os.PathLike, config: str | os.PathLike | None = None,
            opts: ConvertOptions | None = None) -> str:
    """Convert ``source`` into ``target`` (written atomically); returns what was written, in words."""
    from s5rf_deploy.tasks.loading import load_any

    opts = opts or ConvertOptions()
    src, dst = Path(source), Path(target)
    writer = TARGETS.get(dst.suffix)
    if writer is None:
        raise S5RFError(f"{dst}: unknown target type {dst.suffix or '(no suffix)'!r}; "
                        f"supported: {', '.join(sorted(TARGETS))}")
    if src.resolve() == dst.resolve():
        raise S5RFError(f"{dst}: input and output are the same file")
    net = load_any(src, config, dt=opts.dt)
    return writer(net, dst, opts)
