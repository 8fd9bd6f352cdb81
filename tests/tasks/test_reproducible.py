"""The same command twice gives byte-identical output files (issue #8): fixed seeds, stable ordering and no
timestamps.  The second run sees a clock one day later, so a file that recorded the time would differ."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import make_model, random_spikes
from s5rf_deploy.cli.main import main
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.s5rf.checkpoint import save_checkpoint

COMMANDS = {
    "export-nir": (("export-nir", "{model}", "-o", "{out}/m.nir"), ("m.nir",)),
    "quantize": (("quantize", "{model}", "--calibrate", "{data}", "--report", "{out}/r.json", "-o", "{out}/m.fxp"),
                 ("m.fxp", "r.json")),
    "simulate-stepper": (("simulate", "{model}", "--precision", "fixed", "--record", "spikes", "--record", "states",
                          "--input", "{data}", "-o", "{out}/run.npz"), ("run.npz",)),
    "train": (("train", "{data}", "--neurons", "4,4", "--blocks", "2,2", "--epochs", "1", "--batch-size", "4",
               "-o", "{out}/t.s5rf"), ("t.s5rf",)),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    save_checkpoint(make_model("zoh_vmix"), folder / "model.s5rf")
    labels = np.arange(12) % 4
    save_dataset(Dataset(random_spikes(12, 10, 5, rate=0.3), labels), folder / "data.npz")
    return {"model": folder / "model.s5rf", "data": folder / "data.npz"}


@pytest.mark.parametrize("command", COMMANDS)
def test_same_command_twice_gives_identical_files(inputs, tmp_path, monkeypatch, command):
    template, outputs = COMMANDS[command]
    args = [arg.format(out=tmp_path, **inputs) for arg in template]
    runs = []
    for shift in (0, 86400):
        monkeypatch.setattr(time, "time", lambda real=time.time, shift=shift: real() + shift)
        result = CliRunner().invoke(main, [*args, "--force"])
        assert result.exit_code == 0, result.output
        runs.append({name: (tmp_path / name).read_bytes() for name in outputs})
    assert runs[0] == runs[1]
