"""Start-up of a fixed-point run: ``simulate`` of an artifact on the stepper never imports torch (about 1 s of
the 2 s a small run took), so the stepper's speed shows from a handful of samples on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_helpers import run
from s5rf_deploy.dataset import save_dataset
from s5rf_deploy.demo import digits, model_path


def test_fixed_point_simulate_runs_without_importing_torch(tmp_path: Path):
    save_dataset(digits.load_split("test").head(8), tmp_path / "test.npz")
    assert run("quantize", str(model_path()), "--calibrate", str(tmp_path / "test.npz"), "-o",
               str(tmp_path / "demo.fxp")).exit_code == 0
    args = ["simulate", str(tmp_path / "demo.fxp"), "--input", str(tmp_path / "test.npz"),
            "-o", str(tmp_path / "x.npz")]
    code = ("import sys\n"
            "from s5rf_deploy.cli.main import main\n"
            f"sys.argv = ['s5rf-deploy', *{args!r}]\n"
            "try:\n"
            "    main()\n"
            "except SystemExit as end:\n"
            "    assert end.code in (0, None), end.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "x.npz").is_file()
