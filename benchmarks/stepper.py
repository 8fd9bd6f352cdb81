"""Throughput of the fixed-point reference stepper against the float PyTorch forward.

SSC-size network: 4 x 512 RF neurons (16 blocks), 140 inputs, 35 classes,
T = 250, dirac, keep_imag, random input spikes at 5 %.  The random network's
input weights are scaled so that every layer fires (a silent network would
flatter the timings).  Prints a table and writes ``benchmarks/results/stepper.json``.
Usage: ``python benchmarks/stepper.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import RESULTS, SSC, environment, firing_network, print_table, write_results

from s5rf_deploy.s5rf.network import model_from_network
from s5rf_deploy.s5rf.stepper import Stepper


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--big-batch", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="T = 50 and batch 64 (a smoke run)")
    parser.add_argument("--out", default=str(RESULTS / "stepper.json"))
    args = parser.parse_args()
    steps, big = (50, 64) if args.quick else (args.steps, args.big_batch)
    net, inputs, fxp, report = firing_network(SSC, big, steps)
    stepper = Stepper(fxp)
    rates = report.calibration["agreement"]
    cases = {}
    for name, batch in (("stepper, batch 1", 1), (f"stepper, batch {big}", big)):
        samples = inputs[:max(batch, 1) if batch > 1 else 4]
        seconds = timed(lambda s=samples, b=batch: stepper.run(s, batch_size=b))
        cases[name] = {"seconds": seconds, "sample_steps_per_s": samples.shape[0] * steps / seconds}
    float_model = model_from_network(net, torch.float32)
    with torch.no_grad():
        seconds = timed(lambda: float_model(torch.from_numpy(inputs)))
    cases[f"torch float32, batch {big}"] = {"seconds": seconds, "sample_steps_per_s": big * steps / seconds}
    spike_rates = [float(r) for r in report.calibration.get("agreement", {}).get("spike_agreement", [])]
    results = {**environment(), "steps": steps, "spike_agreement_on_16_samples": spike_rates,
               "top1_agreement_on_16_samples": rates["top1_agreement"], "cases": cases}
    print(f"SSC-size S5-RF, T = {steps}, loihi2 profile, {torch.get_num_threads()} threads")
    print_table(["case", "seconds", "sample-steps/s"],
                [[name, c["seconds"], c["sample_steps_per_s"]] for name, c in cases.items()])
    write_results(results, args.out)


if __name__ == "__main__":
    main()
