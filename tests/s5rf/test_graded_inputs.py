"""Graded (analog) inputs: encoding, exact folding of the input scale, the big-integer oracle, the artifact,
refusals (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_stepper_equals_bigint, make_model, random_spikes
from mutations import corrupt, refused, top
from s5rf_deploy.errors import S5RFError, SampleError
from s5rf_deploy.fixed.inputs import BINARY_INPUT, GRADED, calibrated_encoding, graded_payload_max
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.artifact import KIND, load_fxp, save_fxp
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import _calibrate, _quantize, quantize
from s5rf_deploy.s5rf.stepper import Stepper

LOIHI2 = load_profile("loihi2")
BINARY_ONLY = profile_from_dict(LOIHI2.to_dict() | {"name": "binary-only",
                                                    "spikes": dict(LOIHI2.spikes, payload_bits=1)}, "binary-only")


def analog(n: int, steps: int, width: int, seed: int = 0) -> np.ndarray:
    """Pixel-like intensities in [0, 1], a third of them exactly 0."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, steps, width)).astype(np.float32)
    return np.where(rng.random(x.shape) < 1 / 3, 0, x).astype(np.float32)


def graded_net(variant: str, layers: int = 3, seed: int = 5):
    net = network_from_model(make_model(variant, layers=layers, neurons=8, blocks=2, inputs=5, classes=3, seed=seed))
    u = analog(3, 30, 5, seed=seed)
    return net, u, quantize(net, LOIHI2, u, max_steps=30)


def test_encoding_rounds_and_names_bad_samples():
    enc = calibrated_encoding(analog(2, 4, 3), LOIHI2)
    assert enc.kind == GRADED and enc.payload_max == graded_payload_max(LOIHI2, 3) == 2**19 - 1  # 31 - 8 - 1 - 3
    # 2 x max|x| (< 1) fits the payloads, 4 x does not: the largest such power of two
    assert enc.scale_log2 == 18
    x = np.array([[[0.1, 0.75, 2.0**-20]]], np.float32)  # 2**-20 * 2**18 = 0.25 rounds to 0
    np.testing.assert_array_equal(enc.encode(x, 3), [[[round(float(np.float32(0.1)) * 2**18), 0.75 * 2**18, 0]]])
    bad = np.zeros((3, 4, 3), np.float32)
    bad[2, 1, 0] = np.nan
    with pytest.raises(SampleError, match=r"^sample 2: analog input at step 1, channel 0 is nan, not a finite"):
        enc.encode(bad, 3)
    bad[2, 1, 0] = 0
    bad[1, 3, 2] = -2.5  # beyond +-(payload_max + 0.5) / 2**18 ~ 2.0
    with pytest.raises(SampleError, match=r"^sample 1: analog input -2.5 at step 3, channel 2 is outside the range"):
        enc.encode(bad, 3)
    assert calibrated_encoding(random_spikes(2, 4, 3), LOIHI2) is BINARY_INPUT
    with pytest.raises(S5RFError, match="calibration inputs hold NaN or Inf"):
        calibrated_encoding(np.where(bad < 0, np.inf, bad), LOIHI2)


def test_input_scale_is_folded_exactly_into_layer_0():
    """Same state scales, binary vs analog calibration inputs: layer 0's weights per payload unit are the binary
    ones divided by exactly 2^a, and the other stages are identical."""
    net, u, (fxp, report) = graded_net("dirac_keepimag")
    peaks, readout_peak, info, _ = _calibrate(net, u)
    binary, _ = _quantize(net, LOIHI2, (peaks, readout_peak, info, random_spikes(3, 30, 5)), 30,
                          dict.fromkeys(["layer 0", "layer 1", "layer 2", "readout"], 2))
    a = fxp.input_encoding.scale_log2
    assert a > 0 and report.inputs["kind"] == GRADED and binary.input_encoding is BINARY_INPUT

    def effective(stage):
        return sum(s.weights * 2.0 ** (s.weight_exp + stage.input_shift) for s in stage.inputs if s.source == INPUT)

    np.testing.assert_array_equal(effective(fxp.stages[0]) * 2.0**a, effective(binary.stages[0]))

    def later(q):
        return [(s.source, s.weights.tolist(), s.weight_exp) for st in q.stages[1:] for s in st.inputs] + \
            [(s.source, s.weights.tolist(), s.weight_exp) for s in q.readout.inputs]

    assert later(fxp) == later(binary)
    err = report.inputs["error"]
    assert 0 < err["max_abs"] <= 2.0 ** -(a + 1)  # round to nearest on a 2^-a grid


@pytest.mark.parametrize("variant", ["zoh_vmix", "dirac_real", "bilinear_polar", "zoh_real_polar"])
def test_graded_inputs_equal_bigint_oracle(variant):
    """The oracle is fed the payloads computed here (round(x 2^a)), the stepper the analog values."""
    _, u, (fxp, _) = graded_net(variant)
    payloads = np.rint(u.astype(np.float64) * 2.0**fxp.input_encoding.scale_log2)
    assert np.abs(payloads).max() > 2**10
    spikes = assert_stepper_equals_bigint(fxp, u, payloads)
    assert all(0 < s.mean() < 1 for s in spikes)


def test_binary_inputs_keep_the_exact_path():
    net = network_from_model(make_model("zoh_vmix", layers=2, neurons=8, blocks=2, inputs=5, classes=3, seed=1))
    u = random_spikes(2, 20, 5, rate=0.3)
    fxp, report = quantize(net, LOIHI2, u, max_steps=20)
    assert fxp.input_encoding is BINARY_INPUT and report.inputs == {"kind": "binary", "scale_log2": 0}
    assert_stepper_equals_bigint(fxp, u)


def test_artifact_records_the_encoding(tmp_path):
    _, u, (fxp, _) = graded_net("zoh_vmix", layers=2)
    save_fxp(fxp, tmp_path / "g.fxp")
    loaded = load_fxp(tmp_path / "g.fxp")
    assert loaded.input_encoding == fxp.input_encoding
    np.testing.assert_array_equal(Stepper(loaded).run(u).readout, Stepper(fxp).run(u).readout)
    old = corrupt(tmp_path / "g.fxp", tmp_path, KIND, lambda m, a: m.pop("input"))  # written before issue 15
    assert load_fxp(old).input_encoding is BINARY_INPUT
    for edit, message in [
        (top("input", {"kind": "pixels", "scale_log2": 3}), "input kind 'pixels' is not one of"),
        (top("input", {"kind": "binary", "scale_log2": 3}), "binary inputs have scale 0"),
        (top("input", {"kind": "graded", "scale_log2": 1.5}), "input scale_log2 1.5 is not an integer"),
        (top("input", {"kind": "graded", "scale_log2": 99}), "input scale_log2 99 outside"),
        (top("input", {"kind": "graded"}), "incomplete or malformed"),
        (top("input", "graded"), "incomplete or malformed"),
    ]:
        path = corrupt(tmp_path / "g.fxp", tmp_path, KIND, edit)
        refused(path, message, lambda p=path: load_fxp(p))


def test_profile_without_graded_spikes_refuses():
    net = network_from_model(make_model("dirac_keepimag", layers=2, neurons=8, blocks=2, inputs=5, classes=3))
    with pytest.raises(S5RFError, match=r"profile 'binary-only' carries binary spikes only \(spikes.payload_bits = "
                                        r"1\); analog \(non-0/1\) inputs need graded spikes"):
        quantize(net, BINARY_ONLY, analog(2, 10, 5))
    quantize(net, BINARY_ONLY, random_spikes(2, 10, 5))  # binary inputs still quantize
    vmix = network_from_model(make_model("zoh_vmix", layers=2, neurons=8, blocks=2, inputs=5, classes=3))
    with pytest.raises(S5RFError, match="layers with V mixing"):
        quantize(vmix, BINARY_ONLY)
