"""The CLI through click's test runner: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_bad_input, run
from helpers import DATA_DIR
from s5rf_deploy.s5rf.checkpoint import load_checkpoint

REF = DATA_DIR / "reference"


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("demo", "import-reference", "simulate", "train"):
        assert command in result.output


def test_import_reference_then_simulate_reproduces_reference(tmp_path):
    out = tmp_path / "m.s5rf"
    result = run("import-reference", str(REF / "skip4.eqx"), "--config", str(REF / "skip4.json"), "-o", str(out))
    assert result.exit_code == 0, result.output
    io = np.load(REF / "skip4_io.npz")
    np.savez(tmp_path / "in.npz", inputs=io["inputs"], labels=io["logprobs"].argmax(-1))
    result = run("simulate", str(out), "--input", str(tmp_path / "in.npz"), "--backend", "torch",
                 "--record", "spikes", "-o", str(tmp_path / "run.npz"))
    assert result.exit_code == 0, result.output
    assert "accuracy 1.0000" in result.output
    with np.load(tmp_path / "run.npz") as r:
        np.testing.assert_allclose(r["readout"], io["logprobs"], atol=1e-4)
        np.testing.assert_array_equal(r["predictions"], io["logprobs"].argmax(-1))
        for i in range(4):
            assert r[f"spikes_{i}"].shape == io[f"spikes_{i}"].shape
        assert "states_0" not in r.files


def test_simulate_eqx_directly_and_samples_option(tmp_path):
    io = np.load(REF / "zoh_vmix_io.npz")
    np.savez(tmp_path / "in.npz", inputs=io["inputs"])
    result = run("--json", "simulate", str(REF / "zoh_vmix.eqx"), "--config", str(REF / "zoh_vmix.json"),
                 "--input", str(tmp_path / "in.npz"), "--samples", "2", "--record", "states",
                 "-o", str(tmp_path / "run.npz"))
    assert result.exit_code == 0, result.output
    assert '"samples": 2' in result.output
    with np.load(tmp_path / "run.npz") as r:
        assert r["readout"].shape == (2, 4) and r["states_0"].dtype == np.complex128


def _toy_task(path: Path, n: int = 64) -> None:
    """Class k drives channels 4k..4k+3 hard: learnable in a few epochs."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    inputs = (rng.random((n, 20, 8)) < 0.1).astype(np.float32)
    for k in range(2):
        inputs[labels == k, :, 4 * k:4 * k + 4] = rng.random(((labels == k).sum(), 20, 4)) < 0.7
    np.savez(path, inputs=inputs, labels=labels)


def test_train_writes_a_checkpoint_that_learned(tmp_path):
    _toy_task(tmp_path / "toy.npz")
    result = run("train", str(tmp_path / "toy.npz"), "--neurons", "8,8", "--blocks", "2,2", "--epochs", "10",
                 "--batch-size", "8",
                 "--lr", "0.02", "--eta", "0.05,0.5", "--val-fraction", "0.25", "-o", str(tmp_path / "t.s5rf"))
    assert result.exit_code == 0, result.output
    assert "epoch 10/10" in result.stderr
    model = load_checkpoint(tmp_path / "t.s5rf")
    assert model.config.num_neurons == (8, 8) and model.config.output_dim == 2
    result = run("simulate", str(tmp_path / "t.s5rf"), "--input", str(tmp_path / "toy.npz"),
                 "-o", str(tmp_path / "r.npz"))
    accuracy = float(result.output.rsplit("accuracy", 1)[1])
    assert accuracy > 0.8


@pytest.mark.lava
def test_train_with_multibit_outputs_deploys_bit_exact(tmp_path):
    """``train --spike-bits 2``: the checkpoint records it, float outputs exceed 1, and the calibrated fixed point
    runs on Lava bit for bit with the stepper, counts included (issue 15)."""
    _toy_task(tmp_path / "toy.npz")
    result = run("train", str(tmp_path / "toy.npz"), "--neurons", "8,8", "--blocks", "2,2", "--epochs", "4",
                 "--batch-size", "8", "--lr", "0.02", "--spike-bits", "2", "--eta", "0.05,0.5",
                 "-o", str(tmp_path / "t.s5rf"))
    assert result.exit_code == 0, result.output
    assert load_checkpoint(tmp_path / "t.s5rf").config.spike_bits == 2
    result = run("simulate", str(tmp_path / "t.s5rf"), "--input", str(tmp_path / "toy.npz"), "--record", "spikes",
                 "-o", str(tmp_path / "r.npz"))
    assert result.exit_code == 0, result.output
    assert max(np.load(tmp_path / "r.npz")[f"spikes_{i}"].max() for i in range(2)) > 1
    result = run("--json", "compare", str(tmp_path / "t.s5rf"), "--input", str(tmp_path / "toy.npz"), "--calibrate",
                 str(tmp_path / "toy.npz"), "--lava", "2", "-o", str(tmp_path / "report"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["lava"]["bit_exact"] is True
    assert [e["payload_bits"] for e in report["layers"]] == [2, 2]
    for e in report["layers"]:
        assert e["bits_per_sample"]["fixed"] == 2 * e["messages_per_sample"]["fixed"] > 0
        assert e["spikes_per_sample"]["float"] > e["messages_per_sample"]["float"]  # some counts above one
    result = run("train", str(tmp_path / "toy.npz"), "--spike-bits", "9", "-o", str(tmp_path / "u.s5rf"))
    assert result.exit_code != 0 and "spike_bits must be 1 to 8, got 9" in result.stderr
    assert not (tmp_path / "u.s5rf").exists()


@pytest.mark.lava
def test_demo_runs_the_whole_pipeline(tmp_path):
    import json

    result = run("--json", "demo", "-o", str(tmp_path / "demo"), "--lava-samples", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["float_accuracy"] >= 0.95
    assert report["nir"]["max_logprob_difference"] <= 1e-12
    assert report["fixed"]["top1_agreement"] >= 0.99 and report["fixed"]["saturated_updates"] == 0
    assert report["lava"]["bit_exact"] is True
    assert (tmp_path / "demo" / "demo.nir").is_file() and (tmp_path / "demo" / "demo.fxp").is_file()
    workspace = report["workspace"]["files"]  # what README.md's examples read
    assert {"demo.s5rf", "train.npz", "test.npz", "braille.nir", "braille.npz", "skip4.eqx", "toy.npz"} \
        <= set(workspace)
    assert all((tmp_path / "demo" / name).is_file() for name in workspace)
    assert load_checkpoint(tmp_path / "demo" / "demo.s5rf").config.num_neurons == (64, 64)


@pytest.mark.parametrize("case", ["missing", "truncated", "garbage"])
def test_bad_model_files_give_one_line_errors(tmp_path, case):
    np.savez(tmp_path / "in.npz", inputs=np.zeros((1, 5, 12), np.float32))
    model = tmp_path / "m.s5rf"
    if case == "truncated":
        run("import-reference", str(REF / "dirac_keepimag.eqx"), "--config", str(REF / "dirac_keepimag.json"),
            "-o", str(model))
        model.write_bytes(model.read_bytes()[:500])
    elif case == "garbage":
        model.write_bytes(b"\x00not a model")
    result = run("simulate", str(model), "--input", str(tmp_path / "in.npz"), "-o", str(tmp_path / "r.npz"))
    assert_bad_input(result, str(model))
    assert not (tmp_path / "r.npz").exists()


def test_input_width_mismatch_and_missing_config(tmp_path):
    np.savez(tmp_path / "in.npz", inputs=np.zeros((1, 5, 7), np.float32))
    result = run("simulate", str(REF / "skip4.eqx"), "--config", str(REF / "skip4.json"),
                 "--input", str(tmp_path / "in.npz"), "-o", str(tmp_path / "r.npz"))
    assert_bad_input(result, "7 channels, the model expects 10")
    result = run("simulate", str(REF / "skip4.eqx"), "--input", str(tmp_path / "in.npz"), "-o", str(tmp_path / "r"))
    assert_bad_input(result, "needs --config")


def test_unwritable_output_leaves_nothing(tmp_path):
    result = run("import-reference", str(REF / "skip4.eqx"), "--config", str(REF / "skip4.json"),
                 "-o", str(tmp_path / "nodir" / "m.s5rf"))
    assert_bad_input(result, "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_train_rejects_unlabelled_data(tmp_path):
    np.savez(tmp_path / "d.npz", inputs=np.zeros((4, 5, 3), np.float32))
    result = run("train", str(tmp_path / "d.npz"), "-o", str(tmp_path / "m.s5rf"))
    assert_bad_input(result, "labels")


def _nir_file(path: Path, nodes: dict, edges: list) -> Path:
    import nir

    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}, type_check=False))
    return path


def test_export_nir_round_trip_through_cli(tmp_path):
    from s5rf_deploy.demo import model_path

    assert run("export-nir", str(model_path()), "-o", str(tmp_path / "demo.nir")).exit_code == 0
    from s5rf_deploy.demo import digits

    test = digits.load_split("test").head(20)
    np.savez(tmp_path / "d.npz", inputs=test.inputs, labels=test.labels)
    for name, model in (("a", str(model_path())), ("b", str(tmp_path / "demo.nir"))):
        result = run("simulate", model, "--input", str(tmp_path / "d.npz"), "-o", str(tmp_path / f"{name}.npz"))
        assert result.exit_code == 0, result.output
    result = run("simulate", str(tmp_path / "demo.nir"), "--backend", "nir", "--input", str(tmp_path / "d.npz"),
                 "-o", str(tmp_path / "c.npz"))
    assert result.exit_code == 0, result.output
    a, b, c = (np.load(tmp_path / f"{n}.npz") for n in "abc")
    assert np.abs(a["readout"] - b["readout"]).max() == 0
    assert np.abs(a["readout"] - c["readout"]).max() < 1e-9


def test_bad_nir_files_exit_2(tmp_path):
    import nir

    np.savez(tmp_path / "in.npz", inputs=np.zeros((1, 5, 1), np.float32))
    lif = nir.LIF(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]))
    cases = {
        "cycle": (_nir_file(tmp_path / "cycle.nir", {"a": lif, "w": nir.Linear(weight=np.eye(1)),
                                                     "output": nir.Output(output_type=np.array([1]))},
                            [("a", "w"), ("w", "a"), ("a", "output")]), "no Input"),
        "unsupported": (_nir_file(tmp_path / "conv.nir", {
            "input": nir.Input(input_type=np.array([1])),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]), padding=np.array([0, 0])),
            "output": nir.Output(output_type=np.array([1]))}, [("input", "pool"), ("pool", "output")]),
            "'pool' has type SumPool2d"),
    }
    good = _nir_file(tmp_path / "good.nir", {"input": nir.Input(input_type=np.array([1])), "lif": lif,
                                             "output": nir.Output(output_type=np.array([1]))},
                     [("input", "lif"), ("lif", "output")])
    raw = good.read_bytes()
    (tmp_path / "trunc.nir").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "junk.nir").write_bytes(b"junk" * 100)
    cases["truncated"] = (tmp_path / "trunc.nir", "not a readable NIR file")
    cases["junk"] = (tmp_path / "junk.nir", "not a readable NIR file")
    for path, message in cases.values():
        result = run("simulate", str(path), "--input", str(tmp_path / "in.npz"), "-o", str(tmp_path / "r.npz"))
        assert_bad_input(result, message)
        result = run("export-nir", str(path), "-o", str(tmp_path / "x.nir"))
        assert_bad_input(result, message)
    assert not (tmp_path / "r.npz").exists() and not (tmp_path / "x.nir").exists()
    assert run("simulate", str(good), "--input", str(tmp_path / "in.npz"), "-o", str(tmp_path / "r.npz")).exit_code == 0


def _demo_data(tmp_path: Path, n: int = 30) -> Path:
    from s5rf_deploy.dataset import save_dataset
    from s5rf_deploy.demo import digits

    save_dataset(digits.load_split("test").head(n), tmp_path / "test.npz")
    return tmp_path / "test.npz"


def test_quantize_command_writes_artifact_and_report(tmp_path):
    import json

    from s5rf_deploy.demo import model_path

    data = _demo_data(tmp_path)
    result = run("quantize", str(model_path()), "--profile", "loihi2", "--calibrate", str(data),
                 "--report", str(tmp_path / "r.json"), "-o", str(tmp_path / "m.fxp"))
    assert result.exit_code == 0, result.output
    assert "resources:" in result.output and "fits" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["layers"]) == 2 and report["calibration"]["agreement"]["top1_agreement"] >= 0.9
    result = run("--json", "simulate", str(tmp_path / "m.fxp"), "--input", str(data), "--record", "states",
                 "-o", str(tmp_path / "s.npz"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["precision"] == "fixed"
    with np.load(tmp_path / "s.npz") as r:
        assert r["readout"].dtype == np.int64 and r["states_0"].shape == (30, 40, 64, 2)


@pytest.mark.parametrize("args, message", [
    (["quantize", "{model}", "--profile", "loihi9", "-o", "{tmp}/q.fxp"], "unknown profile 'loihi9'"),
    (["simulate", "{fxp}", "--precision", "float", "--input", "{data}", "-o", "{tmp}/r.npz"], "no float model"),
    (["simulate", "{model}", "--backend", "nir", "--precision", "fixed", "--input", "{data}", "-o", "{tmp}/r.npz"],
     "stepper or lava"),
    (["simulate", "{model}", "--precision", "fixed", "--input", "{graded}", "-o", "{tmp}/r.npz"],
     "binary spike inputs"),
    (["export-nir", "{polar}", "-o", "{tmp}/p.nir"], "polar"),
])
def test_fixed_point_and_export_errors(tmp_path, args, message):
    from s5rf_deploy.demo import model_path
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.s5rf.artifact import save_fxp
    from s5rf_deploy.s5rf.checkpoint import save_checkpoint
    from s5rf_deploy.s5rf.network import network_from_model
    from s5rf_deploy.s5rf.quantize import quantize

    data = _demo_data(tmp_path, 3)
    with np.load(data) as d:
        np.savez(tmp_path / "graded.npz", inputs=d["inputs"] * 0.5)
    net = network_from_model(load_checkpoint(model_path()))
    save_fxp(quantize(net, load_profile("loihi2"))[0], tmp_path / "m.fxp")
    from helpers import make_model

    save_checkpoint(make_model("bilinear_polar"), tmp_path / "polar.s5rf")
    values = {"model": str(model_path()), "fxp": str(tmp_path / "m.fxp"), "data": str(data), "tmp": str(tmp_path),
              "graded": str(tmp_path / "graded.npz"), "polar": str(tmp_path / "polar.s5rf")}
    result = run(*[a.format(**values) for a in args])
    assert_bad_input(result, message)
    assert not any(tmp_path.glob("r.npz")) and not any(tmp_path.glob("p.nir"))


def test_global_options_after_the_command_json_errors_and_debug_keep_the_exit_code(tmp_path):
    missing = str(tmp_path / "missing.npz")
    args = ["simulate", str(REF / "skip4.eqx"), "--config", str(REF / "skip4.json"), "--input", missing, "-o",
            str(tmp_path / "r.npz")]
    plain = run(*args)
    assert plain.exit_code == 2 and "missing.npz: no such file" in plain.stderr
    as_json = run(*args, "--json")  # a global option after the command
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout) == {"error": f"{missing}: no such file", "exit_code": 2}
    usage = run("--json", "simulate", "x.s5rf", "--bogus")
    assert usage.exit_code == 2 and json.loads(usage.stdout)["error"] == "No such option '--bogus'."
    debug = run(*args, "--debug")
    assert debug.exit_code == 2 and "Traceback" in debug.stderr and "no such file" in debug.stderr


def test_train_reports_spike_rates_and_warns_when_the_network_learns_nothing(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "silent.npz", inputs=np.zeros((40, 12, 3), np.float32), labels=rng.integers(0, 2, 40))
    result = run("train", str(tmp_path / "silent.npz"), "--neurons", "4,4", "--blocks", "2,2", "--epochs", "2",
                 "-o", str(tmp_path / "s.s5rf"))
    assert result.exit_code == 0, result.output
    assert "epoch 2/2: loss 0.6931, spike rates 0.000/0.000" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert [w.split(" is silent")[0] for w in warnings[:2]] == ["warning: layer 0", "warning: layer 1"]
    assert "the loss did not move (0.6931 -> 0.6931)" in warnings[2]
