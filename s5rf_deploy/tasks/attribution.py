"""Where a fixed-point network loses top-1 agreement: each stage's share, from runs already made.

Stage k's share is measured by running the float network from stage k on, fed
with the fixed-point spikes of the stages before it: ``A_k`` is the top-1
agreement of that run with the float network (``A_0 = 1``: all float; the last
``A`` is the fixed-point network's own).  Stage k (an RF layer, then the
readout) costs ``A_k - A_{k+1}``; the shares add up to the whole loss.  A share
can be negative when a stage happens to undo an earlier stage's errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network
from s5rf_deploy.tasks.compare import Runs
from s5rf_deploy.timing import stage

HINTS = {  # (stage kind, whether the fixed-point network was calibrated) -> what helps
    ("readout", False): "readout quantization: calibrate (--calibrate TRAIN.npz) or lower --max-steps to the run's "
                        "length",
    ("layer", False): "state and weight quantization: calibrate (--calibrate TRAIN.npz) or use more --digits",
    ("readout", True): "readout quantization despite calibration: calibrate on data like these inputs (longer or "
                       "more active sequences need a wider range), or use more --digits",
    ("layer", True): "state and weight quantization despite calibration: use more --digits (or --digits auto) or a "
                     "profile with more state bits",
}


@stage("agreement lost per stage")
def attribute(net: S5RFNetwork, runs: Runs, inputs: np.ndarray, calibrated: bool = False) -> list[dict[str, Any]]:
    """Each stage's share of the lost top-1 agreement, in stage order (``stage``, ``top1_cost``, ``hint``);
    the hints depend on whether the fixed-point network was ``calibrated``."""
    model = model_from_network(net)
    float_pred = runs.float_logits.argmax(-1)
    agreements = [1.0]
    x = torch.from_numpy(np.asarray(inputs, np.float64))
    with torch.no_grad():
        for k, spikes in enumerate(runs.fixed_spikes, start=1):
            s = torch.from_numpy(spikes.astype(np.float64))
            x = s + x if model.config.has_skip(k - 1) else s
            tail = model(x, start=k).logprobs.argmax(-1).numpy()
            agreements.append(float((tail == float_pred).mean()))
    agreements.append(float((runs.fixed_logits.argmax(-1) == float_pred).mean()))
    names = [*runs.layers, "readout"]
    return [{"stage": name, "top1_cost": agreements[i] - agreements[i + 1],
             "hint": HINTS["readout" if name == "readout" else "layer", calibrated]} for i, name in enumerate(names)]


WORTH_A_WARNING = 0.01  # a stage that costs at least one point of top-1 agreement is flagged
LOW_SPIKE_AGREEMENT = 0.99  # a layer whose spikes agree less is flagged


def summary_line(shares: list[dict[str, Any]]) -> str | None:
    """One line naming the stage that costs the most agreement and its fix; None when no stage costs
    :data:`WORTH_A_WARNING` or more."""
    worst = max(shares, key=lambda s: s["top1_cost"])
    if worst["top1_cost"] < WORTH_A_WARNING:
        return None
    others = ", ".join(f"{s['stage']} {100 * s['top1_cost']:.1f}" for s in shares if s is not worst)
    return (f"{worst['stage']} costs {100 * worst['top1_cost']:.1f} points of top-1 agreement ({others}); "
            f"{worst['hint']}")


def flags(result: dict[str, Any]) -> list[str]:
    """What a reader of a compare result must not miss, one line each: a fixed-point network quantized
    without calibration data, the stage that loses the most agreement, layers below 0.99 spike agreement,
    saturated updates."""
    out = []
    if result.get("calibrated") is False:
        out.append("the fixed-point network was quantized without calibration data (scales for worst-case inputs); "
                   "quantize with --calibrate TRAIN.npz for deployment")
    line = summary_line(result["attribution"]) if result.get("attribution") else None
    if line:
        out.append(line)
    out += [f"{e['layer']}: spike agreement {e['spike_agreement']:.4f} (below {LOW_SPIKE_AGREEMENT:g})"
            for e in result["layers"] if e["spike_agreement"] < LOW_SPIKE_AGREEMENT]
    saturated = sum(result["saturation"].values())
    if saturated:
        worst = max(result["saturation"], key=result["saturation"].get)
        out.append(f"{saturated} saturated updates in the fixed-point run (most in {worst}): the state range is too "
                   f"small for these inputs; calibrate on data like them")
    return out
