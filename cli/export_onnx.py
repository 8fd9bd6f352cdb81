"""``s5rf-deploy export-onnx``: the float network as an ONNX graph (sequence or streaming form)."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, emit, output_options


@click.command("export-onnx")
@click.argument("model", type=INPUT)
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--form", type=click.Choice(["sequence", "streaming"]), default="sequence", show_default=True,
              help="sequence: (batch, T, H) -> log-probs and spikes; streaming: one step with explicit states.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True,
              help="float32 for onnxruntime and edge runtimes (spikes can flip near threshold); float64 matches "
                   "PyTorch to ~1e-13.")
@output_options(".onnx file to write.")
@click.pass_context
def export_onnx(ctx: click.Context, model: str, config: str | None, form: str, dtype: str, output: str) -> None:
    """Export the float S5-RF MODEL to ONNX (checked with onnx.checker).

    \b
    Examples:
      s5rf-deploy export-onnx model.s5rf -o model.onnx
      s5rf-deploy export-onnx model.s5rf --form streaming --dtype float64 -o step.onnx
    """
    from s5rf_deploy.converters.onnx import export_onnx as run_export
    from s5rf_deploy.errors import S5RFError
    from s5rf_deploy.tasks.families import S5RF, family_of
    from s5rf_deploy.tasks.loading import load_network

    net = load_network(model, config)
    if family_of(net) is not S5RF:
        raise S5RFError(f"{model}: ONNX export is for S5-RF networks (standard NIR graphs: use export-nir)")
    run_export(net, output, form, dtype)
    emit(ctx, {"output": output, "form": form, "dtype": dtype},
         f"wrote {output}: {form} form, {dtype}, {len(net.layers)} RF layers, {net.input_dim} inputs, "
         f"{net.num_classes} classes")
