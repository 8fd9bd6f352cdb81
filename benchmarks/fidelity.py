"""Fidelity of fixed point against float on trained models: data-free ("bare") against calibrated quantization.

Builds four tasks deterministically (the demo's digit encoding, thermometer-coded
and rate-coded digits, and a temporal-order task), trains one model per row with
``s5rf-deploy train`` (cached in ``--work``; the shipped demo model is used as is),
quantizes each for loihi2 and measures on the test split: float accuracy, fixed
accuracy, top-1 agreement with float and saturated updates, for

- bare, ``max_steps`` 1000 (the CLI default) and ``max_steps`` = T (the sequence length run),
- calibrated on 256 training samples,
- ``--digits auto`` (calibrated; the fewest weight digits per connection that keep agreement >= 0.995 and
  the logit error within 1.5 x that of 4 digits),

the RF layers' largest float state on the test split against the range the data-free scale leaves, and a
sweep of the data-free readout scale (``max_steps`` 4 .. 8192) with its resolution bits and agreement.
Prints a table and writes ``benchmarks/results/fidelity.json``.  ``--baseline OLD.json``
(a run of this script on other code) adds its numbers to the table and the JSON as "before".
Usage: ``python benchmarks/fidelity.py [--work DIR] [--baseline OLD.json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, print_table, write_results

from s5rf_deploy.dataset import Dataset, load_dataset, save_dataset
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize, quantize_auto
from s5rf_deploy.s5rf.stepper import Stepper

CALIBRATION = 256
CLI_MAX_STEPS = 1000


def thermometer(split: str, levels: int = 4, steps_per_row: int = 2, tail: int = 4) -> Dataset:
    """Digits row by row, each pixel as ``levels`` thermometer channels (H = 8 levels, T = 8 rows + tail)."""
    images, labels = _digit_images(split)
    code = (images[..., None] > (np.arange(levels) + 0.5) * 16 / (levels + 1)).astype(np.float32)  # (N, 8, 8, L)
    rows = np.repeat(code.reshape(len(images), 8, 8 * levels), steps_per_row, axis=1)
    return Dataset(np.concatenate([rows, np.zeros((len(images), tail, 8 * levels), np.float32)], 1), labels)


def rate_coded(split: str, steps: int = 60, peak_rate: float = 0.25) -> Dataset:
    """Every pixel one channel spiking at ``peak_rate * intensity / 16`` per step (H = 64, seeded Bernoulli)."""
    images, labels = _digit_images(split)
    rng = np.random.default_rng({"train": 1, "test": 2}[split])
    rates = images.reshape(len(images), 1, 64) / 16 * peak_rate
    return Dataset((rng.random((len(images), steps, 64)) < rates).astype(np.float32), labels)


def temporal_order(split: str, steps: int = 150, channels: int = 6, noise: float = 0.02) -> Dataset:
    """Which of channels 0..2 bursts first and which second (6 classes); 3 more channels carry noise only."""
    n = {"train": 1200, "test": 400}[split]
    rng = np.random.default_rng({"train": 3, "test": 4}[split])
    pairs = [(a, b) for a in range(3) for b in range(3) if a != b]
    labels = rng.integers(len(pairs), size=n)
    x = (rng.random((n, steps, channels)) < noise).astype(np.float32)
    for k, label in enumerate(labels):
        first = rng.integers(5, 50)
        second = first + rng.integers(20, 70)
        for channel, start in zip(pairs[label], (first, second), strict=True):
            x[k, start:start + 5, channel] = 1.0
    return Dataset(x, labels.astype(np.int64))


def _digit_images(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The demo's split of scikit-learn's digits, as images (N, 8, 8) and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(digits.SPLIT_SEED).permutation(len(data.target))
    n_test = int(round(len(order) * digits.TEST_FRACTION))
    idx = {"train": order[:-n_test], "test": order[-n_test:]}[split]
    return data.images[idx], data.target[idx].astype(np.int64)


TASKS = {"digits": digits.load_split, "thermometer": thermometer, "rate": rate_coded, "order": temporal_order}


@dataclass(frozen=True)
class Case:
    """One trained model: its task and the ``train`` options (None: the shipped demo model)."""

    name: str
    task: str
    train_args: tuple[str, ...] | None


CASES = (
    Case("demo 2x64 dirac", "digits", None),
    Case("digits 1x64 zoh", "digits", ("--neurons", "64", "--blocks", "8", "--discretization", "zoh",
                                       "--eta", "0.05,0.5", "--epochs", "15", "--lr", "1e-2", "--lr-ssm", "5e-3")),
    Case("thermometer 2x64 dirac", "thermometer", ("--neurons", "64,64", "--blocks", "8,8", "--eta", "0.05,0.5",
                                                   "--epochs", "12", "--lr", "1e-2", "--lr-ssm", "5e-3")),
    Case("rate 3x48 dirac", "rate", ("--neurons", "48,48,48", "--blocks", "4,4,4", "--eta", "0.05,0.5",
                                     "--epochs", "15", "--lr", "1e-2", "--lr-ssm", "5e-3")),
    Case("order 2x32 polar", "order", ("--neurons", "32,32", "--blocks", "4,4", "--spike", "polar",
                                       "--eta", "0.1,1.0", "--epochs", "15", "--lr", "1e-2", "--lr-ssm", "5e-3")),
)


def task_split(work: Path, task: str, split: str) -> Dataset:
    """A task split, written once to ``work`` as a dataset file (what ``train`` reads)."""
    path = work / f"{task}_{split}.npz"
    if not path.exists():
        save_dataset(TASKS[task](split), path)
    return load_dataset(path)


def trained(work: Path, case: Case) -> S5RFNetwork:
    """The case's network, trained with the CLI unless cached in ``work``."""
    if case.train_args is None:
        return network_from_model(load_checkpoint(model_path()))
    task_split(work, case.task, "train")
    path = work / (case.name.replace(" ", "_") + ".s5rf")
    if not path.exists():
        cli = Path(sys.executable).with_name("s5rf-deploy")
        subprocess.run([str(cli), "train", str(work / f"{case.task}_train.npz"), "-o", str(path), "--seed", "0",
                        *case.train_args], check=True)
    return network_from_model(load_checkpoint(path))


def fidelity(fxp, inputs: np.ndarray, labels: np.ndarray, float_out) -> dict:
    """Fixed accuracy, top-1 agreement with float, the lowest per-layer spike agreement and saturated updates."""
    res = Stepper(fxp).run(inputs, record=("spikes",))
    pred = float_out.logprobs.argmax(-1).numpy()
    return {"accuracy": float(np.mean(res.predictions == labels)),
            "top1_agreement": float(np.mean(res.predictions == pred)),
            "spike_agreement": min(float(np.mean(s == f.numpy())) for s, f in zip(res.spikes, float_out.spikes,
                                                                                  strict=True)),
            "saturated_updates": int(sum(res.saturation.values()))}


def measure(work: Path, case: Case) -> dict:
    """Every quantization of one case, measured on its test split."""
    profile = load_profile("loihi2")
    net = trained(work, case)
    train, test = task_split(work, case.task, "train"), task_split(work, case.task, "test")
    with torch.no_grad():
        float_out = model_from_network(net)(torch.from_numpy(test.inputs).double())
    steps = test.inputs.shape[1]
    calibration = train.inputs[:CALIBRATION]
    _, on_test = quantize(net, profile, test.inputs)
    out = {"task": case.task, "train": list(case.train_args or ("shipped demo model",)), "steps": steps,
           "test_samples": len(test), "float_accuracy": float(np.mean(float_out.predictions.numpy() == test.labels)),
           "state_peak_over_threshold": [p / layer.threshold for p, layer in
                                         zip(on_test.calibration["state_peaks"], net.layers, strict=True)]}
    runs = {f"bare, max_steps {CLI_MAX_STEPS}": dict(max_steps=CLI_MAX_STEPS),
            "bare, max_steps T": dict(max_steps=steps), "calibrated": dict(calibration=calibration)}
    for label, kwargs in runs.items():
        fxp, report = quantize(net, profile, **kwargs)
        out[label] = fidelity(fxp, test.inputs, test.labels, float_out) | {
            "readout_scale_log2": report.readout["scale_log2"], "warnings": report.warnings,
            "state_range_over_threshold": [profile.state_max / 2.0 ** e["state_scale_log2"] / layer.threshold
                                           for e, layer in zip(report.layers, net.layers, strict=True)]}
    out["resolution_sweep"] = []
    for k in range(2, 14):  # a shorter max_steps, a larger readout scale: where does agreement break?
        fxp, report = quantize(net, profile, max_steps=2**k)
        run = fidelity(fxp, test.inputs, test.labels, float_out)
        out["resolution_sweep"].append({"max_steps": 2**k, "readout_scale_log2": report.readout["scale_log2"],
                                        "resolution_bits": report.readout["resolution_bits"],
                                        "top1_agreement": run["top1_agreement"],
                                        "saturated_updates": run["saturated_updates"]})
    fxp, report = quantize_auto(net, profile, calibration)
    out["digits auto"] = fidelity(fxp, test.inputs, test.labels, float_out) | {
        "digits": report.digits["chosen"], "tried": report.digits["tried"], "warnings": report.warnings}
    return out


LABELS = (f"bare, max_steps {CLI_MAX_STEPS}", "bare, max_steps T", "calibrated", "digits auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/s5rf-fidelity", help="data sets and trained models (cache)")
    parser.add_argument("--baseline", help="an earlier run's JSON, shown as 'before'")
    parser.add_argument("--out", default=str(RESULTS / "fidelity.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {"profile": "loihi2", "calibration_samples": CALIBRATION, "torch": torch.__version__,
               "models": {case.name: measure(work, case) for case in CASES}}
    before = json.loads(Path(args.baseline).read_text())["models"] if args.baseline else {}
    if before:
        results["before"] = before
    rows = []
    for name, m in results["models"].items():
        for k, label in enumerate(LABELS):
            old, new = before.get(name, {}).get(label, {}), m[label]
            rows.append(["" if k else name, label, m["float_accuracy"], old.get("accuracy", "-"), new["accuracy"],
                         old.get("top1_agreement", "-"), new["top1_agreement"], new["spike_agreement"],
                         new["saturated_updates"], len(new["warnings"])])
    print_table(["model", "quantization", "float", "fixed before", "fixed", "top-1 before", "top-1", "spikes",
                 "saturated", "warnings"], rows)
    sweep = [p for m in results["models"].values() for p in m["resolution_sweep"] if not p["saturated_updates"]]
    worst = max((p["resolution_bits"] for p in sweep if p["top1_agreement"] < 0.99), default=0.0)
    above = min(p["resolution_bits"] for p in sweep if p["resolution_bits"] > worst)
    print(f"data-free readout sweep (unsaturated): top-1 agreement < 0.99 at {worst:.1f} resolution bits and fewer, "
          f"the next setting has {above:.1f}")
    write_results(results, args.out)


if __name__ == "__main__":
    main()
