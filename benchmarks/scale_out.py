"""Samples per second of ``simulate`` in one process and sharded over 2 local Dask workers (docs/scale-out.md).

The demo network (2 x 64 RF neurons, quantized for loihi2 on 256 training
digits) on the digits test set (40 steps a sample): the stepper on the test
set repeated ``--repeat`` times, Lava on its first ``--lava-samples`` digits.
Each run is timed end to end as a user sees it (with the stepper's build and
Lava's compilation, which every run does again); the embedded cluster's start
is timed apart, and its first run (cold: the workers import s5rf-deploy and
torch then) apart from its second (warm).  The one-process time is the better
of two runs.  Prints a table and writes ``benchmarks/results/scale_out.json``.
Usage: ``python benchmarks/scale_out.py [--workers 2] [--repeat 20] [--lava-samples 48]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

# benchmarks/lava.py would shadow Lava here and in the Dask workers (which run this file again, with this process's
# sys.path): take common from this folder, then drop the folder from the path.
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, print_table, write_results  # noqa: E402

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from s5rf_deploy.demo import digits, model_path  # noqa: E402
from s5rf_deploy.hw_profiles import load_profile  # noqa: E402
from s5rf_deploy.tasks.cluster import sample_pool  # noqa: E402
from s5rf_deploy.tasks.families import quantize_network  # noqa: E402
from s5rf_deploy.tasks.loading import load_network  # noqa: E402
from s5rf_deploy.tasks.simulation import simulate  # noqa: E402


def timed_run(fxp, inputs: np.ndarray, backend: str, pool) -> tuple[float, np.ndarray]:
    """Seconds of one ``simulate`` run and its predictions."""
    started = time.perf_counter()
    run = simulate(fxp, inputs, backend, "fixed", None, batch_size=64, pool=pool)
    return time.perf_counter() - started, run["predictions"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20, help="stepper: the 449 test digits this many times")
    parser.add_argument("--lava-samples", type=int, default=48)
    args = parser.parse_args()
    test = digits.load_split("test").inputs
    fxp, _ = quantize_network(load_network(model_path()), load_profile("loihi2"),
                              digits.load_split("train").inputs[:256])
    cases = {"stepper": np.concatenate([test] * args.repeat), "lava": test[:args.lava_samples]}
    rows, results = [], []
    for backend, inputs in cases.items():
        (alone, expected), (again, _) = (timed_run(fxp, inputs, backend, None) for _ in range(2))
        started = time.perf_counter()
        with sample_pool(args.workers) as pool:
            start = time.perf_counter() - started
            (cold, first), (warm, second) = (timed_run(fxp, inputs, backend, pool) for _ in range(2))
        assert np.array_equal(first, expected) and np.array_equal(second, expected)
        alone = min(alone, again)
        for workers, run, seconds in ((1, "best of 2", alone), (args.workers, "cold", cold),
                                      (args.workers, "warm", warm)):
            results.append({"backend": backend, "workers": workers, "run": run, "samples": len(inputs),
                            "steps": inputs.shape[1], "cluster_start_s": 0.0 if workers == 1 else start,
                            "run_s": seconds, "samples_per_s": len(inputs) / seconds})
            rows.append([backend, workers, run, len(inputs), results[-1]["cluster_start_s"], seconds,
                         len(inputs) / seconds, alone / seconds])
    print_table(["backend", "workers", "run", "samples", "cluster start s", "run s", "samples/s", "speed-up"], rows)
    write_results({"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                   "network": "demo (2 x 64 RF neurons, loihi2, 2 digits)", "cases": results},
                  str(RESULTS / "scale_out.json"))


if __name__ == "__main__":  # the workers re-import this module: nothing may run at import
    main()
