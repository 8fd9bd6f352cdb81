"""``--workers`` and ``--scheduler``: a command's samples in shards on Dask workers (docs/scale-out.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from s5rf_deploy.errors import S5RFError


def cluster_options(command: Callable) -> Callable:
    """Decorator: ``--workers N`` and ``--scheduler ADDRESS``, passed on as ``workers`` (None: 1) and
    ``scheduler``; giving both is refused before the command runs.  Put it above ``@click.pass_context``."""
    @functools.wraps(command)
    def checked(*args: Any, workers: int | None, scheduler: str | None, **kwargs: Any) -> Any:
        if workers is not None and scheduler is not None:
            raise S5RFError("give --workers (a local Dask cluster) or --scheduler (an existing one), not both")
        return command(*args, workers=workers or 1, scheduler=scheduler, **kwargs)

    checked = click.option("--scheduler", metavar="ADDRESS",
                           help="Shard the samples over the workers of this Dask scheduler (tcp://host:8786); they "
                                "need s5rf-deploy installed.")(checked)
    return click.option("--workers", type=click.IntRange(min=1),
                        help="Shard the samples over a local Dask cluster of N worker processes (default 1: run "
                             "here, no Dask).")(checked)
