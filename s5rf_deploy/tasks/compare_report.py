"""The ``compare`` report folder: ``report.json``, PNG figures and a one-page ``report.md``.

The folder is built under a temporary sibling name and renamed into place at
the end (:func:`s5rf_deploy.atomic.atomic_dir`), so a failed or interrupted run
leaves no partial report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from s5rf_deploy.atomic import atomic_dir
from s5rf_deploy.tasks.compare import Runs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _raster(runs: Runs, path: Path, sample: int = 0) -> None:
    plt = _pyplot()
    n = len(runs.layers)
    fig, axes = plt.subplots(n, 2, figsize=(10, 2.4 * n), squeeze=False, sharex=True)
    for i, name in enumerate(runs.layers):
        for j, (label, spikes) in enumerate((("float", runs.float_spikes[i]), ("fixed point", runs.fixed_spikes[i]))):
            t, k = np.nonzero(spikes[sample])
            axes[i, j].scatter(t, k, s=2, marker="|", color="k" if j == 0 else "tab:red")
            axes[i, j].set_ylabel(f"{name}\nneuron")
            axes[i, j].set_title(f"{label}, sample {sample}", fontsize=9)
            axes[i, j].set_ylim(-0.5, spikes.shape[2] - 0.5)
    for ax in axes[-1]:
        ax.set_xlabel("time step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _traces(runs: Runs, path: Path, sample: int = 0, count: int = 3) -> bool:
    """Re z of the most active neurons of the first layer, float against fixed; False without states."""
    if not runs.float_states or runs.float_states[0] is None:
        return False
    plt = _pyplot()
    active = np.argsort(-runs.float_spikes[0][sample].sum(axis=0))[:count]
    fig, axes = plt.subplots(len(active), 1, figsize=(9, 2.2 * len(active)), squeeze=False, sharex=True)
    for ax, k in zip(axes[:, 0], active, strict=True):
        ax.plot(runs.float_states[0][sample, :, k].real, color="k", lw=1, label="float")
        ax.plot(runs.fixed_states[0][sample, :, k].real, color="tab:red", lw=1, ls="--", label="fixed point")
        ax.axhline(1.0, color="0.6", lw=0.7)
        ax.set_ylabel(f"Re z, neuron {k}")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("time step")
    axes[0, 0].set_title(f"{runs.layers[0]}, sample {sample}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _agreement(result: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    layers = result["layers"]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(layers), 3.2))
    values = [e["spike_agreement"] for e in layers]
    ax.bar([e["layer"] for e in layers], values, color="tab:blue")
    for x, v in enumerate(values):
        ax.text(x, v, f"{v:.4f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(min(values + [0.9]) - 0.02, 1.01)
    ax.set_ylabel("spike agreement")
    ax.set_title("fixed point vs float, per layer", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _confusion(truth: np.ndarray, predicted: np.ndarray, classes: int, path: Path, rows: str, cols: str) -> None:
    plt = _pyplot()
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    fig, ax = plt.subplots(figsize=(1.5 + 0.45 * classes, 1.2 + 0.45 * classes))
    ax.imshow(matrix, cmap="Blues")
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > matrix.max() / 2 else "black")
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(result: dict[str, Any], figures: list[tuple[str, str]]) -> str:
    out = result["output"]
    lines = ["# Fixed point against float", "",
             f"Model `{result['model']}`, {out['samples']} samples, {result['fixed_point']}.", "",
             "| layer | neurons | rate float | rate fixed | spike agreement | Hamming/neuron | first divergence "
             "(median) | never diverged | state SNR dB | synops/sample float | fixed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in result["layers"]:
        fd = e["first_divergence"]
        snr = e.get("state_snr_db")
        lines.append(f"| {e['layer']} | {e['neurons']} | {e['rate']['float']:.4f} | {e['rate']['fixed']:.4f} | "
                     f"{e['spike_agreement']:.4f} | {e['hamming_per_neuron']['mean']:.3f} | "
                     f"{'-' if fd['median'] is None else fd['median']} | {fd['never']}/{fd['samples']} | "
                     f"{'-' if snr is None else f'{snr:.1f}'} | {e['synops_per_sample']['float']:.0f} | "
                     f"{e['synops_per_sample']['fixed']:.0f} |")
    lines += ["", f"Output: top-1 agreement {out['top1_agreement']:.4f}, logit error max "
              f"{out['logit_error']['max_abs']:.3g} (rms {out['logit_error']['rms']:.3g})."]
    if "accuracy" in out:
        lines.append(f"Accuracy: float {out['accuracy']['float']:.4f}, fixed point {out['accuracy']['fixed']:.4f}.")
    if "lava" in result:
        lava = result["lava"]
        lines.append(f"Lava fixed point on {lava['samples']} samples: "
                     f"{'bit-exact with the stepper' if lava['bit_exact'] else 'MISMATCH'} "
                     f"({lava['mismatched_values']} values differ).")
    lines.append(f"Saturated updates in the stepper run: {sum(result['saturation'].values())}.")
    if result.get("attribution"):
        lines += ["", "Top-1 agreement lost per stage (the float network from that stage on, fed with the fixed-point "
                  "spikes before it; docs/compare.md):", "", "| stage | points lost | what helps |", "|---|---|---|"]
        lines += [f"| {s['stage']} | {100 * s['top1_cost']:.1f} | {s['hint']} |" for s in result["attribution"]]
    if result.get("flags"):
        lines += ["", "Warnings:", ""] + [f"- {line}" for line in result["flags"]]
    lines += ["", "Definitions: docs/compare.md of s5rf-deploy.", ""]
    lines += [f"## {title}\n\n![{title}]({name})\n" for name, title in figures]
    return "\n".join(lines)


def write_report(folder: str | os.PathLike, result: dict[str, Any], runs: Runs, labels: np.ndarray | None,
                 force: bool = False) -> list[str]:
    """Write the report folder atomically; returns the files written."""
    target = Path(folder)
    with atomic_dir(target, replace=force) as tmp:
        figures = [("raster.png", "Spike rasters, float and fixed point"),
                   ("agreement.png", "Spike agreement per layer")]
        _raster(runs, tmp / "raster.png")
        _agreement(result, tmp / "agreement.png")
        if _traces(runs, tmp / "traces.png"):
            figures.append(("traces.png", "State traces of the most active neurons"))
        classes = runs.float_logits.shape[1]
        fixed_pred = runs.fixed_logits.argmax(-1)
        if labels is not None:
            _confusion(labels, fixed_pred, classes, tmp / "confusion.png", "label", "fixed-point prediction")
        else:
            _confusion(runs.float_logits.argmax(-1), fixed_pred, classes, tmp / "confusion.png",
                       "float prediction", "fixed-point prediction")
        figures.append(("confusion.png", "Confusion matrix"))
        (tmp / "report.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        (tmp / "report.md").write_text(_markdown(result, figures))
    return sorted(p.name for p in target.iterdir())
