"""``s5rf-deploy sweep``: ``compare`` for several profiles and weight digits as one (sharded) job, tabulated."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click

from s5rf_deploy.cli.common import device_option, emit, int_list, progress_bar, warn
from s5rf_deploy.cli.graph_options import model_on_data_options
from s5rf_deploy.cli.scale import cluster_options

DIGITS = (1, 2, 3, 4)


def _profiles(_ctx: click.Context, _param: click.Parameter, text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    if not all(names):
        raise click.BadParameter(f"expected comma-separated profile names or TOML paths, got {text!r}")
    return names


def _digits(_ctx: click.Context, _param: click.Parameter, text: str) -> tuple[int, ...]:
    digits = tuple(dict.fromkeys(int_list(text)))
    if not set(digits) <= set(DIGITS):
        raise click.BadParameter(f"digits per connection are {', '.join(map(str, DIGITS))}; got {text!r}")
    return digits

if TYPE_CHECKING:
    from s5rf_deploy.samples import Binning


@click.command("sweep")
@model_on_data_options("Also report the fixed-point accuracy against the labels.")
@click.option("--profiles", default="loihi2", show_default=True, callback=_profiles,
              help="Comma-separated hardware profiles (names or TOML paths).")
@click.option("--digits", default="1,2", show_default=True, callback=_digits,
              help="Comma-separated weight digits (synapses) per connection to try, each 1..4.")
@cluster_options
@device_option
@click.pass_context
def sweep(ctx: click.Context, model: str, input_path: str, binning: Binning, labels: bool, config: str | None,
          dt: float | None,
          reading: dict,
          profiles: tuple[str, ...], digits: tuple[int, ...], calibrate: str | None, samples: int | None,
          output: str, force: bool, workers: int, scheduler: str | None, device: str) -> None:
    """Quantize MODEL for every profile and number of weight digits, compare each with the float model on a
    dataset, and tabulate accuracy, agreement and resources.

    Writes OUTPUT/report.json, report.md and sweep.png.  The runs of all
    choices are one job: with --workers or --scheduler they share the workers.

    \b
    Examples:
      s5rf-deploy sweep model.s5rf --input test.npz --labels --digits 1,2,3 -o sweep
      s5rf-deploy sweep model.s5rf --input test.npz --profiles loihi2,loihi2-wide --workers 2 -o sweep
    """
    from s5rf_deploy.atomic import check_output_dir
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.samples import load_labelled

    check_output_dir(output, force)
    for profile in profiles:
        load_profile(profile)
    data = load_labelled(input_path, samples, labels, binning)

    from s5rf_deploy.tasks.cluster import sample_pool
    from s5rf_deploy.tasks.compare import checked_labels
    from s5rf_deploy.tasks.families import takes_analog_inputs
    from s5rf_deploy.tasks.loading import load_network
    from s5rf_deploy.tasks.report_text import text_table
    from s5rf_deploy.tasks.sweep import Choice, sweep
    from s5rf_deploy.tasks.sweep_report import HEADER, table_rows, write_sweep

    net = load_network(model, config, dt=dt, **reading)
    if not takes_analog_inputs(net):  # S5-RF networks calibrated on analog inputs take them as graded spikes
        data.check_inputs(input_path)
    truth = checked_labels(net, data, input_path, labels)
    choices = [Choice(profile, d) for profile in profiles for d in digits]
    pool = ctx.with_resource(sample_pool(workers, scheduler))
    with progress_bar(ctx, "sweep", len(choices) * len(data)) as progress:
        entries = sweep(net, data.inputs, truth, choices, input_path, calibrate, dt, partial(warn, ctx), progress,
                        pool, binning, device)
    files = write_sweep(output, str(model), len(data), entries, force)
    emit(ctx, {"model": str(model), "samples": len(data), "choices": entries, "files": files},
         text_table(HEADER, table_rows(entries)) + f"\nwrote {output}/: {', '.join(files)}")
