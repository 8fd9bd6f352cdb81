"""``s5rf-deploy inspect``: what a model file holds and what it costs on a profile."""

from __future__ import annotations

import click

from s5rf_deploy.cli.common import INPUT, POSITIVE, check_output, emit
from s5rf_deploy.cli.graph_options import reading_options


@click.command("inspect")
@click.argument("model", type=INPUT)
@click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model.")
@click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata.")
@reading_options()
@click.option("--profile", default="loihi2", show_default=True,
              help="Hardware profile for the resource estimate (name or TOML path); 'none' skips it.")
@click.option("--poles", "poles_path", type=click.Path(dir_okay=False), help="Also plot the pole spectrum (PNG).")
@click.option("--force", is_flag=True, help="Overwrite an existing --poles file.")
@click.pass_context
def inspect_model(ctx: click.Context, model: str, config: str | None, dt: float | None, reading: dict, profile: str,
                  poles_path: str | None, force: bool) -> None:
    """Summarize MODEL: architecture, parameter counts, poles per layer, resources on a profile.

    MODEL is a checkpoint, a reference .eqx (with --config), a .nir graph or a
    fixed-point .fxp artifact.

    \b
    Examples:
      s5rf-deploy inspect model.s5rf
      s5rf-deploy inspect model.s5rf --profile loihi2-wide --poles poles.png
      s5rf-deploy --json inspect braille.nir --dt 1e-4
    """
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.inspect import inspect, plot_poles, summary_text
    from s5rf_deploy.tasks.loading import load_any

    if poles_path:
        check_output(poles_path, force)
    net = load_any(model, config, dt=dt, **reading)
    summary = inspect(net, None if profile == "none" else load_profile(profile))
    text = summary_text(summary)
    if poles_path:
        plot_poles(net, poles_path)
        summary["poles_plot"] = poles_path
        text += f"\nwrote {poles_path}"
    emit(ctx, summary, text)
