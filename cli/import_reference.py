"""``s5rf-deploy import-reference``: a reference Equinox checkpoint to a native one."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, emit, output_options


@click.command("import-reference")
@click.argument("model", type=INPUT)
@click.option("--config", "config", required=True, type=INPUT,
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
    from s5rf_deploy.timing import stage

    with stage(f"load {model}"):
        net = load_reference(model, config)
    save_checkpoint(net, output, {"source": str(model), "converter": "equinox"})
    cfg = net.config
    emit(ctx, {"output": output, "config": cfg.to_dict()},
            f"wrote {output}: {cfg.num_layers} RF layers {list(cfg.num_neurons)}, "
            f"{cfg.input_dim} inputs, {cfg.output_dim} classes")
