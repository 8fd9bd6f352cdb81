"""``--device``: the stepper on a torch device writes what the default device writes; a device this machine lacks,
an unknown name, or a backend that does not run on a device is refused with one line and no output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from helpers import make_model, random_spikes
from s5rf_deploy.cli.main import main
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.artifact import save_fxp
from s5rf_deploy.s5rf.checkpoint import save_checkpoint
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("device")
    model = make_model("zoh_vmix", layers=3, neurons=8, blocks=2, inputs=5, classes=3, seed=2)
    u = random_spikes(6, 20, 5, rate=0.4, seed=3)
    paths = {"model.s5rf": folder / "model.s5rf", "model.fxp": folder / "model.fxp", "data.npz": folder / "data.npz"}
    save_checkpoint(model, paths["model.s5rf"])
    save_fxp(quantize(network_from_model(model), load_profile("loihi2"), u, max_steps=20)[0], paths["model.fxp"])
    save_dataset(Dataset(u, np.arange(6) % 3), paths["data.npz"])
    return paths


def cli(*args) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_refused(result: Result, out: Path, *names: str) -> None:
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    assert all(name in lines[0] for name in names), lines[0]
    assert not out.exists()


@pytest.fixture
def torch_steps(monkeypatch) -> list[int]:
    """Counts the RF updates run by the torch path (so that a test sees the device really used)."""
    calls = [0]
    update = fx.RFUpdateTorch.__call__

    def counted(self, *args):
        calls[0] += 1
        return update(self, *args)

    monkeypatch.setattr(fx.RFUpdateTorch, "__call__", counted)
    return calls


def test_simulate_on_torch_cpu_writes_what_cpu_writes(files, tmp_path, torch_steps):
    runs = {}
    for device in ("cpu", "torch-cpu"):
        assert torch_steps[0] == 0 or device == "torch-cpu"
        out = tmp_path / f"{device}.npz"
        result = cli("--json", "simulate", files["model.fxp"], "--input", files["data.npz"], "--record",
                     "spikes,states", "--batch-size", "4", "--device", device, "-o", out)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["saturation"] == 0
        with np.load(out) as data:
            runs[device] = {k: data[k] for k in data.files}
    assert set(runs["cpu"]) == set(runs["torch-cpu"]) >= {"readout", "spikes_0", "states_2", "saturation"}
    for key, value in runs["cpu"].items():
        assert runs["torch-cpu"][key].dtype == value.dtype
        np.testing.assert_array_equal(runs["torch-cpu"][key], value, err_msg=key)
    assert torch_steps[0] > 0


def test_compare_on_torch_cpu_reports_what_cpu_reports(files, tmp_path, torch_steps):
    reports = {}
    for device in ("cpu", "torch-cpu"):
        out = tmp_path / device
        result = cli("--json", "compare", files["model.s5rf"], "--input", files["data.npz"], "--labels", "--fxp",
                     files["model.fxp"], "--device", device, "-o", out)
        assert result.exit_code == 0, result.output
        reports[device] = json.loads((out / "report.json").read_text())
    assert reports["torch-cpu"] == reports["cpu"] and torch_steps[0] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
@pytest.mark.parametrize("command", ["simulate", "compare", "sweep"])
def test_cuda_without_a_gpu_is_refused(files, tmp_path, command):
    out = tmp_path / "out.npz"
    model = files["model.fxp" if command == "simulate" else "model.s5rf"]
    assert_refused(cli(command, model, "--input", files["data.npz"], "--device", "cuda", "-o", out), out,
                   "device cuda", "no CUDA GPU")


def test_unknown_devices_and_backends_off_the_device_are_refused(files, tmp_path):
    out = tmp_path / "out.npz"
    assert_refused(cli("simulate", files["model.fxp"], "--input", files["data.npz"], "--device", "gpu", "-o", out),
                   out, "unknown device 'gpu'")
    for model, backend in (("model.fxp", "lava"), ("model.s5rf", "torch")):
        assert_refused(cli("simulate", files[model], "--input", files["data.npz"], "--backend", backend,
                           "--device", "torch-cpu", "-o", out), out, "--device torch-cpu", f"backend {backend}")
