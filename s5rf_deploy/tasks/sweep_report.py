"""The ``sweep`` report folder: ``report.json``, ``report.md`` (one row per choice) and ``sweep.png``.

Written under a temporary name and renamed into place (:func:`s5rf_deploy.atomic.atomic_dir`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from s5rf_deploy.atomic import atomic_dir

HEADER = ["profile", "digits", "neurons", "synapses", "cores", "fits", "top-1 agr", "accuracy fx", "min spike agr",
          "saturated"]


def table_rows(entries: list[dict[str, Any]]) -> list[list[str]]:
    """The cells under :data:`HEADER`, one row per choice (``-`` where there is no value)."""
    rows = []
    for e in entries:
        res, acc, agree = e["resources"], e["accuracy"], e["spike_agreement"]
        rows.append([e["profile"], str(e["digits"]), str(res["neurons"]), str(res["synapses"]), str(res["cores"]),
                     "yes" if res["fits"] else "no", f"{e['top1_agreement']:.4f}",
                     "-" if acc is None else f"{acc['fixed']:.4f}", "-" if agree is None else f"{agree:.4f}",
                     str(e["saturated_updates"])])
    return rows


def _plot(entries: list[dict[str, Any]], path: Path) -> None:
    """Top-1 agreement (and fixed-point accuracy, with labels) against synapses, one series per profile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for profile in dict.fromkeys(e["profile"] for e in entries):
        mine = sorted((e for e in entries if e["profile"] == profile), key=lambda e: e["resources"]["synapses"])
        synapses = [e["resources"]["synapses"] for e in mine]
        line, = ax.plot(synapses, [e["top1_agreement"] for e in mine], marker="o", label=f"{profile}: top-1 agreement")
        if all(e["accuracy"] for e in mine):
            ax.plot(synapses, [e["accuracy"]["fixed"] for e in mine], marker="s", ls="--", color=line.get_color(),
                    label=f"{profile}: accuracy (fixed point)")
        for e, x in zip(mine, synapses, strict=True):
            ax.annotate(f"{e['digits']}d", (x, e["top1_agreement"]), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    ax.set_xlabel("synapses")
    ax.set_ylabel("fraction of samples")
    ax.set_title("fixed point against float, per profile and weight digits (d)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(model: str, samples: int, entries: list[dict[str, Any]]) -> str:
    lines = ["# Quantization sweep", "", f"Model `{model}`, {samples} samples; each row is `compare` for one "
             "hardware profile and number of weight digits per connection (docs/compare.md).", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(entries)]
    lines += ["", "How each was quantized:", ""] + [f"- {e['profile']}, {e['digits']} digits: {e['fixed_point']}"
                                                     for e in entries]
    return "\n".join(lines + ["", "![sweep](sweep.png)", ""])


def write_sweep(folder: str | os.PathLike, model: str, samples: int, entries: list[dict[str, Any]],
                force: bool = False) -> list[str]:
    """Write the report folder atomically; returns the files written."""
    target = Path(folder)
    with atomic_dir(target, replace=force) as tmp:
        _plot(entries, tmp / "sweep.png")
        (tmp / "report.json").write_text(json.dumps({"model": model, "samples": samples, "choices": entries},
                                                    indent=2, sort_keys=True) + "\n")
        (tmp / "report.md").write_text(_markdown(model, samples, entries))
    return sorted(p.name for p in target.iterdir())
