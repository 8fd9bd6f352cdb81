"""Run a model over a dataset in batches and collect the ``simulate`` outputs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np
import torch

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.model import S5RFModel


def simulate_torch(model: S5RFModel, inputs: np.ndarray, record: Iterable[str] = (),
                   batch_size: int = 64, progress: Callable | None = None) -> dict[str, np.ndarray]:
    """Float forward of ``inputs`` (N, T, H): readout log-probs, predictions, recordings."""
    record = set(record)
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    starts = range(0, len(inputs), batch_size)
    with torch.no_grad():
        for start in progress(starts) if progress else starts:
            out = model(torch.from_numpy(inputs[start:start + batch_size]), record_states="states" in record)
            parts.setdefault("readout", []).append(out.logprobs.numpy())
            if "spikes" in record:
                for i, s in enumerate(out.spikes):
                    parts.setdefault(f"spikes_{i}", []).append(s.numpy().astype(np.uint8))
            if "states" in record:
                for i, x in enumerate(out.states):
                    parts.setdefault(f"states_{i}", []).append(x.numpy())
    run = {k: np.concatenate(v) for k, v in parts.items()}
    run["predictions"] = run["readout"].argmax(-1)
    return run


def write_run(run: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write a run's arrays atomically as ``.npz``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **run)
