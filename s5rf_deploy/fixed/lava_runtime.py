"""Running Lava process graphs on the CPU backend: samples back to back, Ctrl-C and errors end every process.

Lava forks one OS process per process model; they ignore SIGINT (forked while
it is ignored), so a Ctrl-C reaches only this process, which then ends them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

import s5rf_deploy  # noqa: F401  (installs the Lava compatibility hook first)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while Lava forks its processes, so that they inherit the ignore and a
    Ctrl-C reaches only this process, which then ends them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def terminate_lava_processes(timeout: float = 5.0) -> None:
    """End every child process (Lava's runtime service, process models, shared memory).

    Used when a run fails or is interrupted: Lava's graceful ``stop()`` waits for
    its runtime service and can hang once a step was cut short.
    """
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    while any(c.is_alive() for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in children:
        if child.is_alive():
            child.kill()


def run_samples(source, cfg, samples: int, steps: int, data: Callable[[int], np.ndarray], state: list,
                collect: Callable[[int], None], progress: Callable | None = None) -> float:
    """Compile the graph of the ``RingBuffer`` ``source`` once and run ``samples`` samples of ``steps`` steps
    back to back.

    ``data(i)`` is sample i's input for ``source`` (set before compiling for sample 0);
    every Lava ``Var`` in ``state`` is zeroed between samples; ``collect(i)`` reads
    sample i's results.  Returns the seconds spent inside Lava's ``run()``.  On
    any error or Ctrl-C every Lava process is ended.
    """
    from lava.magma.core.run_conditions import RunSteps

    def load(i: int) -> None:
        if not i:
            source.data.init = data(0)
            return
        source.data.set(data(i))
        for var in state:
            var.set(np.zeros(var.shape))

    stepping = 0.0
    try:
        load(0)
        started = time.perf_counter()
        with _sigint_ignored():
            source.create_runtime(run_cfg=cfg)
        log.info("Lava: compiled and started the runtime in %.2f s", time.perf_counter() - started)
        for i in progress(range(samples)) if progress else range(samples):
            if i:
                load(i)
            started = time.perf_counter()
            source.run(condition=RunSteps(num_steps=steps))
            stepping += time.perf_counter() - started
            collect(i)
    except BaseException:
        terminate_lava_processes()
        raise
    source.stop()
    log.info("Lava: %d samples x %d steps in %.2f s of stepping (%.2f ms per step)", samples, steps, stepping,
             1e3 * stepping / max(samples * steps, 1))
    return stepping
