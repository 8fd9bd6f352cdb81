"""``s5rf-deploy demo``: the whole pipeline on the embedded digits model."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("demo")
@click.option("-o", "--output", default="s5rf-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's files and README.md's workspace.")
@click.option("--lava-samples", default=5, show_default=True, type=click.IntRange(1, 449),
              help="Test digits to run on Lava (about 1 s each).")
@click.pass_context
def demo(ctx: click.Context, output: str, lava_samples: int) -> None:
    """Run the whole pipeline on the embedded digits model and summarize it.

    Float model, NIR export and exact re-import, quantization for loihi2, the
    fixed-point stepper on the whole test split, and Lava fixed point on a few
    digits checked bit for bit against the stepper (exit 1 if they differ).
    The folder also receives the files README.md's examples read (the model as
    demo.s5rf, train.npz, test.npz, NIR graphs and inputs, a reference
    checkpoint, a toy training task, a netx network); the README continues there.
    """
    from s5rf_deploy.cli.app import CheckFailed
    from s5rf_deploy.demo.run import run_demo
    from s5rf_deploy.demo.workspace import NEXT_COMMANDS

    quiet = ctx.obj["quiet"] or ctx.obj["json"]
    result = run_demo(Path(output), lava_samples, lambda line: None if quiet else click.echo(line))
    if ctx.obj["json"]:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    elif not quiet:
        click.echo(f"done in {result['seconds']:.1f} s; files in {output}/")
        click.echo(f"next, in {output}/ with the environment activated (README.md continues there):")
        for command in NEXT_COMMANDS:
            click.echo(f"  {command}")
    if not result["lava"]["bit_exact"]:
        raise CheckFailed("Lava's fixed-point run differs from the stepper")
