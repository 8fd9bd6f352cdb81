"""Large batches on two cores: the two halves of a batch at once, one in a helper thread (the compiled kernels
and BLAS release the GIL, so the halves run in parallel)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

SPLIT_SIZE = 1 << 18  # work on arrays of at least this many elements (256 x 1024) takes two cores
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_HELPER: list[ThreadPoolExecutor] = []  # the one helper thread, made on first use
os.register_at_fork(after_in_child=_HELPER.clear)  # a forked child (Lava's processes) inherits no threads


def in_halves(work: Callable[[slice], T], rows: int, size: int) -> list[T]:
    """``work(part)`` on the two halves of ``rows`` samples at once (``part``: a slice of the samples) when the
    arrays involved hold ``size`` >= :data:`SPLIT_SIZE` elements and the process has two cores, else
    ``work(slice(None))``; returns the results."""
    half = rows // 2
    if size < SPLIT_SIZE or half == 0 or CORES < 2:
        return [work(slice(None))]
    if not _HELPER:
        _HELPER.append(ThreadPoolExecutor(1, thread_name_prefix="s5rf-half"))
    helper = _HELPER[0].submit(work, slice(0, half))
    return [work(slice(half, None)), helper.result()]
