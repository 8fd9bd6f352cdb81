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
from s5rf_deploy.tasks import compare_figures as figures
from s5rf_deploy.tasks.compare import Runs
from s5rf_deploy.timing import stage


def _markdown(result: dict[str, Any], drawn: list[tuple[str, str]]) -> str:
    out = result["output"]
    lines = ["# Fixed point against float", "",
             f"Model `{result['model']}`, {out['samples']} samples, {result['fixed_point']}.", "",
             "| layer | neurons | rate float | rate fixed | spike agreement | Hamming/neuron | first divergence "
             "(median) | never diverged | state SNR dB | bits/message | messages/sample float | fixed | "
             "bits/sample float | fixed | synops/sample float | fixed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in result["layers"]:
        fd = e["first_divergence"]
        snr = e.get("state_snr_db")
        lines.append(f"| {e['layer']} | {e['neurons']} | {e['rate']['float']:.4f} | {e['rate']['fixed']:.4f} | "
                     f"{e['spike_agreement']:.4f} | {e['hamming_per_neuron']['mean']:.3f} | "
                     f"{'-' if fd['median'] is None else fd['median']} | {fd['never']}/{fd['samples']} | "
                     f"{'-' if snr is None else f'{snr:.1f}'} | {e['payload_bits']} | "
                     + " | ".join(f"{e[f'{what}_per_sample'][side]:.0f}" for what in ("messages", "bits", "synops")
                                  for side in ("float", "fixed")) + " |")
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
    lines += [f"## {title}\n\n![{title}]({name})\n" for name, title in drawn]
    return "\n".join(lines)


def write_report(folder: str | os.PathLike, result: dict[str, Any], runs: Runs, labels: np.ndarray | None,
                 force: bool = False) -> list[str]:
    """Write the report folder atomically; returns the files written."""
    target = Path(folder)
    with atomic_dir(target, replace=force) as tmp:
        drawn = _draw(runs, result, labels, tmp)
        (tmp / "report.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        (tmp / "report.md").write_text(_markdown(result, drawn))
    return sorted(p.name for p in target.iterdir())


def _draw(runs: Runs, result: dict[str, Any], labels: np.ndarray | None, folder: Path) -> list[tuple[str, str]]:
    """Write the figures into ``folder``; returns (file, title) of each."""
    samples = figures.differing_samples(runs)
    matrices = "Confusion matrices" if labels is not None else "Predictions, fixed point against float"
    drawers = [("raster.png", "Spikes, float and fixed point overlaid", lambda: figures.raster(runs, samples)),
               ("traces.png", "State traces, float and fixed point overlaid", lambda: figures.traces(runs, samples[0])),
               ("agreement.png", "Agreement per layer and at the output", lambda: figures.agreement(result)),
               ("confusion.png", matrices, lambda: figures.confusion(runs, labels))]
    written = []
    with stage("figures", notice="drawing the report's figures"):
        for name, title, draw in drawers:
            with stage(f"figure {name}"):
                fig = draw()
                if fig is not None:
                    figures.save(fig, folder / name)
                    written.append((name, title))
    return written
