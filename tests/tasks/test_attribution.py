"""compare's loss attribution: a deliberately broken stage is the one it names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.tasks.attribution import attribute, flags, summary_line
from s5rf_deploy.tasks.compare import metrics, s5rf_runs
from s5rf_deploy.tasks.families import quantize_network


@pytest.fixture(scope="module")
def demo():
    net = network_from_model(load_checkpoint(model_path()))
    fxp, _ = quantize_network(net, load_profile("loihi2"), digits.load_split("train").inputs[:256])
    return net, fxp, digits.load_split("test").inputs[:200]


def _negated(syns):
    return tuple(dataclasses.replace(s, weights=-s.weights) for s in syns)


def _break(fxp, stage: str):
    """The artifact with one stage broken: its input weights negated."""
    if stage == "readout":
        return dataclasses.replace(fxp, readout=dataclasses.replace(fxp.readout, inputs=_negated(fxp.readout.inputs)))
    k = fxp.layer_stages[int(stage.split()[1])]
    stages = list(fxp.stages)
    stages[k] = dataclasses.replace(stages[k], inputs=_negated(stages[k].inputs))
    return dataclasses.replace(fxp, stages=tuple(stages))


@pytest.mark.parametrize("stage", ["layer 0", "layer 1", "readout"])
def test_the_broken_stage_is_named(demo, stage):
    net, fxp, inputs = demo
    runs = s5rf_runs(net, _break(fxp, stage), inputs)
    shares = attribute(net, runs, inputs)
    assert [s["stage"] for s in shares] == ["layer 0", "layer 1", "readout"]
    worst = max(shares, key=lambda s: s["top1_cost"])
    assert worst["stage"] == stage and worst["top1_cost"] > 0.3, shares
    # the shares add up to the whole loss, measured independently of the attribution
    lost = 1 - float((runs.fixed_logits.argmax(-1) == runs.float_logits.argmax(-1)).mean())
    assert sum(s["top1_cost"] for s in shares) == pytest.approx(lost, abs=1e-12)
    result = {**metrics(runs), "attribution": shares}
    assert flags(result)[0].startswith(f"{stage} costs ")
    # the artifact was calibrated: the hints say what helps beyond calibrating
    assert all("despite calibration" in s["hint"] for s in attribute(net, runs, inputs, calibrated=True))
    assert not any("despite calibration" in s["hint"] for s in shares)


def test_a_faithful_network_loses_almost_nothing_anywhere(demo):
    net, fxp, inputs = demo
    shares = attribute(net, s5rf_runs(net, fxp, inputs), inputs)
    assert all(abs(s["top1_cost"]) <= 0.01 for s in shares), shares
    assert np.isclose(sum(s["top1_cost"] for s in shares), 0, atol=0.01)
    assert summary_line(shares) is None  # under a point lost: nothing to warn about
