"""Entry point of ``s5rf-deploy``: the command group and its global options; each command lives in its own module."""

from __future__ import annotations

import logging
import sys

import click

from s5rf_deploy.cli.app import Group
from s5rf_deploy.cli.common import one_line_warnings
from s5rf_deploy.cli.compare import compare
from s5rf_deploy.cli.convert import convert
from s5rf_deploy.cli.demo import demo
from s5rf_deploy.cli.export_nir import export_nir
from s5rf_deploy.cli.export_onnx import export_onnx
from s5rf_deploy.cli.import_reference import import_reference
from s5rf_deploy.cli.inspect import inspect_model
from s5rf_deploy.cli.netx import export_netx, import_netx
from s5rf_deploy.cli.quantize import quantize
from s5rf_deploy.cli.simulate import simulate
from s5rf_deploy.cli.sweep import sweep
from s5rf_deploy.cli.train import train
from s5rf_deploy.timing import NOTICE

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
  s5rf-deploy sweep model.s5rf --input test.npz --labels --digits 1,2,3 --workers 2 -o sweep
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
    _log_to_stderr(verbose and not quiet, not (quiet or as_json))
    ctx.with_resource(one_line_warnings(ctx))


def _log_to_stderr(stages: bool, notices: bool) -> None:
    """The ``s5rf_deploy`` logger on this invocation's stderr: each stage and its time (``stages``, with the
    milliseconds since start), announcements of slow stages (``notices``), else nothing below warnings."""
    logger = logging.getLogger("s5rf_deploy")
    logger.handlers.clear()  # one handler per invocation, on this invocation's stderr
    logger.setLevel(logging.INFO if stages else NOTICE if notices else logging.WARNING)
    if stages or notices:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(relativeCreated)6.0f ms] %(message)s" if stages else "%(message)s"))
        logger.addHandler(handler)


for command in (import_reference, train, simulate, export_nir, quantize, demo, import_netx, export_netx, inspect_model,
                convert, compare, sweep, export_onnx):
    main.add_command(command)
