"""``--semantics`` and ``--convention``: how a command reads a NIR graph from another framework; and the
options of the commands that run a model over a dataset (compare, sweep)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

# The names of s5rf_deploy.graphs.frameworks.SEMANTICS (kept here so that --help imports nothing heavy; a test
# checks they agree).
SEMANTICS_NAMES = ("nir", "snntorch", "snntorch-zero", "norse", "sinabs", "sinabs-single", "rockpool",
                   "spyx")
CONVENTIONS = ("impulse", "zoh")


def reading_options(convention: bool = True) -> Callable[[Callable], Callable]:
    """Decorator: ``--semantics`` (and, with ``convention``, ``--convention``) collected into one ``reading``
    keyword argument, a dict to pass on to the loaders (``load_any(..., **reading)``)."""
    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapped(*args: Any, semantics: str | None, **kwargs: Any) -> Any:
            reading = {"semantics": semantics}
            if convention:
                reading["convention"] = kwargs.pop("convention")
            return command(*args, reading=reading, **kwargs)

        if convention:
            wrapped = click.option(
                "--convention", type=click.Choice(CONVENTIONS), default=None,
                help="Input convention of a NIR graph read by its ODEs (--semantics nir): impulse (a sample is an "
                     "impulse of area value * dt) or zoh (held over the step).  Default: the file's, else impulse."
            )(wrapped)
        return click.option(
            "--semantics", type=click.Choice(SEMANTICS_NAMES), default=None,
            help="How the neurons of a NIR graph compute: nir (its ODEs, solved exactly) or what the framework that "
                 "exported it computes (its step, decay, reset, spikes).  Default: what the file's metadata names, "
                 "else nir, with a warning where its parameters look like a framework's export (docs/interop.md)."
        )(wrapped)
    return decorate


def model_on_data_options(labels_help: str) -> Callable[[Callable], Callable]:
    """Decorator: the MODEL argument, ``--input``, the binning options of event files, ``--labels``
    (``labels_help``), ``--config``, ``--dt``, :func:`reading_options`, ``--calibrate``, ``--samples`` and the
    report folder (``-o``, ``--force``), for a command that runs MODEL over a dataset and writes a report."""
    from s5rf_deploy.cli.common import INPUT, POSITIVE, binning_options

    def decorate(command: Callable) -> Callable:
        for option in reversed((
            click.argument("model", type=INPUT),
            click.option("--input", "input_path", required=True, type=INPUT,
                         help=".npz with inputs (N,T,H) (0/1 spikes, or analog values for S5-RF models calibrated "
                              "on them) and optional labels (N,), or an event file (HDF5 in the SHD/SSC layout, "
                              "sparse .npz) binned as --steps/--pool say."),
            binning_options,
            click.option("--labels", is_flag=True, help=labels_help),
            click.option("--config", "config", type=INPUT, help="Config JSON for a reference .eqx model."),
            click.option("--dt", type=POSITIVE, help="Sampling period for NIR graphs without dt metadata."),
            reading_options(),
            click.option("--calibrate", type=INPUT,
                         help="Dataset file (as --input) whose inputs choose the scales when quantizing now "
                              "(default: 256 samples of --input, drawn with a fixed seed)."),
            click.option("--samples", type=click.IntRange(min=1), help="Only the first N samples."),
            click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
                         help="Report folder to write."),
            click.option("--force", is_flag=True, help="Replace an existing report folder."),
        )):
            command = option(command)
        return command
    return decorate
