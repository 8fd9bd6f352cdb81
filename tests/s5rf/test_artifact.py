"""The S5-RF fixed-point artifact refuses every corrupt field with one line naming the file and the field
(issue 21), on load and before save."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_bad_input, run
from helpers import make_model, random_spikes
from mutations import array, corrupt, refused, stage, synapse, top
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.artifact import KIND, load_fxp, save_fxp
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize

LOIHI2 = load_profile("loihi2")


def _quantized(**kwargs):
    return quantize(network_from_model(make_model("zoh_vmix", **kwargs)), LOIHI2)[0]


# Stages: 0 graded RF (layer 0, from the input), 1 its V mixing (re/im of 0), 2 RF (layer 1), 3 RF (layer 2, with a
# skip synapse from 1 delayed by 1); the readout reads 3.
NET = _quantized(layers=3, neurons=4, blocks=2, inputs=4, classes=2)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fxp") / "good.fxp"
    save_fxp(NET, path)
    return path


def graded_skip(meta: dict, arrays: dict) -> None:
    """Stage 3's skip synapse re-pointed at graded stage 0's "re", delayed as the pipeline needs (2)."""
    meta["stages"][3]["inputs"][2].update(source=0, part="re", delay=2)


CASES = {
    "input-dim-type": (top("input_dim", "4"), "input_dim '4' is not an integer"),
    "input-dim-zero": (top("input_dim", 0), "input_dim 0 is below 1"),
    "provenance": (top("provenance", []), "provenance is not a mapping"),
    "decay-dtype": (array("stage0.decay_re", lambda a: a + 0.5), "'stage0.decay_re' holds float64 values"),
    "decay-2d": (array("stage0.decay_re", lambda a: a[:, None]), "stage 0 decay_re (stage0.decay_re) is not"),
    "decay-empty": (array("stage2.decay_im", lambda a: a[:0]), "stage 2 decay_im (stage2.decay_im) is not"),
    "decay-shapes": (array("stage2.decay_im", lambda a: a[:-1]), "stage 2 decay arrays differ in shape"),
    "decay-bits": (array("stage0.decay_re", lambda a: a + 5000), "stage 0 decay coefficients exceed 12 bits"),
    "spike-rule": (stage(2, "spike", "sideways"), "stage 2 has spike rule 'sideways'"),
    "spike-rule-type": (stage(2, "spike", ["graded"]), "stage 2 has spike rule ['graded']"),
    "threshold-type": (stage(2, "threshold", 1.5), "stage 2 threshold 1.5 is not an integer"),
    "threshold-range": (stage(2, "threshold", 2**30), "stage 2 threshold 1073741824 outside the profile's range"),
    "threshold-bool": (stage(2, "threshold", True), "stage 2 threshold True is not an integer"),
    "input-shift": (stage(1, "input_shift", 8), "stage 1 input shift 8 outside the profile's range 0..7"),
    "payload-shift": (stage(0, "payload_shift", -1), "stage 0 payload shift -1 outside the profile's range"),
    "state-scale": (stage(0, "state_scale", "x"), "stage 0 state scale 'x' is not a positive finite number"),
    "source-type": (synapse(2, 0, "source", -0.5), "stage 2 synapse stage2.in.0 source -0.5 is not an integer"),
    "source-later-stage": (synapse(2, 0, "source", 3),
                           "stage 2 synapse from 3 (stage2.in.0): the source must be the network input or an earlier"),
    "source-itself": (synapse(2, 0, "source", 2), "stage 2 synapse from 2 (stage2.in.0): the source must be"),
    "source-missing-stage": (synapse(2, 0, "source", 9), "stage 2 synapse from 9 (stage2.in.0): the source must be"),
    "part-of-input": (synapse(0, 0, "part", "re"),
                      "stage 0 synapse from -1 (stage0.in.0) reads part 're'; source -1 sends only 'spikes'"),
    "part-of-graded": (synapse(1, 0, "part", "spikes"),
                       "stage 1 synapse from 0 (stage1.in.0) reads part 'spikes'; source 0 sends only 're' and 'im'"),
    "part-of-spiking": (synapse(2, 1, "part", "im"), "stage 2 synapse from 1 (stage2.in.1) reads part 'im'"),
    "part-unknown": (synapse(2, 1, "part", "x"), "stage 2 synapse from 1 (stage2.in.1) reads part 'x'"),
    "weights-shape": (array("stage2.in.0.weights", lambda a: a[:, :2]),
                      "stage 2 synapse from 1 has shape (8, 2), expected (8, 4) (stage2.in.0)"),
    "weights-dtype": (array("stage2.in.0.weights", lambda a: a.astype(bool)), "'stage2.in.0.weights' holds bool"),
    "weights-8-bit": (array("stage2.in.0.weights", lambda a: a + 300),
                      "stage 2 synapse from 1 (stage2.in.0) weights exceed 8 bits"),
    "weight-exponent": (synapse(2, 0, "weight_exp", 8),
                        "stage 2 synapse from 1 (stage2.in.0) weight exponent 8 outside the profile's range -8..7"),
    "weight-exponent-type": (synapse(2, 0, "weight_exp", None), "stage2.in.0 weight_exp None is not an integer"),
    "delay-negative": (synapse(2, 0, "delay", -1), "stage 2 synapse from 1 (stage2.in.0) delay -1 outside"),
    "delay-beyond-profile": (synapse(3, 2, "delay", 63), "stage 3 synapse from 1 (stage3.in.2) delay 63 outside the "
                                                         "profile's range 0..62"),
    "delay-misaligned": (synapse(3, 2, "delay", 0),
                         "stage 3 synapse from 1 (stage3.in.2) delay 0 breaks the pipeline's alignment, which needs 1"),
    "delay-where-none-needed": (synapse(2, 0, "delay", 1), "stage 2 synapse from 1 (stage2.in.0) delay 1 breaks"),
    "graded-delayed": (graded_skip, "stage 3 synapse from 0 (stage3.in.2) delays graded payloads"),
    "readout-du-2d": (array("readout.du", lambda a: a[:, None]), "readout du (readout.du) is not a non-empty 1-D"),
    "readout-du-range": (array("readout.du", lambda a: np.full_like(a, 5000)),
                         "readout du 5000 outside the profile's range 0..4095"),
    "readout-du-classes": (array("readout.du", lambda a: a[:1]),
                           "readout synapse from 3 has shape (2, 4), expected (1, 4) (readout.0)"),
    "readout-threshold": (lambda m, a: m["readout"].__setitem__("vth_mantissa", -1),
                          "readout threshold mantissa -1 outside the profile's range"),
    "readout-scale": (lambda m, a: m["readout"].__setitem__("scale", 0), "readout scale 0 is not a positive finite"),
    "readout-source": (lambda m, a: m["readout"]["inputs"][0].__setitem__("source", 0),
                       "readout synapse from 0 (readout.0) reads part 'spikes'; source 0 sends only 're' and 'im'"),
    "readout-delay": (lambda m, a: m["readout"]["inputs"][0].__setitem__("delay", 1),
                      "readout synapse from 3 (readout.0) delay 1 breaks the pipeline's alignment, which needs 0"),
    "layer-stages-type": (top("layer_stages", 3), "layer_stages 3 is not a list of stages"),
    "layer-stage-index": (top("layer_stages", [1, 2, 7]), "layer stage 7 is not one of the 4 stages (layer_stages)"),
    "state-stage-type": (top("state_stages", [0, 2, "3"]), "layer stage '3' is not one of the 4 stages (state_stages)"),
    "layer-count": (top("state_stages", [0, 2]), "layer_stages and state_stages name 3 and 2 layers"),
    "state-stage-mixing": (top("state_stages", [1, 2, 3]), "state_stages[0] = 1 is a mixing stage, not an RF stage"),
    "layer-stage-graded": (top("layer_stages", [0, 2, 3]),
                           "layer_stages[0] = 0, but layer 0's spikes come from stage 1"),
    "layer-stage-other": (top("layer_stages", [1, 3, 3]),
                          "layer_stages[1] = 3, but layer 1's spikes come from stage 2"),
}


@pytest.mark.parametrize("edit, message", CASES.values(), ids=CASES.keys())
def test_corrupt_field_is_refused_in_one_line(good, tmp_path, edit, message):
    path = corrupt(good, tmp_path, KIND, edit)
    refused(path, message, lambda: load_fxp(path))


def test_valid_artifact_round_trips(good):
    loaded = load_fxp(good)
    assert loaded.layer_stages == NET.layer_stages and loaded.state_stages == NET.state_stages
    assert [s.inputs[0].part for s in loaded.stages] == ["spikes", "re", "spikes", "spikes"]


@pytest.mark.parametrize("change, message", [
    (lambda net: dataclasses.replace(net, stages=(dataclasses.replace(net.stages[0], threshold=2**30),)
                                     + net.stages[1:]), "stage 0 threshold 1073741824 outside"),
    (lambda net: dataclasses.replace(net, stages=(dataclasses.replace(net.stages[0], decay_re=net.stages[0].decay_re
                                                                      / 2),) + net.stages[1:]),
     "stage 0 decay_re (stage0.decay_re) is not a non-empty 1-D integer array"),
    (lambda net: dataclasses.replace(net, readout=dataclasses.replace(
        net.readout, inputs=tuple(dataclasses.replace(s, weights=s.weights * 1.0) for s in net.readout.inputs))),
     "readout synapse from 3 (readout.0) weights are not an integer array"),
    (lambda net: dataclasses.replace(net, state_stages=(np.int64(0), 2, 3)), "layer stage np.int64(0) is not one of"),
], ids=["threshold", "float-decays", "float-weights", "numpy-index"])
def test_save_validates_first(tmp_path, change, message):
    """A quantizer bug cannot write an artifact that would not load: save_fxp refuses it, and writes nothing."""
    refused("<unsaved network>", message, lambda: save_fxp(change(NET), tmp_path / "bad.fxp"))
    assert list(tmp_path.iterdir()) == []


def _issue_21_artifact(tmp_path: Path) -> Path:
    """Issue 21's reproduction: 1 layer with V mixing, 3 inputs and 3 neurons, whose mixing synapse reads the
    graded part "re" of the network input (the stepper crashed with KeyError: (-1, 're'))."""
    path = tmp_path / "good.fxp"
    save_fxp(_quantized(layers=1, neurons=3, blocks=1, inputs=3, classes=2), path)
    return corrupt(path, tmp_path, KIND, synapse(1, 0, "source", -1))


def test_issue_21_graded_part_from_input_is_refused(tmp_path):
    path = _issue_21_artifact(tmp_path)
    refused(path, "stage 1 synapse from -1 (stage1.in.0) reads part 're'; source -1 sends only 'spikes'",
            lambda: load_fxp(path))


def test_issue_21_through_the_cli(tmp_path):
    path = _issue_21_artifact(tmp_path)
    save_dataset(Dataset(random_spikes(2, 6, 3), np.array([0, 1])), tmp_path / "d.npz")
    result = run("simulate", str(path), "--input", str(tmp_path / "d.npz"), "-o", str(tmp_path / "r.npz"))
    assert_bad_input(result, "bad.fxp: stage 1 synapse from -1 (stage1.in.0) reads part 're'")
    assert not (tmp_path / "r.npz").exists()
