"""Event files through the CLI: ``simulate`` streamed into a folder equals the dense in-memory path, failures
leave nothing behind, ``compare`` and ``quantize --calibrate`` read them too."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_bad_input, run
from helpers import REPO, make_model
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf import checkpoint
from s5rf_deploy.samples import Binning, open_samples
from s5rf_deploy.tasks.loading import load_network
from s5rf_deploy.tasks.simulation import simulate_to

write_shd = runpy.run_path(str(REPO / "tools" / "synthetic_shd.py"))["write_shd"]
BINNING = ("--steps", "12", "--pool", "5")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("events")
    files = {"model": folder / "m.s5rf", "h5": folder / "test.h5", "dense": folder / "dense.npz"}
    checkpoint.save_checkpoint(make_model("dirac_keepimag", inputs=140, neurons=12, blocks=3), files["model"])
    write_shd(str(files["h5"]), 40, classes=4, spikes=150)
    data = open_samples(files["h5"], Binning(steps=12, pool=5))
    save_dataset(Dataset(data.read(0, len(data)), data.labels), files["dense"])
    return files


def _load_folder(folder: Path) -> dict[str, np.ndarray]:
    packed = json.loads((folder / "layout.json").read_text())["packed_spikes"]
    out = {}
    for path in folder.glob("*.npy"):
        value = np.load(path)
        out[path.stem] = (np.unpackbits(value, axis=-1, count=packed[path.stem], bitorder="little")
                          if path.stem in packed else value)
    return out


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_streamed_folder_equals_dense_npz(files, tmp_path: Path, precision: str):
    args = ["simulate", str(files["model"]), "--precision", precision, "--record", "spikes,states",
            "--batch-size", "8"]
    streamed = run(*args, "--input", str(files["h5"]), *BINNING, "-o", f"{tmp_path / 'run'}/")
    dense = run(*args, "--input", str(files["dense"]), "-o", str(tmp_path / "run.npz"))
    assert streamed.exit_code == dense.exit_code == 0, streamed.output + dense.output
    assert streamed.output.split(":", 1)[1] == dense.output.split(":", 1)[1]  # samples, backend, accuracy
    folder, whole = _load_folder(tmp_path / "run"), dict(np.load(tmp_path / "run.npz"))
    assert sorted(folder) == sorted(whole)
    for key, value in whole.items():
        assert np.array_equal(folder[key], value), key
    if precision == "fixed":  # 24-bit states stored as int32
        assert np.load(tmp_path / "run" / "states_0.npy").dtype == np.int32


def test_failed_streamed_run_leaves_nothing(files, tmp_path: Path):
    net = load_network(files["model"])
    data = open_samples(files["h5"], Binning(steps=12, pool=5))

    def interrupt(_samples: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate_to(f"{tmp_path / 'run'}/", net, data, "stepper", "fixed", load_profile("loihi2"), ("spikes",),
                    batch_size=8, progress=interrupt, state_bits=24)
    assert list(tmp_path.iterdir()) == []


def test_folder_output_replaces_an_existing_folder_only_with_force(files, tmp_path: Path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("old")
    args = ("simulate", str(files["model"]), "--input", str(files["h5"]), *BINNING, "-o", str(tmp_path / "run"))
    assert_bad_input(run(*args), "run: already exists (use --force to overwrite)")
    assert run(*args, "--force").exit_code == 0
    assert not (tmp_path / "run" / "old.txt").exists() and (tmp_path / "run" / "readout.npy").exists()


def test_malformed_event_file_is_one_line(files, tmp_path: Path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, sample=np.array([0, 1, 1]), step=np.array([0, 2, 1]), channel=np.array([3, 4, -1]))
    result = run("simulate", str(files["model"]), "--input", str(bad), "-o", f"{tmp_path / 'run'}/")
    assert_bad_input(result, "bad.npz: sample 1: unit outside 0..4 (-1)")
    result = run("simulate", str(files["model"]), "--input", str(files["dense"]), "--pool", "5",
                 "-o", str(tmp_path / "run"))
    assert_bad_input(result, "--pool apply to event files")
    assert list(tmp_path.iterdir()) == [bad]


def test_compare_and_quantize_read_event_files(files, tmp_path: Path):
    result = run("--json", "quantize", str(files["model"]), "--calibrate", str(files["h5"]), *BINNING,
                 "--calibration-samples", "16", "-o", str(tmp_path / "m.fxp"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["calibration"]["samples"] == 16
    result = run("--json", "compare", str(files["model"]), "--input", str(files["h5"]), *BINNING, "--labels",
                 "--samples", "10", "--fxp", str(tmp_path / "m.fxp"), "-o", str(tmp_path / "report"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"]["top1_agreement"] >= 0
