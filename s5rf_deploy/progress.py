"""Progress of long runs: the runners are handed a callable told how many more samples are done.

A runner takes ``progress: Progress | None`` and calls ``progress(n)`` each time
``n`` more samples have finished (in any order, from any thread: a sharded run
reports each shard as it completes).  The CLI's implementation
(:class:`s5rf_deploy.cli.common.ProgressBar`) draws it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Progress = Callable[[int], None]


def batches(n: int, size: int, progress: Progress | None = None) -> Iterator[slice]:
    """Slices of at most ``size`` of ``range(n)``, in order; ``progress`` is told each batch's samples once the
    loop body has finished with it."""
    for start in range(0, n, size):
        stop = min(start + size, n)
        yield slice(start, stop)
        if progress:
            progress(stop - start)
