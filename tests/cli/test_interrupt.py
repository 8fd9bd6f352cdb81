"""Ctrl-C during a Lava run: exit 130, no partial output, no Lava processes left behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import as_from_a_terminal, assert_ctrl_c_cleans_up, session_processes
from s5rf_deploy.dataset import save_dataset
from s5rf_deploy.demo import digits, model_path

pytestmark = pytest.mark.lava


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_ctrl_c_during_lava_run_cleans_up(tmp_path: Path, command: str):
    save_dataset(digits.load_split("test").head(200), tmp_path / "test.npz")
    out = tmp_path / ("run.npz" if command == "simulate" else "report")
    cli = Path(sys.executable).parent / "s5rf-deploy"
    args = (["--precision", "fixed", "--backend", "lava"] if command == "simulate" else ["--lava", "200"])
    proc = subprocess.Popen([str(cli), command, str(model_path()), *args, "--input", str(tmp_path / "test.npz"),
                             "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 120
    while len(session_processes(proc.pid)) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # wait until Lava's processes are up
    assert proc.poll() is None, proc.communicate()
    time.sleep(2)
    assert_ctrl_c_cleans_up(proc, out)


def test_ctrl_c_while_lava_compiles_is_not_lost(tmp_path: Path):
    """A Ctrl-C that arrives while Lava compiles and forks its processes (SIGINT held back then, so that they do
    not inherit it) still ends the run: exit 130, nothing written, no process left."""
    save_dataset(digits.load_split("test").head(50), tmp_path / "test.npz")
    out = tmp_path / "run.npz"
    cli = Path(sys.executable).parent / "s5rf-deploy"
    proc = subprocess.Popen([str(cli), "simulate", str(model_path()), "--precision", "fixed", "--backend", "lava",
                             "--input", str(tmp_path / "test.npz"), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=as_from_a_terminal)
    first = proc.stderr.readline()  # printed as the compilation starts
    assert "compiling the Lava process graph" in first, first
    assert_ctrl_c_cleans_up(proc, out)
