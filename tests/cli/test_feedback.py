"""Feedback while a command runs (issue #14): progress counted in samples, every stage and its time with
``--verbose``, slow stages announced, bad calls refused before the heavy imports, consistent help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest

from cli_helpers import run
from helpers import DATA_DIR, make_model, random_spikes
from s5rf_deploy.cli import common
from s5rf_deploy.cli.common import PROGRESS_LINE, ProgressBar
from s5rf_deploy.cli.main import main
from s5rf_deploy.converters.netx import write_netx
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.demo.workspace import netx_example
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.checkpoint import save_checkpoint
from s5rf_deploy.tasks.attribution import flags
from s5rf_deploy.tasks.families import quantize_network
from s5rf_deploy.tasks.loading import load_network
from s5rf_deploy.tasks.simulation import simulate

REF = DATA_DIR / "reference"
PAPER = DATA_DIR / "nir-paper"
STAGE_LINE = re.compile(r"^\[ *\d+ ms\] (.+): \d+\.\d\d s$")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A small S5-RF checkpoint, labelled spike data, its fixed-point artifact, a netx network."""
    folder = tmp_path_factory.mktemp("feedback")
    files = {name: folder / name for name in ("model.s5rf", "data.npz", "model.fxp", "snn.net")}
    save_checkpoint(make_model("dirac_keepimag"), files["model.s5rf"])
    save_dataset(Dataset(random_spikes(6, 8, 5, rate=0.4), np.arange(6) % 4), files["data.npz"])
    assert run("quantize", str(files["model.s5rf"]), "-o", str(files["model.fxp"])).exit_code == 0
    write_netx(netx_example(), files["snn.net"])
    return files


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_count_samples_at_most_every_few_seconds_with_a_final_line(capsys):
    clock = Clock()
    with ProgressBar("simulate", 100, clock=clock) as progress:
        for _ in range(10):
            clock.now += 1.0
            progress(10)  # 10 samples a second: lines at 5 s (50 samples) and 10 s (the final one)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["simulate: 50/100 samples (50 %), 5.0 s elapsed, ETA 5.0 s",
                     "simulate: 100/100 samples (100 %), 10.0 s elapsed"]
    assert all(PROGRESS_LINE.match(line) for line in lines)


def test_short_failed_or_silent_runs_print_no_progress(capsys):
    clock = Clock()
    with ProgressBar("quick", 10, clock=clock) as progress:
        clock.now = common.PROGRESS_AFTER_S / 2
        progress(10)
    with pytest.raises(KeyboardInterrupt), ProgressBar("cut", 10, clock=clock) as progress:
        clock.now += 100
        raise KeyboardInterrupt
    with ProgressBar("quiet", 10, shown=False, clock=clock) as progress:
        clock.now += 100
        progress(10)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("backend,precision", [("torch", "float"), ("nir", "float"), ("stepper", "fixed")])
def test_runners_report_every_sample_once(files, backend, precision):
    inputs = random_spikes(7, 8, 5, rate=0.4)
    told = []
    simulate(load_network(files["model.s5rf"]), inputs, backend, precision, load_profile("loihi2"), batch_size=3,
             progress=told.append)
    assert sum(told) == 7 and told == [3, 3, 1]


@pytest.mark.lava
def test_lava_reports_each_sample_and_announces_its_compilation(files):
    result = run("simulate", str(files["model.fxp"]), "--input", str(files["data.npz"]), "--samples", "2",
                 "--backend", "lava", "-o", str(files["model.fxp"].parent / "lava.npz"))
    assert result.exit_code == 0, result.output
    assert "compiling the Lava process graph (a few seconds)" in result.stderr.splitlines()


def test_training_reports_every_sample_of_every_epoch(tmp_path, files, monkeypatch):
    monkeypatch.setattr(common, "PROGRESS_AFTER_S", 0.0)
    result = run("train", str(files["data.npz"]), "--neurons", "4,4", "--blocks", "2,2", "--epochs", "3",
                 "--batch-size", "4", "--val-fraction", "0", "-o", str(tmp_path / "m.s5rf"))
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if PROGRESS_LINE.match(line)]
    assert progress[-1].startswith("train: 18/18 samples (100 %)")  # 3 epochs of 6 samples


@pytest.mark.filterwarnings("ignore::UserWarning")  # how the braille graph is read is not the point here
@pytest.mark.parametrize("model,dt,width", [("model.s5rf", None, 5),
                                            (PAPER / "braille_noDelay_bias_zero.nir", 1e-4, 12)])
def test_calibration_check_reports_every_sample_once(files, model, dt, width):
    told = []
    net = load_network(files.get(model, model), dt=dt)
    quantize_network(net, load_profile("loihi2"), random_spikes(5, 8, width, rate=0.4), progress=told.append)
    assert sum(told) == 5


def test_quantize_reports_the_calibration_samples_it_checks(tmp_path, files, monkeypatch):
    monkeypatch.setattr(common, "PROGRESS_AFTER_S", 0.0)
    result = run("quantize", str(files["model.s5rf"]), "--calibrate", str(files["data.npz"]), "-o",
                 str(tmp_path / "m.fxp"))
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if PROGRESS_LINE.match(line)]
    assert len(progress) == 1 and progress[0].startswith("quantize: 6/6 samples (100 %)")


@pytest.mark.parametrize("quiet", ["--quiet", "--json"])
def test_progress_in_the_cli_and_none_with_quiet_or_json(tmp_path, files, monkeypatch, quiet):
    monkeypatch.setattr(common, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(common, "PROGRESS_EVERY_S", 0.0)
    args = ["simulate", str(files["model.s5rf"]), "--input", str(files["data.npz"]), "--batch-size", "4"]
    shown = run(*args, "-o", str(tmp_path / "a.npz"))
    lines = [line for line in shown.stderr.splitlines() if PROGRESS_LINE.match(line)]
    assert [line.split(",")[0] for line in lines] == ["simulate: 4/6 samples (66 %)", "simulate: 6/6 samples (100 %)"]
    assert "ETA" in lines[0] and "ETA" not in lines[1]
    silent = run(quiet, *args, "-o", str(tmp_path / "b.npz"))
    assert silent.exit_code == 0 and not any(PROGRESS_LINE.match(line) for line in silent.stderr.splitlines())


COMMANDS = {  # command line (files by name) -> stages --verbose must log, each a prefix of a stage name
    "simulate": (["simulate", "model.s5rf", "--input", "data.npz", "-o", "out.npz"],
                 ["load and check data.npz", "load model.s5rf", "run 6 samples on torch", "write out.npz"]),
    "quantize": (["quantize", "model.s5rf", "--calibrate", "data.npz", "-o", "out.fxp"],
                 ["load model.s5rf", "load and check data.npz", "calibrate on 6 samples", "quantize for loihi2",
                  "fixed point against float", "write out.fxp"]),
    "compare": (["compare", "model.s5rf", "--input", "data.npz", "--fxp", "model.fxp", "-o", "out"],
                ["load and check data.npz", "load model.s5rf", "load model.fxp", "float and fixed-point runs",
                 "agreement lost per stage", "figure raster.png", "figure traces.png", "figure agreement.png",
                 "figure confusion.png", "figures", "write out/"]),
    "convert": (["convert", "model.s5rf", "-o", "out.nir"], ["load model.s5rf", "write out.nir"]),
    "export-nir": (["export-nir", "model.s5rf", "-o", "out.nir"], ["load model.s5rf", "write out.nir"]),
    "export-onnx": (["export-onnx", "model.s5rf", "-o", "out.onnx"], ["load model.s5rf", "write out.onnx"]),
    "import-reference": (["import-reference", str(REF / "skip4.eqx"), "--config", str(REF / "skip4.json"), "-o",
                          "out.s5rf"], [f"load {REF / 'skip4.eqx'}", "write out.s5rf"]),
    "import-netx": (["import-netx", "snn.net", "-o", "out.nir"], ["load snn.net", "write out.nir"]),
    "export-netx": (["export-netx", "snn.net", "-o", "out.net"], ["load snn.net", "write out.net"]),
    "inspect": (["inspect", "model.s5rf", "--poles", "out.png"], ["load model.s5rf", "quantize for loihi2",
                                                                   "write out.png"]),
    "train": (["train", "data.npz", "--neurons", "4,4", "--blocks", "2,2", "--epochs", "2", "-o", "out.s5rf"],
              ["load and check data.npz", "epoch 1/2 on", "epoch 2/2 on", "write out.s5rf"]),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_verbose_logs_every_stage_with_its_time(tmp_path, files, monkeypatch, command):
    for name, path in files.items():
        (tmp_path / name).symlink_to(path)
    monkeypatch.chdir(tmp_path)
    args, stages = COMMANDS[command]
    result = run("--verbose", *args)
    assert result.exit_code == 0, result.output
    logged = [m.group(1) for line in result.stderr.splitlines() if (m := STAGE_LINE.match(line))]
    missing = [s for s in stages if not any(name.startswith(s) for name in logged)]
    assert not missing, (missing, result.stderr)


def test_slow_stages_are_announced_without_verbose_but_not_with_quiet_or_json(tmp_path, files):
    args = ["compare", str(files["model.s5rf"]), "--input", str(files["data.npz"]), "--fxp", str(files["model.fxp"])]
    plain = run(*args, "-o", str(tmp_path / "a"))
    assert plain.exit_code == 0, plain.output
    assert "drawing the report's figures" in plain.stderr.splitlines()
    assert not any(STAGE_LINE.match(line) for line in plain.stderr.splitlines())
    for flag, folder in (("--quiet", "b"), ("--json", "c")):
        silent = run(flag, *args, "-o", str(tmp_path / folder))
        assert silent.exit_code == 0 and "drawing" not in silent.stderr


def test_compare_warns_on_the_terminal_of_everything_its_report_flags(tmp_path, files):
    result = run("compare", str(files["model.s5rf"]), "--input", str(files["data.npz"]), "--fxp",
                 str(files["model.fxp"]), "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    warned = [line.removeprefix("warning: ") for line in result.stderr.splitlines() if line.startswith("warning: ")]
    report = (tmp_path / "r" / "report.md").read_text()
    flagged = [line[2:] for line in report.split("Warnings:\n\n")[1].split("\n\n")[0].splitlines()]
    assert warned == flagged and any("quantized without calibration data" in line for line in warned)


def test_flags_name_saturation_low_layer_agreement_and_missing_calibration():
    layer = {"layer": "layer 0", "spike_agreement": 0.95}
    lines = flags({"layers": [layer], "saturation": {"stage0": 3}, "calibrated": False})
    assert [line.split(" ")[:3] for line in lines] == [["the", "fixed-point", "network"], ["layer", "0:", "spike"],
                                                       ["3", "saturated", "updates"]]
    assert flags({"layers": [layer | {"spike_agreement": 0.995}], "saturation": {}, "calibrated": True}) == []


BAD_CALLS = [  # (arguments, error) refused before torch is imported
    (["simulate", "missing.s5rf", "--input", "data.npz", "-o", "r.npz"], "missing.s5rf: no such file"),
    (["simulate", "model.s5rf", "--input", "missing.npz", "-o", "r.npz"], "missing.npz: no such file"),
    (["simulate", "model.s5rf", "--input", "model.s5rf", "-o", "r.npz"], "not a dataset"),
    (["compare", "model.s5rf", "--input", "unlabelled.npz", "--labels", "-o", "r"], "no 'labels' array"),
    (["train", "unlabelled.npz", "-o", "t.s5rf"], "training needs a 'labels' array"),
    (["train", "data.npz", "--val-fraction", "1", "-o", "t.s5rf"], "--val-fraction must be in [0, 1)"),
    (["quantize", "model.s5rf", "--calibrate", "missing.npz", "-o", "q.fxp"], "missing.npz: no such file"),
    (["convert", "model.s5rf", "-o", "m.tflite"], "unknown target type '.tflite'"),
    (["inspect", "missing.nir"], "missing.nir: no such file"),
    (["simulate", "model.fxp", "--input", "data.npz", "--backend", "torch", "-o", "r.npz"],
     "model.fxp: fixed point runs on the stepper or lava backend, not 'torch'"),
    (["simulate", "model.fxp", "--input", "data.npz", "--precision", "float", "-o", "r.npz"],
     "a fixed-point artifact has no float model"),
]
PROBE = ("import sys\nfrom s5rf_deploy.cli.main import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
         "    print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n")


@pytest.mark.parametrize("args,error", BAD_CALLS, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_calls_are_refused_before_the_heavy_imports(tmp_path, files, args, error):
    """A bad call answers in well under a second: before torch (seconds to import) is imported."""
    for name, path in files.items():
        (tmp_path / name).symlink_to(path)
    save_dataset(Dataset(random_spikes(2, 8, 5)), tmp_path / "unlabelled.npz")
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 2 and error in lines[0], done.stderr
    assert lines[1] == "torch imported: False"


def _options() -> list[tuple[str, click.Option]]:
    return [(name, p) for name, command in sorted(main.commands.items()) for p in command.params
            if isinstance(p, click.Option)]


def test_every_option_has_help():
    assert [f"{name} {p.opts[-1]}" for name, p in _options() if not p.help] == []


def test_an_option_takes_the_same_values_in_every_command():
    """--dt, --config, --profile, --batch-size ... have one type across commands (--digits: convert has no
    calibration data, so no 'auto'; --output: a file or the report folder)."""
    kinds: dict[str, set[str]] = {}
    for _, p in _options():
        if p.opts[-1] not in ("--digits", "--output"):
            choices = getattr(p.type, "choices", None)
            kinds.setdefault(p.opts[-1], set()).add(f"{p.type.name} {choices or ''} {p.multiple}")
    assert {opt: k for opt, k in kinds.items() if len(k) > 1} == {}
