"""The Dask cluster a run shards its samples over: an embedded local one, or an existing one by address.

The embedded cluster's workers are processes of one thread each, non-daemonic
(Lava forks processes of its own, which daemonic processes may not), and they
ignore SIGINT: a Ctrl-C reaches this process, which cancels the shards, closes
the cluster and ends whatever of it is left (workers and their Lava processes).
Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
from collections.abc import Iterator

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.lava_runtime import sigint_held, sigint_ignored
from s5rf_deploy.tasks.shards import Pool

log = logging.getLogger(__name__)

DASK_CONFIG = {
    "distributed.worker.daemon": False,  # Lava's processes are children of the worker process
    "distributed.admin.large-graph-warning-threshold": "64MB",  # shard inputs travel inside tasks, bounded
}
CONNECT_TIMEOUT_S = 10
CLOSE_TIMEOUT_S = 10


@contextlib.contextmanager
def sample_pool(workers: int = 1, scheduler: str | None = None) -> Iterator[Pool | None]:
    """None (run in this process) for one worker and no ``scheduler``; else a :class:`Pool` on an embedded
    local cluster of ``workers`` processes, or on the existing cluster whose scheduler is at ``scheduler``."""
    if scheduler is None and workers <= 1:
        yield None
        return
    import dask
    import distributed  # noqa: F401  (its config defaults first: leaving the set below must not remove them)

    with dask.config.set(DASK_CONFIG):
        if scheduler is None:
            with _local_cluster(workers) as client:
                yield Pool(client)
        else:
            client = _connect(scheduler)
            try:
                yield Pool(client)
            finally:
                client.close()


def _connect(address: str):
    """A client of the cluster at ``address`` whose workers run this version of s5rf-deploy."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        raise S5RFError(f"cannot reach a Dask scheduler at {address} ({str(exc).splitlines()[0]})") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        ours = importlib.metadata.version("s5rf-deploy")
        theirs = client.run(importlib.metadata.version, "s5rf-deploy", on_error="return")
    except TimeoutError:
        client.close()
        raise S5RFError(f"the Dask cluster at {address} has no workers") from None
    wrong = {w: v for w, v in theirs.items() if v != ours}
    if wrong:
        client.close()
        worker, version = next(iter(wrong.items()))
        found = "no s5rf-deploy" if isinstance(version, Exception) else f"s5rf-deploy {version}"
        raise S5RFError(f"Dask worker {worker} has {found}; the workers need s5rf-deploy {ours} "
                        f"(docs/scale-out.md)")
    log.info("connected to %s: %d workers", address, len(theirs))
    return client


@contextlib.contextmanager
def _local_cluster(workers: int):
    """A client of a new local cluster of ``workers`` single-threaded worker processes, shut down on exit."""
    from distributed import Client, LocalCluster

    from s5rf_deploy.tasks.shard_worker import EmbeddedWorker

    with sigint_held():  # the workers start with SIGINT blocked; restarted ones ignore it (the plugin)
        # no dashboard; the scheduler's HTTP routes on a free local port (Dask's default 8787 may be taken)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.CRITICAL)
        client = Client(cluster)
        client.register_plugin(EmbeddedWorker())
    log.info("started a local Dask cluster of %d worker processes at %s", workers, cluster.scheduler_address)
    try:
        yield client
    finally:
        with sigint_ignored():  # a second Ctrl-C must not leave the cluster half closed
            processes = _worker_processes(cluster)
            try:
                client.close()
                cluster.close(timeout=CLOSE_TIMEOUT_S)  # each worker ends its Lava processes (EmbeddedWorker)
            except (OSError, RuntimeError) as exc:  # TimeoutError among them: what is left is ended below
                log.info("the local Dask cluster did not close in time (%s); ending its processes", exc)
            _end(processes)


def _worker_processes(cluster) -> list:
    """The worker processes of an embedded cluster and their descendants (Lava's processes)."""
    import psutil

    processes = []
    for nanny in cluster.workers.values():
        with contextlib.suppress(psutil.Error, TypeError, ValueError):
            process = psutil.Process(nanny.pid)
            processes += [process, *process.children(recursive=True)]
    return processes


def _end(processes: list) -> None:
    """Terminate ``processes`` (and what they started), kill those still alive a few seconds later."""
    import psutil

    processes = processes + [c for p in processes if p.is_running() for c in _children(p)]
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _children(process) -> list:
    import psutil

    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []
