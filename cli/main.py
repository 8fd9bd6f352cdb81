"""Entry point of ``s5rf-deploy``."""

from __future__ import annotations

import json
import logging
import sys
from functools import partial
from pathlib import Path

import click

from s5rf_deploy.cli.app import Group
from s5rf_deploy.cli.common import (
    POSITIVE,
    FiniteFloat,
    emit,
    int_list,
    one_line_warnings,
    output_options,
    positive_range,
    progress_bar,
    read_json,
    warn,
)

EXAMPLES = """
\b
Examples:
  s5rf-deploy demo
  s5rf-deploy import-reference model.eqx --config config.json -o model.s5rf
  s5rf-deploy train data.npz --neurons 64,64 --blocks 8,8 -o model.s5rf
  s5rf-deploy simulate model.s5rf --input data.npz --record spikes -o run.npz
  s5rf-deploy export-nir model.s5rf -o model.nir
  s5rf-deploy quantize model.s5rf --profile loihi2 --calibrate train.npz -o model.fxp
  s5rf-deploy compare model.s5rf --input test.npz --labels --fxp model.fxp --lava 5 -o report
  s5rf-deploy convert braille.nir --dt 1e-4 -o braille.fxp
  s5rf-deploy inspect model.s5rf --poles poles.png
  s5rf-deploy export-onnx model.s5rf --form streaming -o step.onnx
"""


@click.group(cls=Group, epilog=EXAMPLES)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--verbose", "-v", is_flag=True, help="Also log what each stage does and how long it takes (stderr).")
@click.version_option(package_name="s5rf-deploy")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool, as_json: bool, verbose: bool) -> None:
    """Deploy S5-RF resonate-and-fire networks to neuromorphic hardware."""
    ctx.obj = {"debug": debug, "quiet": quiet, "json": as_json, "verbose": verbose}
    logger = logging.getLogger("s5rf_deploy")
    logger.handlers.clear()  # one handler per invocation, on this invocation's stderr
    if verbose and not quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(relativeCreated)6.0f ms] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose and not quiet else logging.WARNING)
    ctx.with_resource(one_line_warnings(ctx))


@main.command("import-reference")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False),
              help="JSON of the reference Classifier's constructor arguments.")
@output_options("Native checkpoint to write.")
@click.pass_context
def import_reference(ctx: click.Context, model: str, config: str, output: str) -> None:
    """Convert a reference Equinox checkpoint (.eqx + config JSON) to a native checkpoint.

    \b
    Example:
      s5rf-deploy import-reference shd.eqx --config shd.json -o shd.s5rf
    """
    from s5rf_deploy.converters.equinox import load_reference
    from s5rf_deploy.s5rf.checkpoint import save_checkpoint

    net = load_reference(model, config)
    save_checkpoint(net, output, {"source": str(model), "converter": "equinox"})
    cfg = net.config
    emit(ctx, {"output": output, "config": cfg.to_dict()},
            f"wrote {output}: {cfg.num_layers} RF layers {list(cfg.num_neurons)}, "
            f"{cfg.input_dim} inputs, {cfg.output_dim} classes")


@main.command()
@click.argument("data", type=click.Path(dir_okay=False))
@output_options("Checkpoint to write.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Architecture JSON (our keys or the reference's); overrides the options below.")
@click.option("--neurons", default="128,128", show_default=True, help="Neurons per RF layer.")
@click.option("--blocks", default="16,16", show_default=True, help="HiPPO blocks per RF layer.")
@click.option("--discretization", type=click.Choice(["dirac", "zoh", "bilinear"]), default="dirac",
              show_default=True, help="Rule of layer 0 (later layers use dirac).")
@click.option("--keep-imag/--no-keep-imag", default=True, show_default=True)
@click.option("--spike", type=click.Choice(["cartesian", "polar"]), default="cartesian", show_default=True)
@click.option("--skip/--no-skip", default=True, show_default=True, help="Skip connections on layers 1..L-2.")
@click.option("--eta", default="0.004,0.1", show_default=True, callback=positive_range,
              help="Range of the initial steps Delta.")
@click.option("--classes", type=click.IntRange(min=1), help="Number of classes (default: max label + 1).")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=4e-3, show_default=True, type=POSITIVE)
@click.option("--lr-ssm", default=2e-3, show_default=True, type=POSITIVE,
              help="Learning rate of eigenvalues and steps.")
@click.option("--weight-decay", default=1e-4, show_default=True, type=FiniteFloat(min=0))
@click.option("--dropout", default=0.1, show_default=True)
@click.option("--val-fraction", default=0.1, show_default=True, help="Held-out share for validation.")
@click.option("--seed", default=0, show_default=True)
@click.pass_context
def train(ctx: click.Context, data: str, output: str, config_path: str | None, neurons: str, blocks: str,
          discretization: str, keep_imag: bool, spike: str, skip: bool, eta: tuple[float, float], classes: int | None,
          epochs: int, batch_size: int, lr: float, lr_ssm: float, weight_decay: float, dropout: float,
          val_fraction: float, seed: int) -> None:
    """Train an S5-RF classifier on DATA (.npz with inputs (N,T,H) and labels (N,)).

    \b
    Example:
      s5rf-deploy train shd_train.npz --neurons 128,128 --blocks 32,32 --epochs 20 -o shd.s5rf
    """
    import numpy as np

    from s5rf_deploy.dataset import Dataset, load_dataset
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.s5rf.checkpoint import save_checkpoint
    from s5rf_deploy.s5rf.config import ModelConfig
    from s5rf_deploy.s5rf.model import S5RFModel
    from s5rf_deploy.s5rf.training import TrainSettings
    from s5rf_deploy.s5rf.training import train as run_training

    dataset = load_dataset(data)
    if dataset.labels is None:
        raise S5RFError(f"{data}: training needs a 'labels' array")
    if not 0 <= val_fraction < 1:
        raise S5RFError("--val-fraction must be in [0, 1)")
    if config_path:
        config = ModelConfig.from_dict(read_json(config_path))
    else:
        config = ModelConfig(
            input_dim=dataset.inputs.shape[2], output_dim=classes or int(dataset.labels.max()) + 1,
            num_neurons=int_list(neurons), num_blocks=int_list(blocks), discretization=discretization,
            keep_imag=keep_imag, spike=spike, apply_skip=skip, eta_min=eta[0], eta_max=eta[1],
            dropout=dropout,
        )
    dataset.check_width(config.input_dim, data)
    n_val = int(len(dataset) * val_fraction)
    order = np.random.default_rng(seed).permutation(len(dataset))
    fit = Dataset(dataset.inputs[order[n_val:]], dataset.labels[order[n_val:]])
    val = Dataset(dataset.inputs[order[:n_val]], dataset.labels[order[:n_val]]) if n_val else None
    model = S5RFModel(config, seed=seed)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, lr_ssm=lr_ssm,
                             weight_decay=weight_decay, seed=seed)

    def on_epoch(epoch: int, loss: float, acc: float | None) -> None:
        if not (ctx.obj["quiet"] or ctx.obj["json"]):
            val_text = f", validation accuracy {acc:.4f}" if acc is not None else ""
            click.echo(f"epoch {epoch + 1}/{epochs}: loss {loss:.4f}{val_text}", err=True)

    history = run_training(model, fit, val, settings, on_epoch, progress_bar(ctx, "train"))
    save_checkpoint(model, output, {"source": str(data), "epochs": epochs, "seed": seed})
    final = history.val_accuracy[-1] if history.val_accuracy else None
    emit(ctx, {"output": output, "loss": history.loss, "val_accuracy": history.val_accuracy},
            f"wrote {output}" + (f" (validation accuracy {final:.4f})" if final is not None else ""))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help=".npz with inputs (N,T,H) and optional labels (N,).")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config JSON for a reference .eqx model.")
@click.option("--backend", type=click.Choice(["torch", "nir", "stepper", "lava"]), default=None,
              help="torch: PyTorch float64 (S5-RF models); nir: exact NIR-graph simulator (any supported graph); "
                   "stepper: bit-accurate fixed-point reference; lava: Lava CPU backend (fixed or float).  Default: "
                   "stepper for --precision fixed, else torch for S5-RF models and nir for other graphs.")
@click.option("--precision", type=click.Choice(["float", "fixed"]), default=None,
              help="fixed needs a .fxp artifact or quantizes on the fly for --profile (default: fixed for .fxp).")
@click.option("--profile", default="loihi2", show_default=True, help="Hardware profile name or TOML path.")
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@click.option("--as-graph", is_flag=True, help="Treat an s5rf-deploy NIR file as a plain graph.")
@click.option("--samples", type=click.IntRange(min=1), help="Only the first N samples.")
@click.option("--record", type=click.Choice(["spikes", "states"]), multiple=True,
              help="Also store per-layer spikes_<i> / states_<i>.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@output_options("Result .npz to write.")
@click.pass_context
def simulate(ctx: click.Context, model: str, input_path: str, config: str | None, backend: str | None,
             precision: str | None, profile: str, dt: float | None, as_graph: bool, samples: int | None,
             record: tuple[str, ...], batch_size: int, output: str) -> None:
    """Run MODEL on the inputs of a dataset file and write readouts and predictions.

    \b
    Examples:
      s5rf-deploy simulate model.s5rf --input test.npz --record spikes -o run.npz
      s5rf-deploy simulate braille.nir --dt 1e-4 --input braille.npz -o run.npz
      s5rf-deploy simulate model.fxp --input test.npz --record spikes -o fixed.npz
    """
    from s5rf_deploy.dataset import load_dataset
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.graphs.artifact import LifGraph
    from s5rf_deploy.s5rf.artifact import FxpNetwork
    from s5rf_deploy.s5rf.network import S5RFNetwork
    from s5rf_deploy.tasks.loading import load_any
    from s5rf_deploy.tasks.simulation import (
        simulate_fixed,
        simulate_graph,
        simulate_graph_lava_float,
        simulate_lava_float,
        simulate_network_as_graph,
        simulate_torch,
        write_run,
    )

    net = load_any(model, config, dt=dt, as_graph=as_graph)
    is_fxp = isinstance(net, (FxpNetwork, LifGraph))
    if is_fxp and ctx.get_parameter_source("profile") is not click.core.ParameterSource.DEFAULT:
        from s5rf_deploy.hw_profiles import load_profile

        if load_profile(profile) != net.profile:
            raise S5RFError(f"{model}: quantized for profile {net.profile.name!r}, which differs from --profile "
                            f"{profile}; quantize the float model for it")
    precision = precision or ("fixed" if is_fxp or backend == "stepper" else "float")
    if is_fxp and precision == "float":
        raise S5RFError(f"{model}: a fixed-point artifact has no float model; give the float model instead")
    is_rf = isinstance(net, S5RFNetwork)
    if precision == "fixed":
        if backend not in (None, "stepper", "lava"):
            raise S5RFError(f"--precision fixed runs on the stepper or lava backend, not {backend!r}")
        backend = backend or "stepper"
    backend = backend or ("torch" if is_rf else "nir")
    data = load_dataset(input_path).head(samples)
    data.check_width(net.input_dim, input_path)
    progress = progress_bar(ctx, "simulate")
    if precision == "fixed":
        data.check_spikes(input_path)
        if not is_fxp:
            from s5rf_deploy.graphs.quantize import lif_graph
            from s5rf_deploy.hw_profiles import load_profile
            from s5rf_deploy.s5rf.quantize import quantize

            prof = load_profile(profile)
            net, report = quantize(net, prof) if is_rf else lif_graph(net, prof, dt=dt)
            for problem in report.overflow:
                warn(ctx, f"{problem} (quantized on the fly for {profile}; `quantize` checks this)")
        run = simulate_fixed(net, data.inputs, record, batch_size, progress, backend)
    elif backend == "lava":
        from s5rf_deploy.hw_profiles import load_profile

        lava_float = simulate_lava_float if is_rf else partial(simulate_graph_lava_float, dt=dt)
        run = lava_float(net, load_profile(profile), data.inputs, record, progress)
    elif backend == "torch":
        if not is_rf:
            raise S5RFError(f"{model}: the torch backend runs S5-RF networks; use --backend nir for this graph")
        run = simulate_torch(net, data.inputs, record, batch_size, progress)
    elif backend == "stepper":
        raise S5RFError("the stepper backend runs fixed point (--precision fixed)")
    elif is_rf:
        run = simulate_network_as_graph(net, data.inputs, record, batch_size, progress)
    else:
        run = simulate_graph(net, data.inputs, record, batch_size, progress, dt)
    write_run(run, output)
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


@main.command("export-nir")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config JSON for a reference .eqx model.")
@click.option("--dt", type=POSITIVE, help="Sampling period stored in the graph (S5-RF default 1e-3).")
@click.option("--convention", type=click.Choice(["impulse", "zoh"]), default="impulse", show_default=True,
              help="How input samples enter the continuous-time graph.")
@output_options(".nir file to write.")
@click.pass_context
def export_nir(ctx: click.Context, model: str, config: str | None, dt: float | None, convention: str,
               output: str) -> None:
    """Export MODEL (checkpoint, reference .eqx or NIR) to a NIR graph of standard primitives.

    \b
    Example:
      s5rf-deploy export-nir model.s5rf -o model.nir
    """
    from s5rf_deploy.converters.nir.export import DEFAULT_DT, to_nir, write_nir
    from s5rf_deploy.graphs.network import to_nir as graph_to_nir
    from s5rf_deploy.s5rf.network import S5RFNetwork
    from s5rf_deploy.tasks.loading import load_network

    net = load_network(model, config, dt=dt)
    if isinstance(net, S5RFNetwork):
        graph = to_nir(net, dt or DEFAULT_DT, convention)
        what = f"{len(net.layers)} RF layers as nested graphs"
    else:
        graph = graph_to_nir(net)
        what = f"{len(net.nodes)} nodes"
    write_nir(graph, output)
    emit(ctx, {"output": output, "nodes": len(graph.nodes)}, f"wrote {output}: {what}")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--profile", default="loihi2", show_default=True, help="Hardware profile name or TOML path.")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config JSON for a reference .eqx model.")
@click.option("--calibrate", "calibrate", type=click.Path(dir_okay=False),
              help=".npz whose inputs choose the state scales (and measure agreement).")
@click.option("--calibration-samples", default=256, show_default=True, type=click.IntRange(min=1),
              help="Use at most this many samples.")
@click.option("--digits", default=2, show_default=True, type=click.IntRange(1, 4),
              help="Synapses per connection (each adds ~7 weight bits and the same synaptic memory).")
@click.option("--max-steps", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Sequence length the readout must hold without calibration (worst case).")
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@click.option("--allow-overflow", is_flag=True, help="Write the artifact even if it does not fit or overflows.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Also write the report as JSON.")
@output_options("Fixed-point .fxp to write.", also=("report_path",))
@click.pass_context
def quantize(ctx: click.Context, model: str, profile: str, config: str | None, calibrate: str | None,
             calibration_samples: int, digits: int, max_steps: int, dt: float | None, allow_overflow: bool,
             report_path: str | None, output: str) -> None:
    """Quantize MODEL for a hardware profile and write a fixed-point artifact.

    S5-RF models become RF compartments; standard NIR graphs (LIF, IF, CubaLIF,
    LI/I outputs) become Lava LIF + Dense stages.

    \b
    Examples:
      s5rf-deploy quantize model.s5rf --profile loihi2 --calibrate train.npz -o model.fxp
      s5rf-deploy quantize braille.nir --dt 1e-4 --profile loihi2 -o braille.fxp
    """
    from s5rf_deploy.atomic import atomic_path
    from s5rf_deploy.dataset import load_dataset
    from s5rf_deploy.graphs.artifact import save_lif_graph
    from s5rf_deploy.graphs.quantize import graph_agreement, lif_graph
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.s5rf.artifact import save_fxp
    from s5rf_deploy.s5rf.network import S5RFNetwork
    from s5rf_deploy.s5rf.quantize import check_fits
    from s5rf_deploy.s5rf.quantize import quantize as run_quantize
    from s5rf_deploy.tasks.loading import load_network
    from s5rf_deploy.tasks.report_text import graph_quantization_table, quantization_table

    prof = load_profile(profile)
    net = load_network(model, config, dt=dt)
    calib = None
    if calibrate:
        data = load_dataset(calibrate).head(calibration_samples)
        data.check_width(net.input_dim, calibrate)
        data.check_spikes(calibrate)
        calib = data.inputs
    if isinstance(net, S5RFNetwork):
        fxp, report = run_quantize(net, prof, calib, max_steps=max_steps, digits=digits)
        check_fits(report, allow_overflow)
        save_fxp(fxp, output)
        table = quantization_table(report, prof.name)
    else:
        fxp, report = lif_graph(net, prof, "fixed", dt, digits, max_steps)
        if calib is not None:
            report.calibration = graph_agreement(net, fxp, calib)
        check_fits(report, allow_overflow)
        save_lif_graph(fxp, output)
        table = graph_quantization_table(report, prof.name)
    payload = {"output": output, "profile": prof.name, "layers": report.layers, "readout": report.readout,
               "resources": report.resources, "calibration": report.calibration, "overflow": report.overflow}
    if report_path:
        with atomic_path(report_path) as tmp:
            tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    emit(ctx, payload, table + f"\nwrote {output}")


@main.command()
@click.option("-o", "--output", default="s5rf-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's files.")
@click.option("--lava-samples", default=5, show_default=True, type=click.IntRange(1, 449),
              help="Test digits to run on Lava (about 1 s each).")
@click.pass_context
def demo(ctx: click.Context, output: str, lava_samples: int) -> None:
    """Run the whole pipeline on the embedded digits model and summarize it.

    Float model, NIR export and exact re-import, quantization for loihi2, the
    fixed-point stepper on the whole test split, and Lava fixed point on a few
    digits checked bit for bit against the stepper (exit 1 if they differ).
    """
    from s5rf_deploy.cli.app import CheckFailed
    from s5rf_deploy.demo.run import run_demo

    quiet = ctx.obj["quiet"] or ctx.obj["json"]
    result = run_demo(Path(output), lava_samples, lambda line: None if quiet else click.echo(line))
    if ctx.obj["json"]:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    elif not quiet:
        click.echo(f"done in {result['seconds']:.1f} s; files in {output}/")
    if not result["lava"]["bit_exact"]:
        raise CheckFailed("Lava's fixed-point run differs from the stepper")


# Commands that live in their own modules (each imports its heavy dependencies lazily).
from s5rf_deploy.cli.netx import import_netx  # noqa: E402

main.add_command(import_netx)
from s5rf_deploy.cli.netx import export_netx  # noqa: E402

main.add_command(export_netx)
from s5rf_deploy.cli.inspect import inspect_model  # noqa: E402

main.add_command(inspect_model)
from s5rf_deploy.cli.convert import convert  # noqa: E402

main.add_command(convert)
from s5rf_deploy.cli.compare import compare  # noqa: E402

main.add_command(compare)
from s5rf_deploy.cli.export_onnx import export_onnx  # noqa: E402

main.add_command(export_onnx)
