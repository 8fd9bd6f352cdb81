"""The figures of the ``compare`` report, float and fixed point drawn on the same axes so differences show.

Each function returns a matplotlib figure; :func:`save` writes and closes it.
Colours: float blue, fixed point red, both (agreeing) grey or black.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from s5rf_deploy.tasks.attribution import LOW_SPIKE_AGREEMENT
from s5rf_deploy.tasks.compare import Runs

FLOAT, FIXED, BOTH, OUTPUT = "tab:blue", "tab:red", "0.25", "tab:purple"
ANNOTATED_CLASSES = 16  # confusion matrices with more classes show colours only


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> None:
    """Write ``fig`` as PNG and free it."""
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def differing_samples(runs: Runs, count: int = 3) -> list[int]:
    """The ``count`` samples whose spikes differ most between float and fixed point (all layers), most first;
    ties (and runs without differences) in sample order."""
    differences = sum((a != b).sum(axis=(1, 2)) for a, b in zip(runs.float_spikes, runs.fixed_spikes, strict=True))
    return [int(i) for i in np.argsort(-differences, kind="stable")[:count]]


def raster(runs: Runs, samples: list[int]):
    """Spike rasters, one row per layer and one column per sample, float and fixed point overlaid: spikes of both
    in grey, spikes only float produced as blue circles, only fixed point as red crosses."""
    plt = _pyplot()
    rows, cols = len(runs.layers), len(samples)
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 + 3.6 * cols, 0.8 + 2.3 * rows), squeeze=False, sharex=True)
    for i, name in enumerate(runs.layers):
        for j, n in enumerate(samples):
            a, b = runs.float_spikes[i][n].astype(bool), runs.fixed_spikes[i][n].astype(bool)
            ax = axes[i, j]
            for mask, style in ((a & b, dict(marker="|", s=8, color=BOTH, label="both")),
                                (a & ~b, dict(marker="o", s=22, facecolors="none", edgecolors=FLOAT, linewidths=1.2,
                                              label="float only")),
                                (b & ~a, dict(marker="x", s=22, color=FIXED, linewidths=1.2,
                                              label="fixed point only"))):
                t, k = np.nonzero(mask)
                ax.scatter(t, k, **style)
            ax.set_ylim(-0.5, a.shape[1] - 0.5)
            ax.set_title(f"{name}, sample {n}: {_differ(int((a != b).sum()))} (float: {int(a.sum())})", fontsize=9)
            if j == 0:
                ax.set_ylabel("neuron")
    for ax in axes[-1]:
        ax.set_xlabel("time step")
    _header(fig, "Spikes, float and fixed point overlaid (the samples that differ most)",
            *axes[0, 0].get_legend_handles_labels())
    return fig


def _differ(count: int) -> str:
    return f"{count} spike{'' if count == 1 else 's'} differ{'s' if count == 1 else ''}"


def _header(fig, title: str, handles: list, labels: list[str]) -> None:
    """A title and, under it, the legend across the top of ``fig``, then lay the axes out below them."""
    height = fig.get_figheight()
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.32 / height), ncol=len(labels),
               fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.62 / height))


def _shade_differences(ax, a: np.ndarray, b: np.ndarray) -> None:
    """Shade the steps at which the spikes ``a`` and ``b`` (T,) differ."""
    for t in np.flatnonzero(a != b):
        ax.axvspan(t - 0.5, t + 0.5, color=FIXED, alpha=0.15, lw=0)


def traces(runs: Runs, sample: int):
    """Re z (S5-RF) or v (graphs) of two neurons per layer in ``sample``: the one whose spikes differ most (the
    most active among equals) and the one whose state moves furthest from float; float as a wide blue line, fixed
    point as a red dashed line on top, steps where their spikes differ shaded.  None without recorded states."""
    if not runs.float_states or any(s is None for s in runs.float_states):
        return None
    plt = _pyplot()
    rows = len(runs.layers)
    fig, axes = plt.subplots(rows, 2, figsize=(11, 0.8 + 2.4 * rows), squeeze=False, sharex=True)
    for i, name in enumerate(runs.layers):
        zf, zq = runs.float_states[i][sample].real, runs.fixed_states[i][sample].real
        sf, sq = runs.float_spikes[i][sample], runs.fixed_spikes[i][sample]
        order = np.lexsort((-sf.sum(axis=0, dtype=np.int64), -(sf != sq).sum(axis=0)))  # then the most active
        differing = int(order[0])
        deviation = np.abs(zq - zf).max(axis=0)
        deviation[differing] = -1  # a second neuron
        furthest = int(np.argmax(deviation))
        for ax, k, why in ((axes[i, 0], differing, "most spikes differ"), (axes[i, 1], furthest, "largest error")):
            _shade_differences(ax, sf[:, k], sq[:, k])
            ax.plot(zf[:, k], color=FLOAT, lw=3, alpha=0.45, label="float")
            ax.plot(zq[:, k], color=FIXED, lw=1, ls="--", label="fixed point")
            ax.set_title(f"{name}, neuron {k} ({why}): max |error| {np.abs(zq[:, k] - zf[:, k]).max():.2g}, "
                         f"{_differ(int((sf[:, k] != sq[:, k]).sum()))}", fontsize=9)
            ax.set_ylabel("Re z" if np.iscomplexobj(runs.float_states[i]) else "v")
    for ax in axes[-1]:
        ax.set_xlabel("time step")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    _header(fig, f"State traces, float and fixed point overlaid, sample {sample}",
            [*handles, plt.Rectangle((0, 0), 1, 1, color=FIXED, alpha=0.15)], [*labels, "spikes differ"])
    return fig


def agreement(result: dict[str, Any]):
    """Spike agreement per layer and top-1 agreement of the output, one bar each, with the warning line."""
    plt = _pyplot()
    names = [e["layer"] for e in result["layers"]] + ["output (top-1)"]
    values = [e["spike_agreement"] for e in result["layers"]] + [result["output"]["top1_agreement"]]
    colors = [FLOAT] * len(result["layers"]) + [OUTPUT]
    colors = [FIXED if v < LOW_SPIKE_AGREEMENT else c for v, c in zip(values, colors, strict=True)]
    fig, ax = plt.subplots(figsize=(2.5 + 1.2 * len(names), 3.6))
    ax.bar(names, values, color=colors)
    for x, v in enumerate(values):
        ax.text(x, v, f"{v:.4f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(LOW_SPIKE_AGREEMENT, color="0.3", ls=":", lw=1.2)
    low = min(values + [0.98])
    ax.set_ylim(max(0.0, low - 0.1 * (1 - low) - 0.005), 1.0 + 0.12 * (1 - low) + 0.002)
    ax.set_ylabel("agreement with float")
    ax.set_title("Fixed point against float: spikes per layer, prediction at the output\n"
                 f"(dotted: {LOW_SPIKE_AGREEMENT:g}; red bars are below it)", fontsize=9)
    fig.tight_layout()
    return fig


def _counts(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def _matrix(ax, fig, matrix: np.ndarray, vmax: int, title: str, rows: str, cols: str,
            reference: np.ndarray | None = None) -> None:
    """Draw a confusion ``matrix`` with its colour bar; cells that differ from ``reference`` get a red frame."""
    classes = len(matrix)
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(vmax, 1))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="samples")
    if classes <= ANNOTATED_CLASSES:
        for (r, c), v in np.ndenumerate(matrix):
            if v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > vmax / 2 else "black")
    if reference is not None:
        for r, c in zip(*np.nonzero(matrix != reference), strict=True):
            ax.add_patch(_pyplot().Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=FIXED, lw=1.5))
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    ticks = range(0, classes, 1 if classes <= ANNOTATED_CLASSES else max(1, classes // 10))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)


def confusion(runs: Runs, labels: np.ndarray | None):
    """With ``labels``: the confusion matrices of float and fixed point side by side on one colour scale, the
    fixed-point cells that differ from float framed in red; without: fixed-point predictions against float ones."""
    plt = _pyplot()
    classes = runs.float_logits.shape[1]
    pf, pq = runs.float_logits.argmax(-1), runs.fixed_logits.argmax(-1)
    size = 1.8 + 0.36 * min(classes, 24)
    if labels is None:
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
        matrix = _counts(pf, pq, classes)
        _matrix(ax, fig, matrix, int(matrix.max()),
                f"Predictions: fixed point against float\n(top-1 agreement {np.mean(pf == pq):.4f})",
                "float prediction", "fixed-point prediction")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(2 * size + 2.4, size + 0.3))
        fl, fx = _counts(labels, pf, classes), _counts(labels, pq, classes)
        vmax = int(max(fl.max(), fx.max()))
        _matrix(axes[0], fig, fl, vmax, f"float: accuracy {np.mean(pf == labels):.4f}", "label", "float prediction")
        _matrix(axes[1], fig, fx, vmax, f"fixed point: accuracy {np.mean(pq == labels):.4f} (red: differs from float)",
                "label", "fixed-point prediction", reference=fl)
        fig.suptitle(f"Confusion matrices on {len(labels)} samples", fontsize=10)
    fig.tight_layout()
    return fig
