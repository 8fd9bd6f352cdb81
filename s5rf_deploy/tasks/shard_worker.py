"""What runs inside a Dask worker process for a sharded run (``tasks/shards.py``): shards on a built runner.

A worker keeps the runner of the job it last ran, keyed by the job's content
hash: it builds (for Lava: compiles) a network once and runs all its shards
on it, with Lava's runtime kept up between shards
(:func:`~s5rf_deploy.fixed.lava_runtime.keep_runtimes_up`).  Shards run one at a
time per worker process, whatever its thread count: a runner, like a Lava
graph, serves one run at a time.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from distributed import WorkerPlugin, get_worker

from s5rf_deploy.fixed.lava_runtime import keep_runtimes_up, stop_kept_runtimes, terminate_lava_processes
from s5rf_deploy.samples import Window, window_inputs
from s5rf_deploy.tasks.shards import run_part

_lock = threading.Lock()
_built: tuple[str, Callable] | None = None  # (job digest, runner) of this worker process


def hold(job: Any) -> Any:
    """The job itself: a task whose result every shard reads, so a worker receives the job once (and the
    scheduler can compute it again if the worker holding it dies)."""
    return job


def _runner(digest: str, job: Any) -> Callable:
    global _built
    if _built is None or _built[0] != digest:
        _built = None
        stop_kept_runtimes()
        keep_runtimes_up()
        _built = (digest, job.build())
    return _built[1]


def run_shard(digest: str, job: Any, start: int, inputs: np.ndarray | Window) -> tuple[Any, str, float]:
    """The job's part for the samples ``start, start + 1, ...`` (``inputs``, or an event file's window read
    here), the worker's address and the seconds taken (with the build, when this worker had not built the job
    yet).  A :class:`SampleError` names the sample by its index in the whole run."""
    global _built
    with _lock:
        started = time.perf_counter()
        try:
            part = run_part(_runner(digest, job), start, window_inputs(inputs))
        except BaseException:
            _built = None
            stop_kept_runtimes()
            raise
        return part, get_worker().address, time.perf_counter() - started


def release() -> None:
    """Forget this worker's runner and stop the Lava runtimes it kept up."""
    global _built
    with _lock:
        _built = None
        stop_kept_runtimes()


class EmbeddedWorker(WorkerPlugin):
    """A worker of an embedded cluster (``tasks/cluster.py``) ignores SIGINT, as do the Lava processes it forks
    (a terminal's Ctrl-C reaches the CLI process, which shuts the cluster down), and ends its Lava processes
    when it closes (a worker that exits waits for them; ended here, they are reaped here)."""

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def teardown(self, worker: Any) -> None:
        terminate_lava_processes(final=True)
