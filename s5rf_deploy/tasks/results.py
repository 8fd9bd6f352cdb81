"""Where a run's outputs go, part by part (a part: the outputs of consecutive samples ``start, start+1, ...``).

- :class:`MemoryResults` keeps the parts and joins them (an ``.npz``, as
  ``simulate -o run.npz`` always wrote).
- :class:`NpyResults` writes each part into one ``.npy`` file per output in a
  folder, at the part's place, and keeps nothing, so memory does not grow with
  the number of samples.  ``.npy`` because ``np.load(path, mmap_mode="r")``
  opens it with numpy alone (zarr would be a new dependency for a format that
  only needs fixed-shape arrays written at offsets).  Spikes are bit-packed
  along the neuron axis (``np.packbits(..., bitorder="little")``; the folder's
  ``layout.json`` gives each packed array's neuron count), multi-bit counts
  are stored as uint8 (``layout.json`` lists them); integer states are
  stored in the narrowest signed type holding the profile's state bits.
  Parts are written with file writes, not memory maps, so written pages do
  not count against the process's memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from s5rf_deploy.errors import S5RFError

SMALL = ("predictions", "saturation", "saturation_names")  # what finish() returns of a streamed run
LAYOUT = "layout.json"


def merge_runs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The outputs of one run from those of consecutive slices of its samples: arrays joined in order,
    saturation counts summed."""
    first = parts[0]
    return {k: sum(p[k] for p in parts) if k == "saturation" else first[k] if k == "saturation_names"
            else np.concatenate([p[k] for p in parts]) for k in first}


class Results(Protocol):
    """A sink for the parts of a run."""

    def add(self, start: int, part: dict[str, np.ndarray]) -> None:
        """Take the outputs of the samples from ``start`` on."""

    def finish(self) -> dict[str, np.ndarray]:
        """The run's outputs (a streamed run: only predictions and saturation counts)."""


class MemoryResults:
    """Parts kept in memory, joined at the end."""

    def __init__(self) -> None:
        self.parts: dict[int, dict[str, np.ndarray]] = {}

    def add(self, start: int, part: dict[str, np.ndarray]) -> None:
        self.parts[start] = part

    def finish(self) -> dict[str, np.ndarray]:
        return merge_runs([self.parts[k] for k in sorted(self.parts)])


def narrow_int(bits: int) -> np.dtype:
    """The narrowest signed integer type holding ``bits``-bit two's complement values."""
    return next(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64) if np.dtype(t).itemsize * 8 >= bits)


class NpyResults:
    """Parts written into ``folder/<output>.npy`` files of ``samples`` rows each."""

    def __init__(self, folder: Path, samples: int, state_bits: int | None = None,
                 counts: frozenset[str] = frozenset()) -> None:
        self.folder, self.samples, self.state_bits, self.counts = folder, samples, state_bits, counts
        self.files: dict[str, tuple[Any, int, int]] = {}  # key -> (open file, data offset, bytes per sample)
        self.packed: dict[str, int] = {}
        self.small = MemoryResults()

    def add(self, start: int, part: dict[str, np.ndarray]) -> None:
        self.small.add(start, {k: v for k, v in part.items() if k in SMALL})
        for key, value in part.items():
            if key not in SMALL or key == "predictions":
                self._write(key, start, self._stored(key, value))

    def finish(self) -> dict[str, np.ndarray]:
        self.close()
        (self.folder / LAYOUT).write_text(json.dumps(
            {"samples": self.samples, "packed_spikes": self.packed, "spike_counts": sorted(self.counts),
             "note": "np.unpackbits(np.load(f), axis=-1, count=neurons, bitorder='little') for each packed array"},
            indent=2, sort_keys=True) + "\n")
        small = self.small.finish()
        for key in ("saturation", "saturation_names"):
            if key in small:
                np.save(self.folder / f"{key}.npy", small[key])
        return small

    def _stored(self, key: str, value: np.ndarray) -> np.ndarray:
        if key in self.counts:
            return value.astype(np.uint8)
        if key.startswith("spikes_"):
            if not np.all((value == 0) | (value == 1)):
                raise S5RFError(f"{key} holds values other than 0/1; write an .npz output instead")
            self.packed[key] = value.shape[-1]
            return np.packbits(value.astype(bool), axis=-1, bitorder="little")
        if key.startswith("states_") and self.state_bits and np.issubdtype(value.dtype, np.integer):
            dtype = narrow_int(self.state_bits)
            info = np.iinfo(dtype)
            if value.size and (value.min() < info.min or value.max() > info.max):
                raise S5RFError(f"{key} exceeds the profile's {self.state_bits}-bit states")
            return value.astype(dtype)
        return value

    def _write(self, key: str, start: int, value: np.ndarray) -> None:
        if key not in self.files:
            f = open(self.folder / f"{key}.npy", "wb")  # noqa: SIM115 (closed in finish)
            header = {"descr": np.lib.format.dtype_to_descr(value.dtype), "fortran_order": False,
                      "shape": (self.samples, *value.shape[1:])}
            np.lib.format.write_array_header_2_0(f, header)
            row = value[:1].nbytes
            f.truncate(f.tell() + row * self.samples)
            self.files[key] = (f, f.tell(), row)
        f, offset, row = self.files[key]
        f.seek(offset + start * row)
        f.write(np.ascontiguousarray(value).tobytes())

    def close(self) -> None:
        """Close the files (:meth:`finish` does; call it after a failure too)."""
        for f, _, _ in self.files.values():
            f.close()
