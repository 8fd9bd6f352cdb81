"""``compare``: metrics checked against independent computations, the report folder, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_helpers import assert_bad_input, run
from helpers import DATA_DIR, make_model
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.s5rf.artifact import load_fxp
from s5rf_deploy.s5rf.checkpoint import load_checkpoint, save_checkpoint
from s5rf_deploy.s5rf.network import model_from_network, network_from_model
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks import compare as fidelity
from s5rf_deploy.tasks.compare import Runs, metrics

PAPER = DATA_DIR / "nir-paper"
PNG = b"\x89PNG\r\n\x1a\n"


def _data(tmp_path: Path, n: int = 40) -> Path:
    test = digits.load_split("test")
    path = tmp_path / "test.npz"
    np.savez(path, inputs=test.inputs[:n], labels=test.labels[:n])
    return path


def test_metrics_on_hand_made_runs():
    a = np.zeros((2, 5, 3), np.uint8)
    b = a.copy()
    a[0, 1, 2] = 1  # sample 0 diverges at step 1; sample 1 never
    a[0, 3, 0] = b[0, 3, 0] = 1
    z = np.ones((2, 5, 3), complex)
    runs = Runs(["l0"], [a], [b], np.log(np.array([[0.7, 0.3], [0.4, 0.6]])),
                np.log(np.array([[0.6, 0.4], [0.7, 0.3]])), [np.array([2.0, 0.0, 5.0])], [1], [z], [z * 1.1])
    m = metrics(runs, np.array([0, 0]))
    layer = m["layers"][0]
    assert layer["spike_agreement"] == 1 - 1 / 30
    assert layer["first_divergence"] == {"never": 1, "samples": 2, "min": 1, "median": 1.0}
    assert layer["hamming_per_neuron"]["max"] == 0.5
    assert layer["synops_per_sample"] == {"float": (2 + 5) / 2, "fixed": 2 / 2}
    assert np.isclose(layer["state_snr_db"], 20.0)  # noise 0.1 |z|: 10 log10(1 / 0.01)
    assert m["output"]["top1_agreement"] == 0.5 and m["output"]["accuracy"] == {"float": 0.5, "fixed": 1.0}


def test_traffic_of_multibit_counts():
    """Counts: messages are the non-zero outputs, bits = messages x payload bits, spikes sum the counts."""
    a = np.zeros((2, 4, 3), np.uint8)
    a[0, 0] = [3, 0, 1]
    a[1, 2] = [0, 2, 2]
    b = a.copy()
    b[1, 2, 1] = 3  # a count differs, the message pattern does not
    runs = Runs(["l0"], [a], [b], np.zeros((2, 2)), np.zeros((2, 2)), [np.array([1.0, 10.0, 100.0])], [2])
    layer = metrics(runs)["layers"][0]
    assert layer["payload_bits"] == 2
    assert layer["spikes_per_sample"] == {"float": 8 / 2, "fixed": 9 / 2}
    assert layer["messages_per_sample"] == {"float": 4 / 2, "fixed": 4 / 2}
    assert layer["bits_per_sample"] == {"float": 4, "fixed": 4}
    assert layer["synops_per_sample"] == {"float": (1 + 100 + 10 + 100) / 2, "fixed": (1 + 100 + 10 + 100) / 2}
    assert layer["rate"] == {"float": 4 / 24, "fixed": 4 / 24}
    assert layer["spike_agreement"] == 1 - 1 / 24


@pytest.mark.lava
def test_compare_demo_model_writes_a_consistent_report(tmp_path):
    data = _data(tmp_path)
    fxp_path = tmp_path / "m.fxp"
    assert run("quantize", str(model_path()), "-o", str(fxp_path)).exit_code == 0
    out = tmp_path / "report"
    result = run("compare", str(model_path()), "--input", str(data), "--labels", "--fxp", str(fxp_path),
                 "--lava", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "bit-exact with the stepper" in result.output
    report = json.loads((out / "report.json").read_text())
    inputs = np.load(data)["inputs"]
    labels = np.load(data)["labels"]
    net = network_from_model(load_checkpoint(model_path()))
    with torch.no_grad():
        ref = model_from_network(net)(torch.from_numpy(inputs).double())
    fixed = Stepper(load_fxp(fxp_path)).run(inputs, record=("spikes",))
    float_pred = ref.logprobs.argmax(-1).numpy()
    assert report["output"]["top1_agreement"] == float(np.mean(fixed.predictions == float_pred))
    assert report["output"]["accuracy"]["float"] == float(np.mean(float_pred == labels))
    for i, layer in enumerate(report["layers"]):
        assert layer["spike_agreement"] == float(np.mean(fixed.spikes[i] == ref.spikes[i].numpy()))
    fan_out_1 = np.count_nonzero(net.readout.weight, axis=0)  # layer 1 drives only the readout
    assert np.isclose(report["layers"][1]["synops_per_sample"]["float"],
                      (ref.spikes[1].numpy().sum(axis=(0, 1)) * fan_out_1).sum() / len(inputs))
    lava = report["lava"]
    assert {k: lava[k] for k in ("samples", "bit_exact", "mismatched_values")} == \
        {"samples": 2, "bit_exact": True, "mismatched_values": 0}
    assert lava["saturation"]["lava"] == lava["saturation"]["stepper"] == {"stage0": 0, "stage1": 0, "readout": 0}
    for name in ("raster.png", "agreement.png", "traces.png", "confusion.png"):
        assert (out / name).read_bytes()[:8] == PNG
        assert f"({name})" in (out / "report.md").read_text()


def test_compare_standard_graph(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "b.npz"
    np.savez(data, inputs=(rng.random((3, 30, 12)) < 0.2).astype(np.float32))
    result = run("--json", "compare", str(PAPER / "braille_noDelay_bias_zero.nir"), "--semantics", "snntorch-zero",
                 "--input", str(data), "--calibrate", str(data), "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [e["layer"] for e in report["layers"]] == ["lif1.lif", "lif2"]
    assert "traces.png" in report["files"] and "raster.png" in report["files"]
    # the fixed-point voltages, scaled back, follow the float ones (calibrated on these 3 samples: 62-66 dB measured)
    assert all(e["state_snr_db"] > 40 for e in report["layers"]), [e["state_snr_db"] for e in report["layers"]]


def test_compare_bad_inputs(tmp_path):
    data = _data(tmp_path, 5)
    unlabeled = tmp_path / "u.npz"
    np.savez(unlabeled, inputs=np.load(data)["inputs"])
    graph_fxp = tmp_path / "g.fxp"
    assert run("convert", str(PAPER / "braille_noDelay_bias_zero.nir"), "--dt", "1e-4", "-o",
               str(graph_fxp)).exit_code == 0
    graded = tmp_path / "g.npz"
    np.savez(graded, inputs=np.load(data)["inputs"] * 0.5)
    out = tmp_path / "r"
    cases = [(["--input", str(unlabeled), "--labels"], "no 'labels' array"),
             (["--input", str(data), "--fxp", str(graph_fxp)], "quantized standard graph"),
             (["--input", str(graded), "--calibrate", str(data)], "0/1")]  # binary calibration: binary inputs
    for args, message in cases:
        assert_bad_input(run("compare", str(model_path()), *args, "-o", str(out)), message)
        assert not out.exists() and not list(tmp_path.glob(".r.*"))
    out.mkdir()
    assert_bad_input(run("compare", str(model_path()), "--input", str(data), "-o", str(out)), "already exists")


def test_compare_quiet_samples_and_other_artifact_shapes(tmp_path):
    data = _data(tmp_path, 10)
    out = tmp_path / "report"
    result = run("--quiet", "compare", str(model_path()), "--input", str(data), "--samples", "3", "-o", str(out))
    assert result.exit_code == 0 and result.output == "", result.output
    assert json.loads((out / "report.json").read_text())["output"]["samples"] == 3
    small = tmp_path / "small.s5rf"
    save_checkpoint(make_model("dirac_keepimag"), small)
    assert run("quantize", str(small), "-o", str(tmp_path / "small.fxp")).exit_code == 0
    assert_bad_input(run("compare", str(model_path()), "--input", str(data), "--fxp", str(tmp_path / "small.fxp"),
                         "-o", str(tmp_path / "r2")), "artifact has 5 inputs, layers [12, 12], 4 classes")
    assert not (tmp_path / "r2").exists()


def test_lava_mismatch_exits_1_after_writing_the_report(tmp_path, monkeypatch):
    def differs(fxp, inputs, progress=None, pool=None):
        return {"samples": len(inputs), "bit_exact": False, "mismatched_values": 3}

    monkeypatch.setattr(fidelity, "lava_check", differs)
    out = tmp_path / "report"
    result = run("compare", str(model_path()), "--input", str(_data(tmp_path, 4)), "--lava", "2", "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "MISMATCH (3 values differ)" in result.output
    assert json.loads((out / "report.json").read_text())["lava"] == {"samples": 2, "bit_exact": False,
                                                                      "mismatched_values": 3}
    assert "MISMATCH" in (out / "report.md").read_text()


def test_compare_checks_options_before_work_and_report_folder_follows_umask(tmp_path):
    data = _data(tmp_path, 3)
    fxp = tmp_path / "m.fxp"
    assert run("quantize", str(model_path()), "-o", str(fxp)).exit_code == 0
    assert_bad_input(run("compare", str(model_path()), "--input", str(data), "--fxp", str(fxp), "--profile",
                         "loihi2", "-o", str(tmp_path / "r")), "not both")
    assert_bad_input(run("compare", str(model_path()), "--input", str(data), "-o", str(tmp_path / "no" / "r")),
                     "does not exist")
    assert run("compare", str(model_path()), "--input", str(data), "-o", str(tmp_path / "r")).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r").stat().st_mode & 0o777 == 0o777 & ~umask

