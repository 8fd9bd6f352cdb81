"""A dataset file as samples read in windows: dense ``.npz`` (held in memory, as always) or an event file
(:mod:`s5rf_deploy.events`), binned window by window so memory does not grow with the number of samples.

Every kind offers the same: ``len``, ``width``, ``steps``, ``labels``,
``read(start, stop)`` / ``take(indices)`` (float32 ``(n, T, H)`` inputs) and
``window(start, stop)``, what a shard of a sharded run carries to its worker
(the inputs themselves for dense data, only the range for event files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.dataset import Dataset, load_dataset
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.event_files import SPARSE_KEYS, H5Events, SparseEvents, is_hdf5
from s5rf_deploy.events import bin_events, check_events, clip_counts
from s5rf_deploy.fixed.inputs import InputEncoding
from s5rf_deploy.timing import stage

SCAN_SAMPLES = 256  # samples per window of the checking pass over an event file


@dataclass(frozen=True)
class Binning:
    """How event files become inputs: ``steps`` bins over ``max_time`` seconds (default: the longest sample),
    channels summed in groups of ``pool``, counts clipped to ``payload_bits`` (:func:`clip_counts`)."""

    steps: int | None = None
    max_time: float | None = None
    pool: int = 1
    payload_bits: int = 1

    def options(self) -> list[str]:
        """The binning options given (for refusing them where they do not apply)."""
        return [name for name, on in (("--steps", self.steps), ("--max-time", self.max_time),
                                      ("--pool", self.pool != 1)) if on]


NO_BINNING = Binning()


@dataclass(frozen=True)
class DenseSamples:
    """A dense dataset in memory."""

    data: Dataset

    def __len__(self) -> int:
        return len(self.data)

    @property
    def width(self) -> int:
        return self.data.inputs.shape[2]

    @property
    def steps(self) -> int:
        return self.data.inputs.shape[1]

    @property
    def labels(self) -> np.ndarray | None:
        return self.data.labels

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.data.inputs[start:stop]

    def take(self, indices: np.ndarray) -> np.ndarray:
        return self.data.inputs[indices]

    window = read

    def limit(self, n: int | None) -> DenseSamples:
        """The first ``n`` samples (all if None)."""
        return DenseSamples(self.data.head(n))


@dataclass(frozen=True)
class EventSamples:
    """An event file, binned on reading."""

    reader: H5Events | SparseEvents
    n: int
    steps: int
    max_time: float | None  # None: the file's steps are taken as they are
    pool: int
    payload_bits: int
    labels: np.ndarray | None

    def __len__(self) -> int:
        return self.n

    @property
    def width(self) -> int:
        return self.reader.channels // self.pool

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._binned(slice(start, min(stop, self.n)), start)

    def take(self, indices: np.ndarray) -> np.ndarray:
        return self._binned(np.asarray(indices), 0)

    def window(self, start: int, stop: int) -> Window:
        return Window(self, start, stop)

    def limit(self, n: int | None) -> EventSamples:
        """The first ``n`` samples (all if None)."""
        if n is None or n >= self.n:
            return self
        return replace(self, n=n, labels=None if self.labels is None else self.labels[:n])

    def _binned(self, selection: slice | np.ndarray, first: int) -> np.ndarray:
        events = self.reader.events(selection, first)
        count = len(np.arange(self.reader.n)[selection])
        counts = bin_events(events, count, self.steps, self.reader.channels, self.pool, self.max_time)
        return clip_counts(counts, self.payload_bits)


@dataclass(frozen=True)
class Window:
    """Samples ``start:stop`` of an event file, read where the shard runs."""

    samples: EventSamples
    start: int
    stop: int

    def read(self) -> np.ndarray:
        return self.samples.read(self.start, self.stop)


Samples = DenseSamples | EventSamples


def check_samples(data: Samples, width: int, source: str, encoding: InputEncoding | None = None) -> None:
    """Refuse inputs of another width than the model's, or (given the ``encoding`` of a fixed-point network)
    dense inputs it does not take (binned event counts are clipped to 0/1 spikes, which every encoding takes)."""
    if data.width != width:
        pool = f" after --pool {data.pool}" if isinstance(data, EventSamples) and data.pool > 1 else ""
        raise S5RFError(f"{source}: inputs have {data.width} channels{pool}, the model expects {width}")
    if encoding is not None and isinstance(data, DenseSamples):
        data.data.check_inputs(source, encoding)


def as_samples(inputs: np.ndarray | Samples) -> Samples:
    """Inputs given as an array, as samples."""
    return DenseSamples(Dataset(inputs)) if isinstance(inputs, np.ndarray) else inputs


def sample_bytes(data: Samples) -> int:
    """The bytes of one sample's float32 inputs."""
    return data.steps * data.width * 4


def window_inputs(window: np.ndarray | Window) -> np.ndarray:
    """A shard's inputs: carried along (dense data) or read now (an event file's window)."""
    return window.read() if isinstance(window, Window) else window


def open_samples(path: str | os.PathLike, binning: Binning = NO_BINNING) -> Samples:
    """The samples of a dataset file: dense ``.npz`` (binning options refused), HDF5 in the SHD/SSC layout, or a
    sparse ``.npz`` of events.  Event files are checked whole first (one pass, window by window)."""
    path = str(path)
    if is_hdf5(path):
        reader, labels = H5Events.open(path)
    else:
        with container.open_npz(path, "dataset .npz file") as data:
            sparse = all(k in data.files for k in SPARSE_KEYS)
        if not sparse:
            if binning.options():
                raise S5RFError(f"{path}: {', '.join(binning.options())} apply to event files (HDF5 or sparse "
                                f".npz), not to dense inputs")
            return DenseSamples(load_dataset(path))
        reader, labels = SparseEvents.open(path)
    with stage(f"check the events of {path}"):
        return _binned(reader, labels, binning)


def _binned(reader: H5Events | SparseEvents, labels: np.ndarray | None, binning: Binning) -> EventSamples:
    path = reader.path
    if reader.channels % binning.pool:
        raise S5RFError(f"{path}: --pool {binning.pool} does not divide the file's {reader.channels} channels")
    if isinstance(reader, SparseEvents):
        if binning.max_time is not None:
            raise S5RFError(f"{path}: --max-time bins times in seconds (HDF5 files); a sparse .npz holds steps")
        steps, max_time = binning.steps or reader.steps, None
    else:
        if binning.steps is None:
            raise S5RFError(f"{path}: event times in seconds need --steps T (bins over --max-time)")
        steps, max_time = binning.steps, binning.max_time
    longest = 0.0
    for start in range(0, reader.n, SCAN_SAMPLES):
        events = reader.events(slice(start, min(start + SCAN_SAMPLES, reader.n)), start)
        check_events(path, start, events, reader.channels)
        longest = max(longest, float(events.time.max(initial=0.0)))
    if isinstance(reader, H5Events) and max_time is None:
        if longest <= 0:
            raise FormatError(f"{path}: no event after time 0; give --max-time")
        max_time = longest
    return EventSamples(reader, reader.n, steps, max_time, binning.pool, binning.payload_bits, labels)


def load_samples(path: str | os.PathLike, binning: Binning = NO_BINNING, samples: int | None = None,
                 labels: bool = False) -> Samples:
    """:func:`open_samples` limited to the first ``samples``; refused when ``labels`` are wanted but absent."""
    data = open_samples(path, binning).limit(samples)
    if labels and data.labels is None:
        raise S5RFError(f"{path}: --labels given, but the file has no 'labels' array")
    return data


def load_labelled(path: str | os.PathLike, samples: int | None = None, labels: bool = False,
                  binning: Binning = NO_BINNING) -> Dataset:
    """The first ``samples`` samples (all if None) of the dataset file at ``path`` in memory, refused when
    ``labels`` are wanted but absent (what a network takes is checked by :func:`check_samples`)."""
    data = load_samples(path, binning, samples, labels)
    if isinstance(data, DenseSamples):
        return data.data
    return Dataset(data.read(0, len(data)), data.labels)


def seeded_subset(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``size`` of ``n`` samples drawn with a fixed seed (all of them when ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))
