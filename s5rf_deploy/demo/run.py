"""The end-to-end demo: float model -> NIR -> re-import -> loihi2 fixed point -> stepper -> Lava -> compare report,
plus the workspace README.md continues from (:mod:`s5rf_deploy.demo.workspace`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from s5rf_deploy.converters.nir.export import to_nir, write_nir
from s5rf_deploy.converters.nir.load import load_nir
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.demo.workspace import write_workspace
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.artifact import save_fxp
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.tasks.compare import lava_check, metrics, s5rf_runs
from s5rf_deploy.tasks.compare_report import write_report

CALIBRATION_SAMPLES = 256


def run_demo(out_dir: Path, lava_samples: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Run every stage on the embedded digits model; write the artifacts and the README's workspace into
    ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train, test = digits.load_split("train"), digits.load_split("test")
    net = network_from_model(load_checkpoint(model_path()))
    x = torch.from_numpy(test.inputs).double()
    with torch.no_grad():
        float_logprobs = model_from_network(net)(x).logprobs.numpy()
    float_pred = float_logprobs.argmax(-1)
    result: dict[str, Any] = {"test_samples": len(test), "float_accuracy": float(np.mean(float_pred == test.labels))}
    say(f"float model: test accuracy {result['float_accuracy']:.4f} on {len(test)} digits")

    nir_path = out_dir / "demo.nir"
    write_nir(to_nir(net), nir_path)
    with torch.no_grad():
        again = model_from_network(load_nir(nir_path))(x).logprobs.numpy()
    result["nir"] = {"path": str(nir_path), "max_logprob_difference": float(np.abs(again - float_logprobs).max())}
    say(f"NIR: wrote {nir_path}, re-imported: max log-prob difference {result['nir']['max_logprob_difference']:.1e}")

    fxp, report = quantize(net, load_profile("loihi2"), train.inputs[:CALIBRATION_SAMPLES])
    fxp_path = out_dir / "demo.fxp"
    save_fxp(fxp, fxp_path)
    say(f"quantized for loihi2 (calibrated on {CALIBRATION_SAMPLES} training digits): wrote {fxp_path}")

    runs = s5rf_runs(net, fxp, test.inputs)
    compared = metrics(runs, test.labels)
    out = compared["output"]
    result["fixed"] = {"path": str(fxp_path), "accuracy": out["accuracy"]["fixed"],
                       "top1_agreement": out["top1_agreement"],
                       "saturated_updates": int(sum(runs.saturation.values())),
                       "spike_agreement": [e["spike_agreement"] for e in compared["layers"]],
                       "resources": {k: report.resources[k] for k in ("neurons", "synapses", "cores", "fits")}}
    say(f"stepper (fixed point): test accuracy {result['fixed']['accuracy']:.4f}, top-1 agreement with float "
        f"{result['fixed']['top1_agreement']:.4f}, {result['fixed']['saturated_updates']} saturated updates")

    lava = lava_check(fxp, test.inputs[:lava_samples])
    result["lava"] = lava
    say(f"Lava fixed point (Loihi2SimCfg) on {lava_samples} digits: "
        + ("bit-exact with the stepper" if lava["bit_exact"] else "MISMATCH with the stepper")
        + " (readout, spikes, states)")

    report_dir = out_dir / "report"
    compared.update({"model": "embedded digits model", "fixed_point": f"{fxp_path} (loihi2, calibrated)",
                     "lava": lava})
    files = write_report(report_dir, compared, runs, test.labels, force=True)
    result["report"] = {"path": str(report_dir), "files": files}
    say(f"compare report: {report_dir}/report.md with {', '.join(f for f in files if f.endswith('.png'))}")
    workspace = write_workspace(out_dir, train, test)
    result["workspace"] = {"path": str(out_dir), "files": workspace}
    say(f"workspace for README.md: {', '.join(workspace)}")
    result["seconds"] = time.perf_counter() - started
    return result
