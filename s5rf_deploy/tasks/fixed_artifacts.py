"""The fixed-point counterpart of a float network: a given artifact (checked to match) or a fresh quantization."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.inputs import BINARY_INPUT
from s5rf_deploy.fixed.weights import CALIBRATION_SAMPLES
from s5rf_deploy.samples import NO_BINNING, Binning, check_samples, open_samples, seeded_subset
from s5rf_deploy.tasks.families import check_matches, is_fixed, quantize_network, takes_analog_inputs


def calibration_inputs(path: str, net, samples: int = CALIBRATION_SAMPLES, binning: Binning = NO_BINNING) -> np.ndarray:
    """``samples`` samples of the dataset file at ``path`` drawn with a fixed seed (all of a smaller file), checked
    for the float network ``net`` (its width, and binary spikes unless analog inputs give it graded inputs); an
    event file is binned as ``binning`` says and only the drawn samples are read."""
    data = open_samples(path, binning)
    check_samples(data, net.input_dim, path, None if takes_analog_inputs(net) else BINARY_INPUT)
    return np.asarray(data.take(seeded_subset(len(data), samples)))


def fixed_point_for(net, fxp_path: str | None, profile: str, calibrate: str | None = None,
                    dt: float | None = None, own_inputs: tuple[str, np.ndarray] | None = None,
                    warn: Callable[[str], None] | None = None, digits: int = 2, binning: Binning = NO_BINNING):
    """The artifact at ``fxp_path`` (checked against ``net``), else ``net`` quantized for ``profile`` with
    ``digits`` weight digits, calibrated on the inputs of ``calibrate`` or else on samples of ``own_inputs``
    (name, inputs), drawn as :func:`calibration_inputs` draws them.  Returns it and a description; the
    quantizer's warnings go to ``warn``."""
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.loading import load_any

    if fxp_path:
        fxp = load_any(fxp_path)
        if not is_fixed(fxp):
            raise S5RFError(f"{fxp_path}: not a fixed-point artifact")
        check_matches(net, fxp, fxp_path)
        return fxp, f"artifact {fxp_path} ({fxp.profile.name})"
    prof = load_profile(profile)
    source = calibrate
    if calibrate:
        calib, what = calibration_inputs(calibrate, net, binning=binning), f", calibrated on {calibrate}"
    elif own_inputs is not None:
        source, inputs = own_inputs
        calib = np.asarray(inputs[seeded_subset(len(inputs), CALIBRATION_SAMPLES)])
        what = f", calibrated on {len(calib)} samples of {source} (--calibrate TRAIN.npz keeps them apart)"
    else:
        calib, what = None, ""
    fxp, report = quantize_network(net, prof, calib, digits, dt=dt, source=source)
    for message in report.warnings if warn else ():
        warn(message)
    return fxp, f"quantized for {prof.name}{what}"
