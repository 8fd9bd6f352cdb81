"""``s5rf-deploy convert``: the one conversion command; the specific commands remain as aliases."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, POSITIVE, emit, output_options
from s5rf_deploy.cli.graph_options import reading_options


@click.command("convert")
@click.argument("source", type=INPUT)
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--profile", default="loihi2", show_default=True, help="Hardware profile for .fxp targets.")
@click.option("--dt", type=POSITIVE, help="Sampling period (NIR graphs without dt metadata; NIR export).")
@click.option("--convention", type=click.Choice(["impulse", "zoh"]), default="impulse", show_default=True,
              help="Input convention of an exported S5-RF NIR graph.")
@reading_options(convention=False)
@click.option("--digits", default=2, show_default=True, type=click.IntRange(1, 4), help="Weight digits for .fxp.")
@click.option("--allow-overflow", is_flag=True, help="Write a .fxp even if it does not fit or overflows.")
@output_options("Target file; its suffix picks the conversion (.s5rf, .nir, .fxp, .net, .onnx).")
@click.pass_context
def convert(ctx: click.Context, source: str, output: str, config: str | None, profile: str, dt: float | None,
            convention: str, reading: dict, digits: int, allow_overflow: bool) -> None:
    """Convert SOURCE (checkpoint, reference .eqx, .nir, .fxp, netx .net) to the format of OUTPUT's suffix.

    \b
    Examples:
      s5rf-deploy convert shd.eqx --config shd.json -o shd.s5rf
      s5rf-deploy convert model.s5rf -o model.nir
      s5rf-deploy convert model.nir -o model.fxp --profile loihi2
      s5rf-deploy convert braille.nir --dt 1e-4 -o braille.fxp
      s5rf-deploy convert slayer.net -o slayer.nir
    """
    from s5rf_deploy.tasks.convert import ConvertOptions
    from s5rf_deploy.tasks.convert import convert as run_convert

    what = run_convert(source, output, config, ConvertOptions(profile, dt, convention, digits, allow_overflow,
                                                                             reading["semantics"]))
    emit(ctx, {"input": source, "output": output, "what": what}, f"wrote {output}: {what}")
