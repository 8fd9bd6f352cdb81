"""Helpers shared by the CLI's commands: output, progress bars, small parsers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def int_list(text: str) -> tuple[int, ...]:
    """Parse ``1,2,3``."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


def emit(ctx: click.Context, payload: dict, text: str) -> None:
    """Print ``text`` (or ``payload`` as JSON with --json); nothing with --quiet."""
    if ctx.obj["json"]:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    elif not ctx.obj["quiet"]:
        click.echo(text)


def progress_bar(ctx: click.Context, label: str):
    """A wrapper that shows a progress bar over an iterable on a terminal, unless quiet or --json."""
    from tqdm import tqdm

    silent = ctx.obj["quiet"] or ctx.obj["json"]
    return lambda it: tqdm(it, desc=label, leave=False, disable=True if silent else None, file=sys.stderr)


def read_json(path: str) -> dict:
    """Read a JSON file; unreadable or invalid files are a FormatError."""
    from s5rf_deploy.errors import FormatError

    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: invalid JSON ({exc})") from None
