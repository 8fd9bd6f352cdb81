"""Helpers shared by the CLI's commands: output, progress in samples, small parsers."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from s5rf_deploy.errors import FormatError, S5RFError


def int_list(text: str) -> tuple[int, ...]:
    """Parse ``1,2,3``."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


def positive_range(_ctx: click.Context, _param: click.Parameter, text: str) -> tuple[float, float]:
    """Option callback: parse ``low,high`` with ``0 < low <= high < inf``."""
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected two comma-separated numbers low,high, got {text!r}") from None
    if not 0 < low <= high < math.inf:
        raise click.BadParameter(f"need 0 < low <= high < inf, got {text!r}")
    return low, high


class FiniteFloat(click.FloatRange):
    """A float option in a range that also refuses NaN and infinities."""

    name = "finite float"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


POSITIVE = FiniteFloat(min=0, min_open=True)


class InputFile(click.Path):
    """An input file that must exist: a missing one is refused while the arguments are parsed, before any heavy
    import or loading (``PATH: no such file``, exit 2)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        path = super().convert(value, param, ctx)
        if not Path(path).is_file():
            raise S5RFError(f"{path}: no such file")
        return path


INPUT = InputFile()


def check_output(path: str, force: bool) -> None:
    """Refuse an output that exists (unless ``force``) or whose directory cannot take it, before any work."""
    target = Path(path)
    directory = target.parent
    if target.exists() and not force:
        raise S5RFError(f"{target}: already exists (use --force to overwrite)")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise S5RFError(f"{target}: output directory {directory} {what}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise S5RFError(f"{target}: output directory {directory} is not writable")


def binning_options(command: Callable) -> Callable:
    """Decorator: ``--steps``, ``--max-time`` and ``--pool``, how event files become inputs, collected into one
    ``binning`` keyword argument (:class:`~s5rf_deploy.samples.Binning`)."""
    @functools.wraps(command)
    def wrapped(*args: Any, steps: int | None, max_time: float | None, pool: int, **kwargs: Any) -> Any:
        from s5rf_deploy.samples import Binning

        return command(*args, binning=Binning(steps, max_time, pool), **kwargs)

    for option in (
        click.option("--pool", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Event files: sum groups of K neighbouring channels (700 -> 140 with 5)."),
        click.option("--max-time", type=POSITIVE,
                     help="HDF5 event files: seconds the --steps bins cover (default: the longest sample's last "
                          "event); later events are dropped."),
        click.option("--steps", type=click.IntRange(min=1),
                     help="Event files: time steps per sample (HDF5: required; sparse .npz: default last step + 1). "
                          "Counts per bin are clipped to 0/1 spikes."),
    ):
        wrapped = option(wrapped)
    return wrapped


def output_options(description: str, also: tuple[str, ...] = (), dir_okay: bool = False
                   ) -> Callable[[Callable], Callable]:
    """Decorator: ``-o/--output`` (required; a folder too with ``dir_okay``) and ``--force``; before the command
    runs, :func:`check_output` checks the output and the optional output paths of the parameters named in
    ``also``.  Put it above ``@click.pass_context``."""
    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def checked(*args: Any, output: str, force: bool, **kwargs: Any) -> Any:
            for path in (output, *(kwargs[name] for name in also)):
                if path is not None:
                    check_output(path, force)
            return command(*args, output=output, **kwargs)

        checked = click.option("--force", is_flag=True, help="Overwrite existing output files.")(checked)
        return click.option("-o", "--output", required=True, type=click.Path(dir_okay=dir_okay),
                            help=description)(checked)
    return decorate


def warn(ctx: click.Context, message: str) -> None:
    """A one-line ``warning: ...`` on stderr (none with --quiet); with --json it joins the payload's
    ``warnings`` instead."""
    if ctx.obj["json"]:
        ctx.obj.setdefault("warnings", []).append(message)
    elif not ctx.obj["quiet"]:
        click.echo(f"warning: {message}", err=True)


@contextlib.contextmanager
def one_line_warnings(ctx: click.Context) -> Iterator[None]:
    """Show Python warnings raised inside as :func:`warn` lines instead of file/line/source blocks
    (deprecation warnings, meant for developers, keep their usual handling)."""
    with warnings.catch_warnings():
        usual = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
                usual(message, category, *args, **kwargs)
            else:
                warn(ctx, str(message).splitlines()[0])

        warnings.showwarning = show
        yield


def emit(ctx: click.Context, payload: dict, text: str) -> None:
    """Print ``text`` (or ``payload`` as JSON with --json); nothing with --quiet."""
    if ctx.obj["json"]:
        warnings_seen = ctx.obj.get("warnings", [])
        click.echo(json.dumps(payload | ({"warnings": warnings_seen} if warnings_seen else {}), indent=2,
                              sort_keys=True))
    elif not ctx.obj["quiet"]:
        click.echo(text)


PROGRESS_AFTER_S = 2.0  # runs shorter than this show no progress at all
PROGRESS_EVERY_S = 5.0  # plain progress lines (stderr not a terminal): at most one per this many seconds
PROGRESS_LINE = re.compile(r"^[\w -]+: \d+/\d+ samples \(\d+ %\), \d+\.\d s elapsed(, ETA \d+\.\d s)?$")


class ProgressBar:
    """Samples done out of ``total``, as the runners report them (:mod:`s5rf_deploy.progress`).

    A context manager whose value is called with the number of samples just
    finished (``progress(n)``, thread-safe).  On a terminal it is a tqdm bar
    (shown after :data:`PROGRESS_AFTER_S`, kept when done); otherwise a plain
    line on stderr, ``label: done/total samples (p %), s elapsed, ETA s``, at most
    every :data:`PROGRESS_EVERY_S` and a final one for runs that took
    :data:`PROGRESS_AFTER_S` or more (:data:`PROGRESS_LINE` matches both).
    Silent when not ``shown``.
    """

    def __init__(self, label: str, total: int, shown: bool = True, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.label, self.total, self.done, self._clock = label, total, 0, clock
        self._started = self._last_line = clock()
        self._lock = threading.Lock()
        self._bar = None
        self._shown = shown
        if shown and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="sample", delay=PROGRESS_AFTER_S, file=sys.stderr)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type | None, *_: object) -> None:
        if self._bar is not None:
            self._bar.close()
        elif exc_type is None and self._shown and self._clock() - self._started >= PROGRESS_AFTER_S:
            click.echo(self._line(), err=True)

    def __call__(self, samples: int) -> None:
        with self._lock:
            self.done += samples
            if self._bar is not None:
                self._bar.update(samples)
                return
            now = self._clock()
            if self._shown and now - self._last_line >= PROGRESS_EVERY_S and self.done < self.total:
                self._last_line = now
                click.echo(self._line(), err=True)

    def echo(self, line: str) -> None:
        """Print ``line`` on stderr above the bar."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def _line(self) -> str:
        elapsed = self._clock() - self._started
        eta = f", ETA {elapsed * (self.total - self.done) / self.done:.1f} s" if 0 < self.done < self.total else ""
        return (f"{self.label}: {self.done}/{self.total} samples ({100 * self.done // max(self.total, 1)} %), "
                f"{elapsed:.1f} s elapsed{eta}")


def progress_bar(ctx: click.Context, label: str, total: int) -> ProgressBar:
    """The progress of a run of ``total`` samples (nothing shown with --quiet or --json)."""
    return ProgressBar(label, total, shown=not (ctx.obj["quiet"] or ctx.obj["json"]))


def read_json(path: str) -> dict:
    """Read a JSON file; unreadable or invalid files are a FormatError."""

    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: invalid JSON ({exc})") from None


DEVICE_HELP = ("Where the fixed-point stepper runs, with the same integers: cpu (numpy and compiled kernels); cuda or "
               "cuda:N (torch on that GPU); torch-cpu (the GPU's torch code on the CPU: checks that path without a "
               "GPU).  With --workers/--scheduler each worker runs it on its own device of that name.")


def device_option(command: Callable) -> Callable:
    """Decorator: ``--device`` (the stepper's, :mod:`s5rf_deploy.fixed.device`), passed on as ``device``; an unknown
    name or a CUDA device this machine lacks is refused before the command runs.  Put it above
    ``@click.pass_context``."""
    @functools.wraps(command)
    def checked(*args: Any, device: str, **kwargs: Any) -> Any:
        if device != "cpu":
            from s5rf_deploy.fixed.device import torch_device

            torch_device(device)
        return command(*args, device=device, **kwargs)

    return click.option("--device", default="cpu", show_default=True, metavar="cpu|torch-cpu|cuda[:N]",
                        help=DEVICE_HELP)(checked)
