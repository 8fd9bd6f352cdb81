"""Multi-bit outputs on the demo digits: binary, 2- and 3-bit variants of the same network, float and fixed point.

Two tasks: the demo digits as spike trains (dirac layer 0, the demo's architecture) and the pixel-sequence
version (``digits.load_split(split, "analog")``: intensities v / 16, zoh layer 0 with V mixing).  For each
task and ``spike_bits`` in 1, 2, 3 the same network (2 x 64 neurons, same seed) is trained with
``s5rf-deploy train --spike-bits K`` (cached in ``--work``), quantized for loihi2 calibrated on 256 training
samples drawn with a fixed seed, and measured on the test split with the ``compare`` metrics: accuracy,
and per sample (all layers summed) spikes, messages, bits moved (messages x payload bits) and synaptic
operations, float and fixed; Lava against the stepper on ``--lava`` test samples.  Prints a table and
writes ``benchmarks/results/multibit.json``.
Usage: ``python benchmarks/multibit.py [--work DIR] [--lava N] [--epochs E]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch
from common import RESULTS, environment, print_table, write_results

from s5rf_deploy.dataset import save_dataset
from s5rf_deploy.demo import digits
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.samples import seeded_subset
from s5rf_deploy.tasks.compare import lava_check, metrics, s5rf_runs
from s5rf_deploy.tasks.loading import load_network

# benchmarks/lava.py would shadow Lava (imported when a LavaRunner is built): drop this folder from the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

TASKS = {"spikes": ("spikes", "dirac"), "pixels": ("analog", "zoh")}  # task -> (input encoding, layer-0 rule)
TRAIN_ARGS = ["--neurons", "64,64", "--blocks", "8,8", "--lr", "0.01", "--lr-ssm", "0.005", "--seed", "0"]
CALIBRATION_SAMPLES = 256
WHAT = ("spikes", "messages", "bits", "synops")


def trained(work: Path, task: str, bits: int, epochs: int) -> Path:
    """The ``bits``-bit model of ``task`` (trained once, then read from ``work``)."""
    path = work / f"{task}_{bits}bit_{epochs}ep.s5rf"
    if not path.exists():
        cli = Path(sys.executable).parent / "s5rf-deploy"
        subprocess.run([str(cli), "--quiet", "train", str(work / f"{task}_train.npz"), "--discretization",
                        TASKS[task][1], "--spike-bits", str(bits), "--epochs", str(epochs), *TRAIN_ARGS,
                        "-o", str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/s5rf-multibit", help="data sets and trained models (cache)")
    parser.add_argument("--lava", type=int, default=3, help="test samples run on Lava")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default=str(RESULTS / "multibit.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    profile = load_profile("loihi2")
    rows, results = [], {"environment": environment(), "train_args": TRAIN_ARGS, "epochs": args.epochs, "runs": []}
    for task, (encoding, rule) in TASKS.items():
        train, test = (digits.load_split(split, encoding) for split in ("train", "test"))
        save_dataset(train, work / f"{task}_train.npz")
        calibration = train.inputs[seeded_subset(len(train), CALIBRATION_SAMPLES)]
        for bits in (1, 2, 3):
            net = load_network(trained(work, task, bits, args.epochs))
            fxp, _ = quantize(net, profile, calibration)
            m = metrics(s5rf_runs(net, fxp, test.inputs), test.labels)
            lava = lava_check(fxp, test.inputs[:args.lava])
            acc = m["output"]["accuracy"]
            totals = m["totals_per_sample"]
            results["runs"].append({"task": task, "layer0": rule, "spike_bits": bits, "accuracy": acc,
                                    "drop_pp": 100 * (acc["float"] - acc["fixed"]), "totals_per_sample": totals,
                                    "layers": m["layers"], "top1_agreement": m["output"]["top1_agreement"],
                                    "lava_bit_exact": lava["bit_exact"], "lava_samples": lava["samples"]})
            rows.append([task, bits, acc["float"], acc["fixed"], f"{100 * (acc['float'] - acc['fixed']):.2f}"]
                        + [f"{totals['float'][w]:.0f}/{totals['fixed'][w]:.0f}" for w in WHAT]
                        + [f"{lava['bit_exact']} ({lava['samples']})"])
    print_table(["task", "bits", "float acc", "fixed acc", "drop pp"] + [f"{w}/sample fl/fx" for w in WHAT]
                + ["Lava == stepper"], rows)
    write_results(results, args.out)


if __name__ == "__main__":
    main()
