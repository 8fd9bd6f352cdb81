"""``s5rf-deploy train``: train an S5-RF classifier on a dataset file."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import (
    INPUT,
    POSITIVE,
    FiniteFloat,
    emit,
    int_list,
    output_options,
    positive_range,
    progress_bar,
    read_json,
    warn,
)


@click.command("train")
@click.argument("data", type=INPUT)
@output_options("Checkpoint to write.")
@click.option("--config", "config_path", type=INPUT,
              help="Architecture JSON (our keys or the reference's); overrides the options below.")
@click.option("--neurons", default="128,128", show_default=True, help="Neurons per RF layer.")
@click.option("--blocks", default="16,16", show_default=True, help="HiPPO blocks per RF layer.")
@click.option("--discretization", type=click.Choice(["dirac", "zoh", "bilinear"]), default="dirac",
              show_default=True, help="Rule of layer 0 (later layers use dirac).")
@click.option("--keep-imag/--no-keep-imag", default=True, show_default=True,
              help="Feed the complex input current (else only its real part).")
@click.option("--spike", type=click.Choice(["cartesian", "polar"]), default="cartesian", show_default=True,
              help="Spike when Re x > 1 (cartesian) or |x| > 1 (polar).")
@click.option("--spike-bits", default=1, show_default=True, type=click.IntRange(min=1),
              help="Multi-bit outputs: each neuron sends how many thresholds it exceeds, up to 2^K - 1 "
                   "(1: binary spikes; at most 8).")
@click.option("--skip/--no-skip", default=True, show_default=True, help="Skip connections on layers 1..L-2.")
@click.option("--eta", default="0.004,0.1", show_default=True, callback=positive_range,
              help="Range of the initial steps Delta.")
@click.option("--classes", type=click.IntRange(min=1), help="Number of classes (default: max label + 1).")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1), help="Passes over the data.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="Samples per optimizer step.")
@click.option("--lr", default=4e-3, show_default=True, type=POSITIVE, help="Learning rate of the weights.")
@click.option("--lr-ssm", default=2e-3, show_default=True, type=POSITIVE,
              help="Learning rate of eigenvalues and steps.")
@click.option("--weight-decay", default=1e-4, show_default=True, type=FiniteFloat(min=0),
              help="AdamW weight decay of the weights.")
@click.option("--dropout", default=0.1, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Dropout rate in the RF layers (training only).")
@click.option("--val-fraction", default=0.1, show_default=True, help="Held-out share for validation.")
@click.option("--seed", default=0, show_default=True, help="Seed of the initialization, split and batch order.")
@click.pass_context
def train(ctx: click.Context, data: str, output: str, config_path: str | None, neurons: str, blocks: str,
          discretization: str, keep_imag: bool, spike: str, spike_bits: int, skip: bool, eta: tuple[float, float],
          classes: int | None, epochs: int, batch_size: int, lr: float, lr_ssm: float, weight_decay: float,
          dropout: float, val_fraction: float, seed: int) -> None:
    """Train an S5-RF classifier on DATA (.npz with inputs (N,T,H) and labels (N,)).

    \b
    Example:
      s5rf-deploy train shd_train.npz --neurons 128,128 --blocks 32,32 --epochs 20 -o shd.s5rf
    """
    import numpy as np

    from s5rf_deploy.dataset import Dataset, load_dataset
    from s5rf_deploy.errors import S5RFError

    if not 0 <= val_fraction < 1:  # options and files are checked before the heavy imports below
        raise S5RFError("--val-fraction must be in [0, 1)")
    dataset = load_dataset(data)
    if dataset.labels is None:
        raise S5RFError(f"{data}: training needs a 'labels' array")

    from s5rf_deploy.s5rf.checkpoint import save_checkpoint
    from s5rf_deploy.s5rf.config import ModelConfig
    from s5rf_deploy.s5rf.model import S5RFModel
    from s5rf_deploy.s5rf.training import TrainSettings
    from s5rf_deploy.s5rf.training import train as run_training

    if config_path:
        config = ModelConfig.from_dict(read_json(config_path))
    else:
        config = ModelConfig(
            input_dim=dataset.inputs.shape[2], output_dim=classes or int(dataset.labels.max()) + 1,
            num_neurons=int_list(neurons), num_blocks=int_list(blocks), discretization=discretization,
            keep_imag=keep_imag, spike=spike, spike_bits=spike_bits, apply_skip=skip, eta_min=eta[0], eta_max=eta[1],
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

    with progress_bar(ctx, "train", epochs * len(fit)) as progress:
        def on_epoch(epoch: int, history) -> None:
            if not (ctx.obj["quiet"] or ctx.obj["json"]):
                rates = "/".join(f"{r:.3f}" for r in history.rates[-1])
                val_text = f", validation accuracy {history.val_accuracy[-1]:.4f}" if history.val_accuracy else ""
                progress.echo(f"epoch {epoch + 1}/{epochs}: loss {history.loss[-1]:.4f}, spike rates {rates}{val_text}")

        history = run_training(model, fit, val, settings, on_epoch, progress)
    for problem in history.problems():
        warn(ctx, problem)
    save_checkpoint(model, output, {"source": str(data), "epochs": epochs, "seed": seed})
    final = history.val_accuracy[-1] if history.val_accuracy else None
    emit(ctx, {"output": output, "loss": history.loss, "val_accuracy": history.val_accuracy, "rates": history.rates},
            f"wrote {output}" + (f" (validation accuracy {final:.4f})" if final is not None else ""))
