"""The fixed-point counterpart of a float network: a given artifact (checked to match) or a fresh quantization."""

from __future__ import annotations

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.weights import CALIBRATION_SAMPLES
from s5rf_deploy.tasks.families import check_matches, is_fixed, quantize_network


def calibration_inputs(path: str, width: int, samples: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The inputs of the first ``samples`` samples of the dataset at ``path``, checked for ``width``."""
    from s5rf_deploy.dataset import load_dataset

    data = load_dataset(path).head(samples)
    data.check_width(width, path)
    data.check_spikes(path)
    return np.asarray(data.inputs)


def fixed_point_for(net, fxp_path: str | None, profile: str, calibrate: str | None = None,
                    dt: float | None = None):
    """The artifact at ``fxp_path`` (checked against ``net``), else ``net`` quantized for ``profile``
    (calibrated on the inputs of ``calibrate``).  Returns it and a description."""
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.loading import load_any

    if fxp_path:
        fxp = load_any(fxp_path)
        if not is_fixed(fxp):
            raise S5RFError(f"{fxp_path}: not a fixed-point artifact")
        check_matches(net, fxp, fxp_path)
        return fxp, f"artifact {fxp_path} ({fxp.profile.name})"
    prof = load_profile(profile)
    calib = calibration_inputs(calibrate, net.input_dim) if calibrate else None
    fxp, _ = quantize_network(net, prof, calib, dt=dt)
    return fxp, f"quantized for {prof.name}" + (f", calibrated on {calibrate}" if calibrate else "")
