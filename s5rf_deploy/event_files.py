"""Readers of the two event-file layouts (:mod:`s5rf_deploy.events`): a window of samples to its events.

Readers hold only the file's path and what its header says, so they pickle
cheaply into Dask tasks and each shard reads just its own samples.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from s5rf_deploy.errors import FormatError
from s5rf_deploy.events import SHD_CHANNELS, Events

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
SPARSE_KEYS = ("sample", "step", "channel")


def is_hdf5(path: str | os.PathLike) -> bool:
    """Whether the file starts with the HDF5 signature."""
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def check_labels(path: str, labels: np.ndarray, n: int) -> np.ndarray:
    """``labels`` as int64, refused unless they are ``n`` non-negative integers."""
    if labels.shape != (n,):
        raise FormatError(f"{path}: 'labels' must have shape ({n},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.number) or np.any(labels != np.round(labels)) or np.any(labels < 0):
        raise FormatError(f"{path}: 'labels' must be non-negative integers")
    return labels.astype(np.int64)


@dataclass(frozen=True)
class H5Events:
    """An HDF5 file in the SHD/SSC layout: ``spikes/times`` in seconds, ``spikes/units``, ``labels``."""

    path: str
    n: int
    channels: int = SHD_CHANNELS

    @classmethod
    def open(cls, path: str) -> tuple[H5Events, np.ndarray | None]:
        """The reader of ``path`` and the file's labels (None if it has none)."""
        import h5py

        try:
            with h5py.File(path, "r") as f:
                missing = [key for key in ("spikes/times", "spikes/units") if key not in f]
                if missing:
                    raise FormatError(f"{path}: not a dataset: an HDF5 file without {' and '.join(missing)} (the "
                                      f"SHD/SSC layout has spikes/times, spikes/units, labels)")
                n, units = len(f["spikes/times"]), len(f["spikes/units"])
                if n != units:
                    raise FormatError(f"{path}: spikes/times holds {n} samples, spikes/units {units}")
                labels = check_labels(path, f["labels"][()], n) if "labels" in f else None
        except OSError as exc:
            raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
        if n == 0:
            raise FormatError(f"{path}: holds no samples")
        return cls(path, n), labels

    def events(self, selection: slice | np.ndarray, first: int) -> Events:
        """The events of the selected samples (a slice, or sorted indices); ``first`` names them in errors."""
        import h5py

        with h5py.File(self.path, "r") as f:
            times, units = f["spikes/times"][selection], f["spikes/units"][selection]
        counts = np.fromiter(map(len, times), np.int64, len(times))
        unit_counts = np.fromiter(map(len, units), np.int64, len(units))
        if np.any(counts != unit_counts):
            at = int(np.argmax(counts != unit_counts))
            raise FormatError(f"{self.path}: sample {first + at}: spikes/times has {counts[at]} entries, "
                              f"spikes/units {unit_counts[at]}")
        sample = np.repeat(np.arange(len(counts)), counts)
        return Events(sample, _join(times, np.float64), _join(units, np.int64))


def _join(arrays: np.ndarray, dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if len(arrays) else np.zeros(0, dtype)


@dataclass(frozen=True)
class SparseEvents:
    """A sparse ``.npz``: ``sample``, ``step``, ``channel`` and optional ``value`` per event."""

    path: str
    n: int
    channels: int
    steps: int  # the longest sample's steps: last step + 1

    @classmethod
    def open(cls, path: str) -> tuple[SparseEvents, np.ndarray | None]:
        """The reader of ``path`` and the file's labels (None if it has none)."""
        arrays = _sparse_arrays(path, os.stat(path).st_mtime_ns)
        sample, step, channel = (arrays[k] for k in SPARSE_KEYS)
        labels = arrays.get("labels")
        n = int(arrays["samples"]) if "samples" in arrays else len(labels) if labels is not None \
            else int(sample.max(initial=-1)) + 1
        if n <= 0:
            raise FormatError(f"{path}: holds no samples")
        if sample.size and (sample.min() < 0 or sample.max() >= n):
            bad = sample.min() if sample.min() < 0 else sample.max()
            raise FormatError(f"{path}: 'sample' must lie in 0..{n - 1}, found {bad}")
        channels = int(arrays["channels"]) if "channels" in arrays else int(channel.max(initial=-1)) + 1
        return cls(path, n, max(channels, 1), int(step.max(initial=0)) + 1), \
            None if labels is None else check_labels(path, labels, n)

    def events(self, selection: slice | np.ndarray, first: int) -> Events:
        """The events of the selected samples (a slice, or sorted indices)."""
        arrays = _sparse_arrays(self.path, os.stat(self.path).st_mtime_ns)
        chosen = np.arange(self.n)[selection]
        position = np.full(self.n, -1, np.int64)
        position[chosen] = np.arange(len(chosen))
        pos = position[arrays["sample"]]
        keep = pos >= 0
        value = arrays.get("value")
        return Events(pos[keep], arrays["step"][keep].astype(np.float64), arrays["channel"][keep].astype(np.int64),
                      None if value is None else value[keep].astype(np.float64))


@functools.lru_cache(maxsize=1)
def _sparse_arrays(path: str, _mtime_ns: int) -> dict[str, np.ndarray]:
    """The arrays of a sparse ``.npz``, read once per process (and again if the file changes), checked for
    whole-number indices of equal length."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    lengths = {k: arrays[k].shape for k in (*SPARSE_KEYS, "value") if k in arrays}
    if len(set(lengths.values())) != 1 or any(len(s) != 1 for s in lengths.values()):
        raise FormatError(f"{path}: sample, step, channel (and value) must be 1-D arrays of one length, got "
                          + ", ".join(f"{k} {s}" for k, s in lengths.items()))
    for key in SPARSE_KEYS:
        if not np.issubdtype(arrays[key].dtype, np.integer):
            raise FormatError(f"{path}: {key!r} must be integers, got {arrays[key].dtype}")
    return arrays
