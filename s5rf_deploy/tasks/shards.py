"""Runs over the samples of a dataset, in this process or sharded by samples over Dask workers.

A :class:`ShardJob` is a picklable description of a run (``simulate``, the
float and fixed-point runs of ``compare``, the Lava check): ``build()`` makes
its runner (for Lava: the compiled process graph), which maps any slice of the
samples to a part, and ``merge(parts)`` joins the parts of consecutive slices
into the result of the whole.  :func:`run_job` runs a job here, or on a
:class:`Pool`:

- shards are plain Dask tasks, so the scheduler reruns the shards of a worker
  that dies on another (a Dask actor would pin the runner to one worker and be
  lost with it); each worker builds a job once and runs all its shards on it
  (``tasks/shard_worker.py``);
- shard sizes are multiples of the job's ``quantum`` (a batched backend's batch
  size), so every batch holds the samples it holds in a one-process run and the
  merged result equals that run's bit for bit;
- a shard's inputs travel inside its task, which the scheduler keeps until the
  shard is done (to rerun it), so only :attr:`Pool.in_flight` shards per worker
  thread are submitted at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from s5rf_deploy.errors import SampleError
from s5rf_deploy.progress import Progress
from s5rf_deploy.samples import Samples, as_samples, sample_bytes

log = logging.getLogger(__name__)


class ShardJob(Protocol):
    """A run over samples that can be split into consecutive slices."""

    @property
    def quantum(self) -> int:
        """Shard sizes are multiples of this."""

    def build(self) -> Callable[[np.ndarray, Progress | None], Any]:
        """The runner: a slice's inputs (and progress) to its part."""

    def merge(self, parts: list[Any]) -> Any:
        """The result of the whole from the parts of consecutive slices, in order."""


def shard_size(samples: int, quantum: int, threads: int, sample_bytes: int, per_thread: int = 4,
               max_bytes: int = 8 << 20) -> int:
    """Samples per shard: about ``per_thread`` shards per worker thread (for balance, reruns and progress),
    inputs of at most ``max_bytes``, a multiple of ``quantum``."""
    size = quantum * math.ceil(samples / (threads * per_thread * quantum))
    return min(size, quantum * max(1, max_bytes // max(sample_bytes * quantum, 1)))


def run_part(runner: Callable[[np.ndarray, Progress | None], Any], start: int, inputs: np.ndarray,
             progress: Progress | None = None) -> Any:
    """``runner`` on the inputs of the samples from ``start`` on; a :class:`SampleError` names the sample by
    its index in the whole run."""
    try:
        return runner(inputs, progress)
    except SampleError as exc:
        raise SampleError(start + exc.sample, exc.message) from None


def stream_job(job: ShardJob, data: Samples, sink: Callable[[int, Any], None], progress: Progress | None = None,
               pool: Pool | None = None) -> None:
    """The job's parts over ``data``, handed to ``sink(start, part)`` as they come: read and run window by
    window here (windows of whole batches, inputs of at most 8 MiB), or sharded over ``pool``, whose shards read
    their own samples."""
    if pool is not None:
        pool.run([(job, data)], progress, sink)
        return
    runner = job.build()
    size = shard_size(len(data), job.quantum, 1, sample_bytes(data), per_thread=1)
    for start in range(0, len(data), size):
        sink(start, run_part(runner, start, data.read(start, start + size), progress))


def run_jobs(jobs: list[tuple[ShardJob, np.ndarray]], progress: Progress | None = None,
             pool: Pool | None = None) -> list[Any]:
    """Each job's result over its inputs: one after the other in this process, or as one stream of shards
    over ``pool``."""
    if pool is None:
        return [job.build()(inputs, progress) for job, inputs in jobs]
    return pool.run(jobs, progress)


def run_job(job: ShardJob, inputs: np.ndarray, progress: Progress | None = None, pool: Pool | None = None) -> Any:
    """The job's result over ``inputs``: in this process, or sharded over ``pool``."""
    return run_jobs([(job, inputs)], progress, pool)[0]


@dataclass
class Pool:
    """A Dask client whose workers run jobs in shards of samples."""

    client: Any  # distributed.Client
    in_flight: int = 2  # shards submitted per worker thread at a time

    def run(self, jobs: list[tuple[ShardJob, np.ndarray | Samples]], progress: Progress | None = None,
            sink: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Each job's result over its inputs; the shards of all jobs run as one stream of tasks, and
        ``progress`` is told each finished shard's samples.  With a ``sink`` (one job) each part goes to
        ``sink(start, part)`` as it comes and nothing is kept.  An event file's shards carry only their range
        and read their samples on the worker.  Any failure cancels every shard."""
        from distributed import as_completed, fire_and_forget, wait

        from s5rf_deploy.tasks.shard_worker import hold, release, run_shard

        client = self.client
        threads = max(sum(client.nthreads().values()), 1)
        digests = [hashlib.sha256(pickle.dumps(job, protocol=5)).hexdigest() for job, _ in jobs]
        held = [client.submit(hold, job, key=f"s5rf-job-{digest}")
                for (job, _), digest in zip(jobs, digests, strict=True)]
        data = [as_samples(inputs) for _, inputs in jobs]
        todo = []
        for j, (job, _) in enumerate(jobs):
            size = shard_size(len(data[j]), job.quantum, threads, sample_bytes(data[j]))
            todo += [(j, start, min(start + size, len(data[j]))) for start in range(0, len(data[j]), size)]
        log.info("%d samples of %d run(s) in %d shards on %d worker threads", sum(map(len, data)),
                 len(jobs), len(todo), threads)
        todo.reverse()
        parts: list[dict[int, Any]] = [{} for _ in jobs]
        speed: dict[str, list[float]] = {}
        running: dict[Any, tuple[int, int, int]] = {}
        finished = as_completed()

        def submit() -> None:
            j, start, stop = todo.pop()
            future = client.submit(run_shard, digests[j], held[j], start, data[j].window(start, stop), pure=False)
            running[future] = (j, start, stop)
            finished.add(future)

        ok = False
        try:
            for _ in range(min(len(todo), threads * self.in_flight)):
                submit()
            for future in finished:
                j, start, stop = running.pop(future)
                part, worker, seconds = future.result()
                future.release()
                if sink is None:
                    parts[j][start] = part
                else:
                    sink(start, part)
                if todo:
                    submit()
                done = speed.setdefault(worker, [0, 0.0])
                done[0] += stop - start
                done[1] += seconds
                if progress:
                    progress(stop - start)
            ok = True
        finally:
            client.cancel(list(running) + held)
            released = [client.submit(release, workers=[w], allow_other_workers=False, pure=False)
                        for w in client.nthreads()]
            for future in released:
                fire_and_forget(future)  # they run after the shards on each worker, even once we are gone
            if ok:  # wait for them after a run that went well: a cluster closed next then closes cleanly
                with contextlib.suppress(TimeoutError):
                    wait(released, timeout=60)
        for worker, (samples, seconds) in sorted(speed.items()):
            log.info("worker %s: %d samples in %.2f s (%.1f samples/s)", worker, samples, seconds,
                     samples / max(seconds, 1e-9))
        return [] if sink else [job.merge([p[k] for k in sorted(p)]) if len(p) > 1 else next(iter(p.values()))
                                for (job, _), p in zip(jobs, parts, strict=True)]
