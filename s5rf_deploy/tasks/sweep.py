"""``sweep``: ``compare`` for several hardware profiles and weight digits, as one sharded job.

Each choice is quantized here as ``compare`` quantizes (calibrated on
``calibrate``, else on seeded samples of the inputs); the float and
fixed-point runs of all choices (:class:`~s5rf_deploy.tasks.compare.CompareJob`)
then run as one stream of shards on a pool's workers, and each choice is
summarised by :func:`~s5rf_deploy.tasks.compare.metrics` and its resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from s5rf_deploy.progress import Progress
from s5rf_deploy.samples import NO_BINNING, Binning
from s5rf_deploy.tasks.compare import CompareJob, metrics
from s5rf_deploy.tasks.families import family_of
from s5rf_deploy.tasks.fixed_artifacts import fixed_point_for
from s5rf_deploy.tasks.shards import Pool, run_jobs


@dataclass(frozen=True)
class Choice:
    """One quantization to compare: a hardware profile (name or TOML path) and weight digits per connection."""

    profile: str
    digits: int


def sweep(net, inputs: np.ndarray, labels: np.ndarray | None, choices: list[Choice], source: str,
          calibrate: str | None = None, dt: float | None = None, warn: Callable[[str], None] | None = None,
          progress: Progress | None = None, pool: Pool | None = None, binning: Binning = NO_BINNING,
          device: str = "cpu") -> list[dict[str, Any]]:
    """One entry per choice, in order: profile, digits, what was quantized, resources, the headline numbers and
    the full ``compare`` metrics on ``inputs`` (read from the file ``source``; event files binned as
    ``binning`` says, ``calibrate`` too); the steppers run on ``device``."""
    fixed = [fixed_point_for(net, None, c.profile, calibrate, dt, (source, inputs), warn, c.digits, binning)
             for c in choices]
    runs = run_jobs([(CompareJob(net, fxp, device=device), inputs) for fxp, _ in fixed], progress, pool)
    entries = []
    for choice, (fxp, what), run in zip(choices, fixed, runs, strict=True):
        result = metrics(run, labels)
        resources = family_of(fxp).resources(fxp)
        entries.append({"profile": fxp.profile.name, "digits": choice.digits, "fixed_point": what,
                        "resources": {k: resources[k] for k in ("neurons", "synapses", "cores", "fits")},
                        "top1_agreement": result["output"]["top1_agreement"],
                        "accuracy": result["output"].get("accuracy"),
                        "spike_agreement": min((e["spike_agreement"] for e in result["layers"]), default=None),
                        "saturated_updates": sum(result["saturation"].values()), "metrics": result})
    return entries
