"""``s5rf-deploy simulate``: run a model (float or fixed point, any backend) over a dataset."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click

from s5rf_deploy.cli.common import (
    INPUT,
    POSITIVE,
    binning_options,
    device_option,
    emit,
    output_options,
    progress_bar,
    warn,
)
from s5rf_deploy.cli.graph_options import reading_options
from s5rf_deploy.cli.scale import cluster_options

if TYPE_CHECKING:
    from s5rf_deploy.samples import Binning

RECORDABLE = ("spikes", "states")


def _record_list(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--record`` values, repeated or comma-separated, each ``spikes`` or ``states`` (duplicates dropped)."""
    items = [item.strip() for value in values for item in value.split(",")]
    for item in items:
        if item not in RECORDABLE:
            raise click.BadParameter(f"{item!r} is not one of {', '.join(map(repr, RECORDABLE))}")
    return tuple(dict.fromkeys(items))


@click.command("simulate")
@click.argument("model", type=INPUT)
@click.option("--input", "input_path", required=True, type=INPUT,
              help=".npz with inputs (N,T,H) and optional labels (N,); or an event file: HDF5 in the SHD/SSC layout "
                   "or a sparse .npz of events (sample, step, channel[, value]), binned as --steps/--pool say.")
@binning_options
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--backend", type=click.Choice(["torch", "nir", "stepper", "lava"]), default=None,
              help="torch: PyTorch float64 (S5-RF models); nir: exact NIR-graph simulator (any supported graph); "
                   "stepper: bit-accurate fixed-point reference; lava: Lava CPU backend (fixed or float).  Default: "
                   "stepper for --precision fixed, else torch for S5-RF models and nir for other graphs.")
@click.option("--precision", type=click.Choice(["float", "fixed"]), default=None,
              help="fixed needs a .fxp artifact or quantizes on the fly for --profile (default: fixed for .fxp).")
@click.option("--profile", default="loihi2", show_default=True, help="Hardware profile name or TOML path.")
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@click.option("--as-graph", is_flag=True, help="Treat an s5rf-deploy NIR file as a plain graph.")
@reading_options()
@click.option("--samples", type=click.IntRange(min=1), help="Only the first N samples.")
@click.option("--record", multiple=True, metavar="spikes|states", callback=_record_list,
              help="Also store per-layer spikes_<i> / states_<i>; repeatable, or comma-separated "
                   "(--record spikes,states).")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Samples per batch (memory against speed; results do not depend on it).  Default: 256 on the "
                   "stepper, 64 on the float backends and with --workers/--scheduler, fewer where a batch's "
                   "recorded traces would pass 1 GiB.")
@cluster_options
@device_option
@output_options("Result .npz to write; a name ending with / (or a folder, with --force): a folder of .npy files "
                "written as the run goes, memory independent of the number of samples.", dir_okay=True)
@click.pass_context
def simulate(ctx: click.Context, model: str, input_path: str, binning: Binning, config: str | None, backend: str | None,
             precision: str | None, profile: str, dt: float | None, as_graph: bool, reading: dict,
             samples: int | None,
             record: tuple[str, ...], batch_size: int | None, output: str, workers: int,
             scheduler: str | None, device: str) -> None:
    """Run MODEL on the inputs of a dataset file and write readouts and predictions.

    \b
    Examples:
      s5rf-deploy simulate model.s5rf --input test.npz --record spikes -o run.npz
      s5rf-deploy simulate braille.nir --dt 1e-4 --input braille.npz -o run.npz
      s5rf-deploy simulate model.fxp --input test.npz --record spikes -o fixed.npz
      s5rf-deploy simulate model.fxp --input ssc_test.h5 --steps 100 --pool 5 --record spikes -o run/
    """
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.samples import check_samples, load_samples
    from s5rf_deploy.tasks.backends import artifact_kind

    data = load_samples(input_path, binning, samples)  # the files are checked before the heavy imports below
    prof = load_profile(profile)
    if artifact_kind(model):  # a fixed-point artifact: refuse a float backend before loading anything heavy
        _backend_for(model, True, True, backend, precision)

    from s5rf_deploy.tasks.cluster import sample_pool
    from s5rf_deploy.tasks.families import S5RF, family_of, input_encoding_of, is_fixed
    from s5rf_deploy.tasks.loading import load_any
    from s5rf_deploy.tasks.simulation import simulate_to

    net = load_any(model, config, dt=dt, as_graph=as_graph, **reading)
    if is_fixed(net) and ctx.get_parameter_source("profile") is not click.core.ParameterSource.DEFAULT \
            and prof != net.profile:
        raise S5RFError(f"{model}: quantized for profile {net.profile.name!r}, which differs from --profile "
                        f"{profile}; quantize the float model for it")
    backend, precision = _backend_for(model, is_fixed(net), family_of(net) is S5RF, backend, precision)
    if device != "cpu" and backend != "stepper":
        raise S5RFError(f"--device {device} runs the fixed-point stepper; backend {backend} runs on the CPU "
                        f"(leave --device out)")
    check_samples(data, net.input_dim, input_path, input_encoding_of(net) if precision == "fixed" else None)
    state_bits = (net.profile if is_fixed(net) else prof).state["bits"] if precision == "fixed" else None
    pool = ctx.with_resource(sample_pool(workers, scheduler))
    with progress_bar(ctx, "simulate", len(data)) as progress:
        run = simulate_to(output, net, data, backend, precision, prof, record, batch_size, progress, dt,
                          partial(warn, ctx), pool, state_bits=state_bits, replace=True, device=device)
    payload = {"output": output, "samples": len(data), "backend": backend, "precision": precision}
    text = f"wrote {output}: {len(data)} samples, backend {backend} ({precision})"
    if "saturation" in run:
        payload["saturation"] = int(run["saturation"].sum())
        text += f", {int(run['saturation'].sum())} saturated updates"
    if data.labels is not None:
        acc = float((run["predictions"] == data.labels).mean())
        payload["accuracy"] = acc
        text += f", accuracy {acc:.4f}"
    emit(ctx, payload, text)


def _backend_for(model: str, fixed: bool, s5rf: bool, backend: str | None, precision: str | None) -> tuple[str, str]:
    """:func:`~s5rf_deploy.tasks.backends.choose_backend`, its refusal naming ``model``."""
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.tasks.backends import choose_backend

    try:
        return choose_backend(fixed, s5rf, backend, precision)
    except S5RFError as exc:
        raise S5RFError(f"{model}: {exc}") from None
