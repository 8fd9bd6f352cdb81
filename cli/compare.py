"""``s5rf-deploy compare``: fixed point against float, layer by layer, with a report folder."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click

from s5rf_deploy.cli.common import INPUT, device_option, emit, progress_bar, warn
from s5rf_deploy.cli.graph_options import model_on_data_options
from s5rf_deploy.cli.scale import cluster_options


def _table(result: dict) -> str:
    from s5rf_deploy.tasks.report_text import text_table as table

    rows = []
    for e in result["layers"]:
        snr = e.get("state_snr_db")
        fd = e["first_divergence"]
        rows.append([e["layer"], str(e["neurons"]), f"{e['rate']['float']:.4f}", f"{e['rate']['fixed']:.4f}",
                     f"{e['spike_agreement']:.4f}", f"{e['hamming_per_neuron']['mean']:.3f}",
                     "-" if fd["median"] is None else f"{fd['median']:g}", f"{fd['never']}/{fd['samples']}",
                     "-" if snr is None else f"{snr:.1f}",
                     f"{e['bits_per_sample']['float']:.0f}/{e['bits_per_sample']['fixed']:.0f}",
                     f"{e['synops_per_sample']['float']:.0f}/{e['synops_per_sample']['fixed']:.0f}"])
    out = result["output"]
    lines = [table(["layer", "neurons", "rate fl", "rate fx", "agreement", "hamming", "1st div", "never div",
                    "SNR dB", "bits fl/fx", "synops fl/fx"], rows),
             f"output: top-1 agreement {out['top1_agreement']:.4f}, logit error max {out['logit_error']['max_abs']:.3g}"
             + (f", accuracy float {out['accuracy']['float']:.4f} fixed {out['accuracy']['fixed']:.4f}"
                if "accuracy" in out else "")]
    if "lava" in result:
        lava = result["lava"]
        lines.append(f"Lava fixed point on {lava['samples']} samples: "
                     + ("bit-exact with the stepper" if lava["bit_exact"] else
                        f"MISMATCH ({lava['mismatched_values']} values differ)"))
    if result.get("attribution"):
        lines.append("top-1 agreement lost per stage (points): " + ", ".join(
            f"{s['stage']} {100 * s['top1_cost']:.1f}" for s in result["attribution"]))
    return "\n".join(lines)

if TYPE_CHECKING:
    from s5rf_deploy.samples import Binning


@click.command("compare")
@model_on_data_options("Also report accuracies and a confusion matrix against the labels.")
@click.option("--profile", help="Quantize for this profile (default loihi2; not with --fxp).")
@click.option("--fxp", "fxp_path", type=INPUT, help="Use this fixed-point artifact instead.")
@click.option("--lava", "lava_samples", type=click.IntRange(min=1),
              help="Also run Lava fixed point on the first N samples and check it bit for bit (exit 1 if not).")
@cluster_options
@device_option
@click.pass_context
def compare(ctx: click.Context, model: str, input_path: str, binning: Binning, labels: bool, config: str | None,
            dt: float | None,
            reading: dict,
            profile: str | None, fxp_path: str | None, calibrate: str | None, samples: int | None,
            lava_samples: int | None, output: str, force: bool, workers: int,
            scheduler: str | None, device: str) -> None:
    """Compare the fixed-point network (stepper) with the float MODEL on the inputs of a dataset.

    Writes OUTPUT/report.json, report.md and PNG figures (spike rasters,
    state traces, per-layer agreement, confusion matrix).  --device runs the
    stepper there; the --lava check's stepper runs on the CPU.

    \b
    Examples:
      s5rf-deploy compare model.s5rf --input test.npz --labels --fxp model.fxp --lava 5 -o report
      s5rf-deploy compare braille.nir --dt 1e-4 --input spikes.npz -o braille-report
    """

    from s5rf_deploy.atomic import check_output_dir
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.samples import load_labelled

    check_output_dir(output, force)  # options and files are checked before the heavy imports below
    if fxp_path and profile:
        raise S5RFError("give either --fxp (an artifact) or --profile (quantize now), not both")
    data = load_labelled(input_path, samples, labels, binning)

    from s5rf_deploy.cli.app import CheckFailed
    from s5rf_deploy.tasks.attribution import attribute, flags
    from s5rf_deploy.tasks.cluster import sample_pool
    from s5rf_deploy.tasks.compare import checked_labels, lava_check, metrics, runs_for
    from s5rf_deploy.tasks.compare_report import write_report
    from s5rf_deploy.tasks.families import S5RF, family_of, input_encoding_of, takes_analog_inputs
    from s5rf_deploy.tasks.fixed_artifacts import fixed_point_for
    from s5rf_deploy.tasks.inspect import calibration_of
    from s5rf_deploy.tasks.loading import load_network

    net = load_network(model, config, dt=dt, **reading)
    truth = checked_labels(net, data, input_path, labels)
    if not takes_analog_inputs(net):
        data.check_inputs(input_path)  # before quantizing on them
    fxp, what = fixed_point_for(net, fxp_path, profile or "loihi2", calibrate, dt, (input_path, data.inputs),
                                partial(warn, ctx), binning=binning)
    data.check_inputs(input_path, input_encoding_of(fxp))
    pool = ctx.with_resource(sample_pool(workers, scheduler))
    with progress_bar(ctx, "compare", len(data)) as progress:
        runs = runs_for(net, fxp, data.inputs, progress, pool, device)
    result = {"model": str(model), "fixed_point": what, "calibrated": calibration_of(fxp)["calibrated"],
              **metrics(runs, truth)}
    if family_of(net) is S5RF:
        result["attribution"] = attribute(net, runs, data.inputs, result["calibrated"])
    if lava_samples:
        with progress_bar(ctx, "lava", min(lava_samples, len(data))) as progress:
            result["lava"] = lava_check(fxp, data.inputs[:lava_samples], progress, pool)
    result["flags"] = flags(result)
    for line in result["flags"]:
        warn(ctx, line)
    files = write_report(output, result, runs, truth, force)
    emit(ctx, result | {"files": files}, _table(result) + f"\nwrote {output}/: {', '.join(files)}")
    if lava_samples and not result["lava"]["bit_exact"]:
        raise CheckFailed("Lava's fixed-point run differs from the stepper")
