"""Quantizer, fixed-point artifact and the reference stepper."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers import VARIANTS, make_model, random_spikes
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.resources import check_fits
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.artifact import load_fxp, save_fxp
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks.families import quantize_network

LOIHI2 = load_profile("loihi2")


def unpipelined(fxp, inputs: np.ndarray):
    """The same integer arithmetic evaluated layer by layer over whole sequences, without
    Lava's pipeline: every synapse reads its source at the same float time step."""
    n, steps, _ = inputs.shape
    outs = {(INPUT, "spikes"): inputs.astype(np.int64)}
    spikes = {}
    for k, st in enumerate(fxp.stages):
        re = np.zeros((n, st.size), np.int64)
        im = np.zeros((n, st.size), np.int64)
        trace = {part: np.zeros((n, steps, st.size), np.int64) for part in ("spikes", "re", "im")}
        for t in range(steps):
            a = sum((fx.dense_output(outs[(s.source, s.part)][:, t] @ s.weights.T, s.weight_exp) for s in st.inputs),
                    np.zeros((n, 2 * st.size), np.int64))
            re, im, _ = fx.rf_update(re, im, st.decay_re, st.decay_im, a[:, :st.size], a[:, st.size:], st.input_shift,
                                     fxp.profile.decay["bits"], fxp.profile.decay["rounding"], fxp.profile.state_max)
            if st.spike == "graded":
                bits = fxp.profile.spikes["payload_bits"]
                trace["re"][:, t] = fx.graded_payload(re, st.payload_shift, bits)
                trace["im"][:, t] = fx.graded_payload(im, st.payload_shift, bits)
            else:
                trace["spikes"][:, t] = fx.rf_spikes(re, im, st.threshold, st.spike)
        for part, values in trace.items():
            outs[(k, part)] = values
        spikes[k] = trace["spikes"]
    u = v = np.zeros((n, fxp.num_classes), np.int64)
    for t in range(steps):
        a = sum((fx.dense_output(outs[(s.source, s.part)][:, t] @ s.weights.T, s.weight_exp)
                 for s in fxp.readout.inputs), np.zeros((n, fxp.num_classes), np.int64))
        u, v, _, _ = fx.lif_step(u, v, a, fxp.readout.du, 0, fxp.readout.vth_mantissa)
    return v, [spikes[k] for k in fxp.layer_stages]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_pipeline_timing_equals_unpipelined_evaluation(variant):
    model = make_model(variant, layers=4, seed=11)
    net = network_from_model(model)
    u = random_spikes(3, 70, 5, seed=12)
    fxp, _ = quantize(net, LOIHI2, u)
    res = Stepper(fxp).run(u, record=("spikes",))
    v, spikes = unpipelined(fxp, u)
    np.testing.assert_array_equal(res.readout, v)
    for i in range(4):
        np.testing.assert_array_equal(res.spikes[i], spikes[i])
        assert 0 < spikes[i].mean() < 1
    if variant == "zoh_vmix":
        assert fxp.stages[0].spike == "graded" and len(fxp.stages) == 5


@pytest.fixture(scope="module")
def demo():
    net = network_from_model(load_checkpoint(model_path()))
    fxp, report = quantize_network(net, LOIHI2, digits.load_split("train").inputs[:256])
    return net, fxp, report


def test_demo_fixed_point_agrees_with_float(demo):
    net, fxp, report = demo
    test = digits.load_split("test")
    res = Stepper(fxp).run(test.inputs)
    with torch.no_grad():
        float_pred = model_from_network(net)(torch.from_numpy(test.inputs).double()).logprobs.argmax(-1).numpy()
    agreement = (res.predictions == float_pred).mean()
    drop = (float_pred == test.labels).mean() - (res.predictions == test.labels).mean()
    assert agreement >= 0.99, agreement
    assert drop <= 0.005, drop
    assert sum(res.saturation.values()) == 0
    assert list(report.calibration["agreement"]["spike_agreement"]) == ["layer 0", "layer 1"]
    assert all(a > 0.99 for a in report.calibration["agreement"]["spike_agreement"].values())
    assert report.calibration["samples"] == 256


def test_report_contents(demo):
    _, fxp, report = demo
    layer = report.layers[0]
    assert len(layer["pole_error"]["magnitude"]) == 64
    assert layer["pole_error"]["max_abs_magnitude"] < 2.0**-12
    assert report.resources["fits"] and report.resources["neurons"] == 64 + 64 + 10
    assert report.readout["scale_basis"] == "calibration"


def test_artifact_round_trip_and_batch_invariance(tmp_path, demo):
    _, fxp, _ = demo
    save_fxp(fxp, tmp_path / "d.fxp")
    loaded = load_fxp(tmp_path / "d.fxp")
    u = digits.load_split("test").inputs[:40]
    a = Stepper(fxp).run(u, record=("spikes", "states"), batch_size=7)
    b = Stepper(loaded).run(u, record=("spikes", "states"), batch_size=40)
    np.testing.assert_array_equal(a.readout, b.readout)
    for x, y in zip(a.spikes + a.states, b.spikes + b.states, strict=True):
        np.testing.assert_array_equal(x, y)
    assert Stepper(fxp).run(u).spikes is None
    raw = (tmp_path / "d.fxp").read_bytes()
    (tmp_path / "t.fxp").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError):
        load_fxp(tmp_path / "t.fxp")


def test_stepper_rejects_non_binary_inputs(demo):
    _, fxp, _ = demo
    u = digits.load_split("test").inputs[:2].copy()
    u[0, 3, 1] = 0.5
    with pytest.raises(S5RFError, match="binary spike inputs"):
        Stepper(fxp).run(u)


def test_saturation_is_counted_not_silent():
    net = network_from_model(make_model("dirac_keepimag", layers=2, seed=3, gain=40.0))
    raw = LOIHI2.to_dict()
    raw["state"] = dict(raw["state"], default_headroom=1.0)
    fxp, _ = quantize(net, profile_from_dict(raw, "tight"))
    res = Stepper(fxp).run(random_spikes(2, 50, 5, rate=0.5))
    assert res.saturation["stage0"] > 0


def test_network_too_large_for_profile_is_an_error():
    raw = LOIHI2.to_dict()
    raw["resources"] = dict(raw["resources"], cores_per_chip=1)
    _, report = quantize(network_from_model(make_model("dirac_keepimag")), profile_from_dict(raw, "tiny"))
    assert not report.resources["fits"]
    with pytest.raises(S5RFError, match="cores.*--allow-overflow"):
        check_fits(report, allow_overflow=False)
    check_fits(report, allow_overflow=True)


def test_more_weight_digits_reduce_weight_error():
    net = network_from_model(make_model("dirac_keepimag", seed=8))
    errors = [quantize(net, LOIHI2, digits=d)[1].layers[0]["weight_error"]["rel_rms"] for d in (1, 2, 3)]
    assert errors[0] > 10 * errors[1] > 10 * errors[2] * 0.5
    assert errors[0] < 2**-6  # 8-bit weights with a shared exponent


def test_fixed_artifact_cannot_be_forged(tmp_path, demo):
    _, fxp, _ = demo
    stage = fxp.stages[0]
    bad = dataclasses.replace(fxp, stages=(dataclasses.replace(stage, threshold=2**30),) + fxp.stages[1:])
    with pytest.raises(FormatError, match="threshold"):  # validated before it is written ...
        save_fxp(bad, tmp_path / "b.fxp")
    assert not (tmp_path / "b.fxp").exists()
