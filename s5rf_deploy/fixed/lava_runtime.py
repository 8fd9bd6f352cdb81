"""Running Lava process graphs on the CPU backend: samples back to back, Ctrl-C and errors end every process.

Lava forks one OS process per process model; they ignore SIGINT (forked
within :func:`children_ignore_sigint`), so a Ctrl-C reaches only this process,
which then ends them.
A process that runs one network over many batches (a Dask worker,
``tasks/shards.py``) calls :func:`keep_runtimes_up`: each graph is then compiled
once and its runtime stays up between calls until :func:`stop_kept_runtimes`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

import s5rf_deploy  # noqa: F401  (installs the Lava compatibility hook first)
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.progress import Progress
from s5rf_deploy.timing import stage

log = logging.getLogger(__name__)
_kept: dict[int, object] | None = None  # id -> RingBuffer source of the runtimes left up, once keeping


def keep_runtimes_up() -> None:
    """From now on, :func:`run_samples` leaves each graph's runtime up, and the next call on the same graph runs
    on it without compiling again."""
    global _kept
    if _kept is None:
        _kept = {}


def stop_kept_runtimes() -> None:
    """Stop every runtime :func:`run_samples` left up (their processes end)."""
    while _kept:
        _kept.popitem()[1].stop()


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT (in the main thread; elsewhere do nothing) while child processes start, so that they
    inherit the ignore and a Ctrl-C reaches only this process, which then ends them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Block SIGINT (in the main thread; elsewhere do nothing) while worker processes are spawned: they inherit
    the blocked mask across exec, so a Ctrl-C never reaches them (this process ends them), and a Ctrl-C that
    came meanwhile is delivered here as soon as the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_forking_lava = False  # read by the fork hook below, in the child
_ending = False  # set by terminate_lava_processes(final=True): this process ends, and so do its new forks


def _child_at_fork() -> None:
    if _ending:
        os._exit(0)  # forked (by one of Lava's threads) while its parent ends: it must not outlive it
    if _forking_lava:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


os.register_at_fork(after_in_child=_child_at_fork)


@contextlib.contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Every process forked meanwhile (from any thread: Lava starts its processes from several) ignores SIGINT
    from its first instruction, so a Ctrl-C reaches only this process, which then ends them; this process keeps
    its own SIGINT handling, so a Ctrl-C while Lava starts is not lost."""
    global _forking_lava
    _forking_lava = True
    try:
        yield
    finally:
        _forking_lava = False


def terminate_lava_processes(timeout: float = 5.0, final: bool = False) -> None:
    """End every child process (Lava's runtime service, process models, shared memory).

    Used when a run fails or is interrupted: Lava's graceful ``stop()`` waits for
    its runtime service and can hang once a step was cut short.  ``final``: this
    process is ending (a Dask worker closing while Lava starts its processes from
    several threads): processes forked from now on exit at once, and children
    forked while the others were ended are ended too, until none is left.
    """
    global _ending
    _ending = _ending or final
    deadline = time.monotonic() + timeout
    children = multiprocessing.active_children()
    while children:
        for child in children:
            child.terminate()
        while any(c.is_alive() for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in children:
            if child.is_alive():
                child.kill()
        children = multiprocessing.active_children() if final else []


def run_samples(source, cfg, samples: int, steps: int, data: Callable[[int], np.ndarray], state: list,
                collect: Callable[[int], None], progress: Progress | None = None) -> float:
    """Compile the graph of the ``RingBuffer`` ``source`` once and run ``samples`` samples of ``steps`` steps
    back to back.

    ``data(i)`` is sample i's input for ``source`` (set before compiling for sample 0);
    every Lava ``Var`` in ``state`` is zeroed between samples; ``collect(i)`` reads
    sample i's results; ``progress(1)`` follows each sample.  Returns the seconds
    spent inside Lava's ``run()``.  On any error or Ctrl-C every Lava process is ended.
    After :func:`keep_runtimes_up` the runtime stays up, and a later call with the
    same ``source`` reuses it.
    """
    from lava.magma.core.run_conditions import RunSteps

    compiled = _kept is not None and id(source) in _kept

    def load(i: int) -> None:
        source.data.set(data(i))
        for var in state:
            var.set(np.zeros(var.shape))

    stepping = 0.0
    try:
        if not compiled:
            if multiprocessing.current_process().daemon:
                raise S5RFError("Lava starts processes of its own, which a daemonic process cannot: start Dask "
                                "workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (docs/scale-out.md)")
            source.data.init = data(0)
            with stage("Lava: compile the process graph and start its runtime",
                       notice="compiling the Lava process graph (a few seconds)"), children_ignore_sigint():
                source.create_runtime(run_cfg=cfg)
        for i in range(samples):
            if i or compiled:
                load(i)
            started = time.perf_counter()
            source.run(condition=RunSteps(num_steps=steps))
            stepping += time.perf_counter() - started
            collect(i)
            if progress:
                progress(1)
    except BaseException:
        if _kept:
            _kept.clear()
        terminate_lava_processes()
        raise
    if _kept is None:
        source.stop()
    else:
        _kept[id(source)] = source
    log.info("Lava: %d samples x %d steps in %.2f s of stepping (%.2f ms per step)", samples, steps, stepping,
             1e3 * stepping / max(samples * steps, 1))
    return stepping
