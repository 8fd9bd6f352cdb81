"""``--workers`` / ``--scheduler`` and ``sweep``: the same files as one process, one-line errors, Ctrl-C with
nothing left behind (docs/scale-out.md)."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import as_from_a_terminal, assert_bad_input, assert_ctrl_c_cleans_up, run, session_processes
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.demo import digits, model_path

MODEL = str(model_path())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """60 test digits and the demo model quantized on them."""
    folder = tmp_path_factory.mktemp("scale")
    save_dataset(digits.load_split("test").head(60), folder / "test.npz")
    result = run("quantize", MODEL, "--calibrate", str(folder / "test.npz"), "-o", str(folder / "demo.fxp"))
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def scheduler() -> str:
    """The address of an existing cluster of 2 single-threaded workers (as ``dask scheduler`` and
    ``dask worker --nworkers 2 --nthreads 1`` start one)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_workers_and_scheduler_together_are_refused(workspace: Path):
    result = run("simulate", MODEL, "--input", str(workspace / "test.npz"), "--workers", "2", "--scheduler",
                 "tcp://127.0.0.1:1", "-o", str(workspace / "x.npz"))
    assert_bad_input(result, "not both")


def test_unreachable_scheduler_is_bad_input(workspace: Path, monkeypatch):
    from s5rf_deploy.tasks import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    result = run("simulate", str(workspace / "demo.fxp"), "--input", str(workspace / "test.npz"), "--scheduler",
                 "tcp://127.0.0.1:1", "-o", str(workspace / "x.npz"))
    assert_bad_input(result, "cannot reach a Dask scheduler at tcp://127.0.0.1:1")
    assert not (workspace / "x.npz").exists()


@pytest.mark.slow
def test_two_workers_and_an_existing_cluster_write_what_one_process_writes(workspace: Path, tmp_path: Path,
                                                                          scheduler: str):
    w, fxp = str(workspace / "test.npz"), str(workspace / "demo.fxp")
    runs = {"one": (), "two": ("--workers", "2"), "there": ("--scheduler", scheduler)}
    for name, extra in runs.items():
        result = run("simulate", fxp, "--input", w, "--record", "spikes,states", "--batch-size", "16", *extra, "-o",
                     str(tmp_path / f"{name}.npz"))
        assert result.exit_code == 0, result.output
    one = (tmp_path / "one.npz").read_bytes()
    assert (tmp_path / "two.npz").read_bytes() == one and (tmp_path / "there.npz").read_bytes() == one
    for name in ("one", "two"):
        result = run("compare", MODEL, "--input", w, "--labels", "--fxp", fxp, "-o", str(tmp_path / name), *runs[name])
        assert result.exit_code == 0, result.output
    same = filecmp.dircmp(tmp_path / "one", tmp_path / "two")
    assert same.left_list == same.right_list and not same.diff_files and not same.funny_files


@pytest.mark.slow
def test_sweep_tabulates_every_choice_in_one_sharded_job(workspace: Path, tmp_path: Path, scheduler: str):
    result = run("--json", "sweep", MODEL, "--input", str(workspace / "test.npz"), "--labels", "--profiles",
                 "loihi2,loihi2-wide", "--digits", "1,2", "--scheduler", scheduler, "-o", str(tmp_path / "sweep"))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(c["profile"], c["digits"]) for c in payload["choices"]] == [
        ("loihi2", 1), ("loihi2", 2), ("loihi2-wide", 1), ("loihi2-wide", 2)]
    one, two = payload["choices"][:2]
    assert one["resources"]["synapses"] < two["resources"]["synapses"]
    compared = run("--json", "compare", MODEL, "--input", str(workspace / "test.npz"), "--labels", "--profile",
                   "loihi2", "-o", str(tmp_path / "compare"))
    assert json.loads(compared.stdout)["output"] == two["metrics"]["output"]  # the row is compare's result
    assert payload["files"] == ["report.json", "report.md", "sweep.png"]
    assert "| loihi2-wide | 2 |" in (tmp_path / "sweep" / "report.md").read_text()


@pytest.mark.slow
def test_bad_sample_in_a_shard_is_a_one_line_error(workspace: Path, tmp_path: Path, scheduler: str, monkeypatch):
    """The workers check what the CLI would have refused up front (skipped here): exit 2, the sample named."""
    data = digits.load_split("test").head(60)
    inputs = data.inputs.copy()
    inputs[37, 3, 2] = 0.5
    save_dataset(Dataset(inputs, data.labels), tmp_path / "bad.npz")
    monkeypatch.setattr(Dataset, "check_inputs", lambda *_: None)
    out = tmp_path / "run.npz"
    result = run("simulate", str(workspace / "demo.fxp"), "--input", str(tmp_path / "bad.npz"), "--scheduler",
                 scheduler, "-o", str(out))
    assert_bad_input(result, "sample 37: fixed-point backends take binary spike inputs (0/1)")
    assert not out.exists() and not list(tmp_path.glob(".run.npz.*"))


@pytest.mark.lava
@pytest.mark.slow
def test_ctrl_c_during_sharded_lava_run_ends_every_process(workspace: Path, tmp_path: Path):
    """A terminal's Ctrl-C (SIGINT to the whole process group) while both workers run Lava: exit 130, no
    output, and no worker, Lava or other process of the run left."""
    out = tmp_path / "run.npz"
    save_dataset(digits.load_split("test").head(200), tmp_path / "test.npz")
    cli = Path(sys.executable).parent / "s5rf-deploy"
    proc = subprocess.Popen([str(cli), "simulate", str(workspace / "demo.fxp"), "--backend", "lava", "--input",
                             str(tmp_path / "test.npz"), "--workers", "2", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 180
    while len(session_processes(proc.pid)) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the CLI, its resource tracker, 2 workers and each worker's Lava processes
    assert proc.poll() is None, proc.communicate()
    assert_ctrl_c_cleans_up(proc, out)
