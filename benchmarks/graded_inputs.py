"""Graded (analog) inputs on trained pixel-sequence models: float against calibrated fixed point, Lava bit-exact.

The pixel-sequence digits (``s5rf_deploy.demo.digits.load_split(split, "analog")``: the demo layout with each
row's intensities v / 16 held for 4 steps) train two models with ``s5rf-deploy train`` (cached in ``--work``):
zoh layer 0 (with V mixing) and dirac, 2 x 64 neurons, 15 epochs.  Each is quantized for loihi2, calibrated
on the first 256 training samples (its inputs become graded), and measured on both splits: float accuracy
(float64 PyTorch), fixed accuracy (stepper), the input quantization error, and Lava against the stepper on
``--lava`` test samples (readout, spikes and states bit for bit).  Prints a table and writes
``benchmarks/results/graded_inputs.json``.
Usage: ``python benchmarks/graded_inputs.py [--work DIR] [--lava N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, environment, print_table, write_results

from s5rf_deploy.dataset import save_dataset
from s5rf_deploy.demo import digits
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.lava import LavaRunner
from s5rf_deploy.s5rf.network import model_from_network
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks.loading import load_network

# benchmarks/lava.py would shadow Lava (imported when a LavaRunner is built): drop this folder from the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

TRAIN_ARGS = ["--neurons", "64,64", "--blocks", "8,8", "--epochs", "15", "--lr", "0.01", "--lr-ssm", "0.005",
              "--seed", "0"]
CALIBRATION_SAMPLES = 256


def trained(work: Path, discretization: str) -> Path:
    """The model trained on the pixel-sequence train split (trained once, then read from ``work``)."""
    path = work / f"pix_{discretization}.s5rf"
    if not path.exists():
        cli = Path(sys.executable).parent / "s5rf-deploy"
        subprocess.run([str(cli), "train", str(work / "pix_train.npz"), "--discretization", discretization,
                        *TRAIN_ARGS, "-o", str(path)], check=True)
    return path


def float_accuracy(net, data) -> float:
    with torch.no_grad():
        out = model_from_network(net)(torch.from_numpy(data.inputs).double())
    return float((out.logprobs.argmax(-1).numpy() == data.labels).mean())


def lava_equal(fxp, inputs: np.ndarray) -> bool:
    """Lava's readout, spikes and states equal the stepper's on ``inputs``."""
    expected = Stepper(fxp).run(inputs, record=("spikes", "states"))
    got = LavaRunner(fxp, inputs.shape[1]).run(inputs)
    pairs = [(got.readout, expected.readout)] + list(zip(got.spikes, expected.spikes, strict=True)) \
        + list(zip(got.states, expected.states, strict=True))
    return all(np.array_equal(a, b) for a, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/s5rf-graded-inputs", help="data sets and trained models (cache)")
    parser.add_argument("--lava", type=int, default=3, help="test samples run on Lava")
    parser.add_argument("--out", default=str(RESULTS / "graded_inputs.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    splits = {split: digits.load_split(split, "analog") for split in ("train", "test")}
    save_dataset(splits["train"], work / "pix_train.npz")
    profile = load_profile("loihi2")
    rows, results = [], {"environment": environment(), "train_args": TRAIN_ARGS, "models": {}}
    for disc in ("zoh", "dirac"):
        net = load_network(trained(work, disc))
        fxp, report = quantize(net, profile, splits["train"].inputs[:CALIBRATION_SAMPLES])
        entry = {"input_encoding": report.inputs}
        for split, data in splits.items():
            entry[f"float_{split}"] = float_accuracy(net, data)
            entry[f"fixed_{split}"] = float((Stepper(fxp).run(data.inputs).predictions == data.labels).mean())
        entry["drop_test_pp"] = 100 * (entry["float_test"] - entry["fixed_test"])
        entry["lava_bit_exact"] = lava_equal(fxp, splits["test"].inputs[:args.lava])
        results["models"][disc] = entry
        rows.append([disc + (" + V" if disc == "zoh" else ""), f"2^{report.inputs['scale_log2']}",
                     f"{report.inputs['error']['max_abs']:.2e}", entry["float_test"], entry["fixed_test"],
                     f"{entry['drop_test_pp']:.2f}", entry["float_train"], entry["fixed_train"],
                     f"{entry['lava_bit_exact']} ({args.lava})"])
    print_table(["model", "input scale", "input err", "float test", "fixed test", "drop pp", "float train",
                 "fixed train", "Lava == stepper"], rows)
    write_results(results, args.out)


if __name__ == "__main__":
    main()
