"""``s5rf-deploy quantize``: a fixed-point artifact for a hardware profile."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import click

from s5rf_deploy.cli.common import INPUT, POSITIVE, binning_options, emit, output_options, progress_bar, warn
from s5rf_deploy.cli.graph_options import reading_options

if TYPE_CHECKING:
    from s5rf_deploy.samples import Binning


@click.command("quantize")
@click.argument("model", type=INPUT)
@click.option("--profile", default="loihi2", show_default=True, help="Hardware profile name or TOML path.")
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--calibrate", "calibrate", type=INPUT,
              help=".npz whose inputs choose the state scales (and measure agreement), or an event file (HDF5 in the "
                   "SHD/SSC layout, sparse .npz) binned as --steps/--pool say.")
@binning_options
@click.option("--calibration-samples", default=256, show_default=True, type=click.IntRange(min=1),
              help="Use at most this many samples, drawn with a fixed seed (all of a smaller file).")
@click.option("--digits", default="2", show_default=True, type=click.Choice(["1", "2", "3", "4", "auto"]),
              help="Synapses per connection (each adds ~7 weight bits and the same synaptic memory); auto: the fewest "
                   "per connection that keep calibration top-1 agreement >= --target (S5-RF, needs --calibrate).")
@click.option("--target", default=0.995, show_default=True, type=click.FloatRange(0, 1),
              help="Top-1 agreement --digits auto must keep on the calibration data.")
@click.option("--max-steps", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Longest sequence the readout must hold when no calibration data sets its scale.")
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@reading_options()
@click.option("--allow-overflow", is_flag=True, help="Write the artifact even if it does not fit or overflows.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Also write the report as JSON.")
@output_options("Fixed-point .fxp to write.", also=("report_path",))
@click.pass_context
def quantize(ctx: click.Context, model: str, profile: str, config: str | None, calibrate: str | None, binning: Binning,
             calibration_samples: int, digits: str, target: float, max_steps: int, dt: float | None, reading: dict,
             allow_overflow: bool, report_path: str | None, output: str) -> None:
    """Quantize MODEL for a hardware profile and write a fixed-point artifact.

    S5-RF models become RF compartments; standard NIR graphs (LIF, IF, CubaLIF,
    LI/I outputs) become Lava LIF + Dense stages.

    \b
    Examples:
      s5rf-deploy quantize model.s5rf --profile loihi2 --calibrate train.npz -o model.fxp
      s5rf-deploy quantize braille.nir --dt 1e-4 --profile loihi2 -o braille.fxp
    """
    from s5rf_deploy.atomic import atomic_path
    from s5rf_deploy.fixed.resources import check_fits
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.families import family_of, quantize_network
    from s5rf_deploy.tasks.fixed_artifacts import calibration_inputs
    from s5rf_deploy.tasks.loading import load_network
    from s5rf_deploy.tasks.report_text import quantization_text

    prof = load_profile(profile)
    net = load_network(model, config, dt=dt, **reading)
    calib = calibration_inputs(calibrate, net, calibration_samples, binning) if calibrate else None
    with progress_bar(ctx, "quantize", len(calib)) if calib is not None else contextlib.nullcontext() as progress:
        fxp, report = quantize_network(net, prof, calib, digits, max_steps, dt, calibrate, target, progress)
    check_fits(report, allow_overflow)
    family_of(net).save_fixed(fxp, output)
    table = quantization_text(report, prof.name)
    for message in report.warnings:
        warn(ctx, message)
    payload = {"output": output, "profile": prof.name, "layers": report.layers, "readout": report.readout,
               "resources": report.resources, "calibration": report.calibration, "overflow": report.overflow,
               "warnings": report.warnings, "digits": report.digits, "inputs": report.inputs}
    if report_path:
        with atomic_path(report_path) as tmp:
            tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    emit(ctx, payload, table + f"\nwrote {output}")
