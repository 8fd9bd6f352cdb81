"""Dataset files: ``.npz`` with ``inputs`` (N, T, H) and optional ``labels`` (N,)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.fixed.inputs import BINARY_INPUT, InputEncoding
from s5rf_deploy.timing import stage


@dataclass(frozen=True)
class Dataset:
    """Input sequences and optional integer class labels."""

    inputs: np.ndarray  # float32 (N, T, H)
    labels: np.ndarray | None = None  # int64 (N,)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def head(self, n: int | None) -> Dataset:
        """The first ``n`` samples (all if ``n`` is None)."""
        if n is None:
            return self
        labels = None if self.labels is None else self.labels[:n]
        return Dataset(self.inputs[:n], labels)

    def check_width(self, width: int, source: str) -> None:
        """Raise if the input width differs from the model's ``width``."""
        if self.inputs.shape[2] != width:
            raise S5RFError(
                f"{source}: inputs have {self.inputs.shape[2]} channels, the model expects {width}"
            )

    def check_inputs(self, source: str, encoding: InputEncoding = BINARY_INPUT) -> None:
        """Raise unless a fixed-point network with this input ``encoding`` takes the inputs (binary spikes, or
        analog values within a graded encoding's range)."""
        try:
            encoding.encode(self.inputs, self.inputs.shape[2])
        except S5RFError as exc:
            raise S5RFError(f"{source}: {exc}") from None


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Read and validate a dataset file."""
    with stage(f"load and check {path}"):
        return _read_dataset(Path(path))


def _read_dataset(p: Path) -> Dataset:
    with container.open_npz(p, "dataset .npz file") as data:
        if container.META_KEY in data.files:
            raise FormatError(f"{p}: holds a {container.peek_kind(p)!r} (an s5rf-deploy artifact), not a dataset")
        if "inputs" not in data.files:
            raise FormatError(f"{p}: no 'inputs' array (found {sorted(data.files)})")
        inputs = data["inputs"]
        labels = data["labels"] if "labels" in data.files else None
    if inputs.ndim != 3:
        raise FormatError(f"{p}: 'inputs' must have shape (N, T, H), got {inputs.shape}")
    if min(inputs.shape) == 0:
        raise FormatError(f"{p}: 'inputs' is empty (shape {inputs.shape})")
    if not np.issubdtype(inputs.dtype, np.number) or np.iscomplexobj(inputs):
        raise FormatError(f"{p}: 'inputs' must be real numbers, got {inputs.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # too large values become Inf, refused next
        values = inputs.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise FormatError(f"{p}: 'inputs' contains NaN, Inf or values beyond the float32 range")
    if labels is not None:
        if labels.shape != (inputs.shape[0],):
            raise FormatError(f"{p}: 'labels' must have shape ({inputs.shape[0]},), got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.number) or np.any(labels != np.round(labels)) or np.any(labels < 0):
            raise FormatError(f"{p}: 'labels' must be non-negative integers")
        labels = labels.astype(np.int64)
    return Dataset(values, labels)



def save_dataset(dataset: Dataset, path: str | os.PathLike) -> None:
    """Write a dataset file atomically."""
    arrays = {"inputs": dataset.inputs}
    if dataset.labels is not None:
        arrays["labels"] = dataset.labels
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
