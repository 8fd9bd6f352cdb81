"""``s5rf-deploy export-nir``: a model as a NIR graph of standard primitives."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, POSITIVE, emit, output_options
from s5rf_deploy.cli.graph_options import reading_options


@click.command("export-nir")
@click.argument("model", type=INPUT)
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--dt", type=POSITIVE, help="Sampling period stored in the graph (S5-RF default 1e-3).")
@click.option("--convention", type=click.Choice(["impulse", "zoh"]), default="impulse", show_default=True,
              help="How input samples enter the continuous-time graph.")
@reading_options(convention=False)
@output_options(".nir file to write.")
@click.pass_context
def export_nir(ctx: click.Context, model: str, config: str | None, dt: float | None, convention: str,
               reading: dict, output: str) -> None:
    """Export MODEL (checkpoint, reference .eqx or NIR) to a NIR graph of standard primitives.

    \b
    Example:
      s5rf-deploy export-nir model.s5rf -o model.nir
    """
    from s5rf_deploy.converters.nir.export import write_nir
    from s5rf_deploy.tasks.convert import nir_of
    from s5rf_deploy.tasks.loading import load_network

    graph, what = nir_of(load_network(model, config, dt=dt, **reading), dt, convention)
    write_nir(graph, output)
    emit(ctx, {"output": output, "nodes": len(graph.nodes)}, f"wrote {output}: {what}")
