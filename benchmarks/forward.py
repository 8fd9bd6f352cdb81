"""Float forward throughput of the PyTorch S5-RF model on an SSC-size network.

Network: 4 x 512 RF neurons (16 blocks), 140 inputs, 35 classes, T = 250,
dirac, keep_imag, random input spikes at 5 %.  Prints a table and writes
``benchmarks/results/forward.json``.  Usage: ``python benchmarks/forward.py``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import RESULTS, SSC, environment, print_table, time_call, write_results

from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "forward.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    model = S5RFModel(ModelConfig(**SSC)).eval()
    u = torch.from_numpy((np.random.default_rng(0).random((args.batch, args.steps, 140)) < 0.05)
                         .astype(np.float32))
    rows = []
    with torch.no_grad():
        t = time_call(lambda: model(u), args.repeats)
    rows.append(("forward (no grad)", t))
    model.train()

    def train_step() -> None:
        model.zero_grad()
        model(u).logprobs.sum().backward()

    rows.append(("forward + backward", time_call(train_step, args.repeats)))
    sample_steps = args.batch * args.steps
    results = {**environment(), "batch": args.batch, "steps": args.steps, "repeats": args.repeats, "cases": {}}
    print(f"SSC-size S5-RF, batch {args.batch}, T = {args.steps}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    table = []
    for name, times in rows:
        med = float(np.median(times))
        results["cases"][name] = {"median_s": med, "min_s": float(min(times)), "sample_steps_per_s": sample_steps / med}
        table.append([name, med, float(min(times)), sample_steps / med])
    print_table(["case", "median s", "min s", "sample-steps/s"], table)
    write_results(results, args.out)


if __name__ == "__main__":
    main()
