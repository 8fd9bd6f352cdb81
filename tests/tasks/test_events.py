"""Event files binned into inputs (``events.py``, ``event_files.py``, ``samples.py``) and streamed results
(``tasks/results.py``)."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import REPO, random_spikes
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.events import clip_counts
from s5rf_deploy.samples import Binning, load_samples, open_samples, seeded_subset
from s5rf_deploy.tasks.results import MemoryResults, NpyResults

write_shd = runpy.run_path(str(REPO / "tools" / "synthetic_shd.py"))["write_shd"]


@pytest.fixture(scope="module")
def shd(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shd") / "small.h5"
    write_shd(str(path), 30, classes=4, spikes=200)
    return path


def _binned_by_loops(path: Path, steps: int, pool: int, max_time: float | None) -> np.ndarray:
    """The binning rule written out event by event from the file (docs: floor(t * T / max_time), t == max_time
    in the last step, later events dropped, channel // pool, at most 1 per bin)."""
    with h5py.File(path) as f:
        times, units = list(f["spikes/times"]), list(f["spikes/units"])
    max_time = max_time or max(float(t.max()) for t in times if len(t))
    out = np.zeros((len(times), steps, 700 // pool), np.float32)
    for i, (ts, us) in enumerate(zip(times, units, strict=True)):
        for t, u in zip(ts.tolist(), us.tolist(), strict=True):
            if t <= max_time:
                out[i, min(int(np.floor(t * steps / max_time)), steps - 1), u // pool] = 1
    return out


@pytest.mark.parametrize("max_time", [None, 0.5])
def test_hdf5_binning_matches_event_by_event_rule(shd: Path, max_time: float | None):
    data = open_samples(shd, Binning(steps=13, max_time=max_time, pool=5))
    assert (len(data), data.steps, data.width) == (30, 13, 140)
    whole = data.read(0, len(data))
    assert np.array_equal(whole, _binned_by_loops(shd, 13, 5, max_time))
    assert np.array_equal(data.read(7, 19), whole[7:19])
    assert np.array_equal(data.window(3, 9).read(), whole[3:9])
    assert np.array_equal(data.take(np.array([2, 11, 29])), whole[[2, 11, 29]])
    with h5py.File(shd) as f:
        assert np.array_equal(data.labels, f["labels"][()])


def test_sparse_npz_round_trips_dense_spikes(tmp_path: Path):
    dense = random_spikes(6, 9, 10, rate=0.3)
    sample, step, channel = np.nonzero(dense)
    np.savez(tmp_path / "ev.npz", sample=sample, step=step, channel=channel, labels=np.arange(6), samples=6,
             channels=10)
    data = open_samples(tmp_path / "ev.npz", Binning(steps=9))
    assert np.array_equal(data.read(0, 6), dense) and np.array_equal(data.labels, np.arange(6))
    pooled = open_samples(tmp_path / "ev.npz", Binning(pool=2)).read(0, 6)  # --steps default: last step + 1
    assert np.array_equal(pooled, np.minimum(dense.reshape(6, 9, 5, 2).sum(-1), 1)[:, :pooled.shape[1]])


def test_counts_clip_to_binary_spikes():
    assert clip_counts(np.array([0, 1, 2, 7])).tolist() == [0, 1, 1, 1]


def _ragged(rows: list, dtype: type) -> np.ndarray:
    out = np.empty(len(rows), object)
    for i, row in enumerate(rows):
        out[i] = np.array(row, dtype)
    return out


def _h5(path: Path, times: list, units: list, labels: bool = True) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/times", data=_ragged(times, np.float32), dtype=h5py.vlen_dtype(np.float32))
        f.create_dataset("spikes/units", data=_ragged(units, np.uint16), dtype=h5py.vlen_dtype(np.uint16))
        if labels:
            f["labels"] = np.zeros(len(times), np.uint8)
    return path


GOOD_T, GOOD_U = [0.1, 0.2], [3, 4]


@pytest.mark.parametrize("times, units, message", [
    ([GOOD_T, GOOD_T, [0.1, 0.2, 0.3]], [GOOD_U, GOOD_U, GOOD_U], "sample 2: spikes/times has 3 entries, "
                                                                   "spikes/units 2"),
    ([GOOD_T, [0.1, 0.2]], [GOOD_U, [3, 700]], "sample 1: unit outside 0..699 (700)"),
    ([GOOD_T, GOOD_T, [-0.1, 0.2]], [GOOD_U] * 3, "sample 2: negative time"),
    ([[0.1, np.nan], GOOD_T], [GOOD_U] * 2, "sample 0: non-finite time"),
])
def test_malformed_event_files_name_the_sample(tmp_path: Path, times, units, message):
    with pytest.raises(FormatError, match=re.escape(f"bad.h5: {message}")):
        open_samples(_h5(tmp_path / "bad.h5", times, units), Binning(steps=5))


def test_missing_labels_and_bad_options_are_refused(tmp_path: Path, shd: Path):
    path = _h5(tmp_path / "nolabels.h5", [GOOD_T], [GOOD_U], labels=False)
    with pytest.raises(S5RFError, match="--labels given, but the file has no 'labels' array"):
        load_samples(path, Binning(steps=5), labels=True)
    with pytest.raises(S5RFError, match="need --steps"):
        open_samples(shd)
    with pytest.raises(S5RFError, match="--pool 3 does not divide the file's 700 channels"):
        open_samples(shd, Binning(steps=5, pool=3))


def test_seeded_subset_is_fixed_and_sorted():
    a = seeded_subset(1000, 10)
    assert np.array_equal(a, seeded_subset(1000, 10)) and np.all(np.diff(a) > 0) and len(a) == 10
    assert np.array_equal(seeded_subset(5, 10), np.arange(5))


def test_calibration_draws_seeded_samples_from_dense_and_event_files_alike(tmp_path: Path):
    """A file sorted by class (here: 300 silent samples, then 300 active ones) calibrates on samples spread over
    it, the same from a dense .npz and from the same spikes as events (the first 256 would all be silent)."""
    from s5rf_deploy.dataset import Dataset, save_dataset
    from s5rf_deploy.demo import model_path
    from s5rf_deploy.tasks.fixed_artifacts import calibration_inputs
    from s5rf_deploy.tasks.loading import load_network

    dense = np.concatenate([np.zeros((300, 12, 8), np.float32), random_spikes(300, 12, 8, rate=0.2)])
    save_dataset(Dataset(dense), tmp_path / "sorted.npz")
    sample, step, channel = np.nonzero(dense)
    np.savez(tmp_path / "events.npz", sample=sample, step=step, channel=channel, samples=600, channels=8)
    net = load_network(model_path())
    drawn = dense[seeded_subset(600, 256)]
    for name in ("sorted.npz", "events.npz"):
        calib = calibration_inputs(str(tmp_path / name), net, binning=Binning(steps=12) if name == "events.npz"
                                   else Binning())
        assert np.array_equal(calib, drawn), name
    assert 0.3 < np.mean(drawn.any(axis=(1, 2))) < 0.7


def test_npy_results_written_out_of_order_equal_joined_parts(tmp_path: Path):
    rng = np.random.default_rng(0)
    parts = {start: {"readout": rng.normal(size=(4, 3)), "predictions": rng.integers(0, 3, 4),
                     "spikes_0": (rng.random((4, 5, 11)) < 0.3).astype(np.uint8),
                     "states_0": rng.integers(-2 ** 23, 2 ** 23, (4, 5, 11, 2)),
                     "saturation": np.array([start]), "saturation_names": np.array(["rf0"])}
             for start in (0, 4, 8)}
    memory, disk = MemoryResults(), NpyResults(tmp_path, 12, state_bits=24)
    for start in (8, 0, 4):
        memory.add(start, parts[start])
        disk.add(start, parts[start])
    joined, small = memory.finish(), disk.finish()
    assert int(small["saturation"][0]) == 12 and np.array_equal(small["predictions"], joined["predictions"])
    packed = json.loads((tmp_path / "layout.json").read_text())["packed_spikes"]
    for key in ("readout", "predictions", "spikes_0", "states_0", "saturation"):
        stored = np.load(tmp_path / f"{key}.npy", mmap_mode="r")
        if key in packed:
            assert stored.shape == (12, 5, 2)  # 11 neurons in 2 bytes
            stored = np.unpackbits(stored, axis=-1, count=packed[key], bitorder="little")
        assert np.array_equal(stored, joined[key]), key
    assert np.load(tmp_path / "states_0.npy").dtype == np.int32


def test_npy_results_refuse_states_beyond_the_profile(tmp_path: Path):
    with pytest.raises(S5RFError, match="states_0 exceeds the profile's 8-bit states"):
        NpyResults(tmp_path, 1, state_bits=8).add(0, {"states_0": np.array([[200]])})
