"""Saturation counts of Lava fixed-point S5-RF runs equal the stepper's, key for key."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import make_model, random_spikes
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks import compare
from s5rf_deploy.tasks.families import S5RF

LOIHI2 = load_profile("loihi2")


def saturating_network():
    """States clip in both stages (no headroom, input gain 40) and the readout wraps, clips and fires:
    no leak, readout weights 2**8 times larger."""
    raw = LOIHI2.to_dict()
    raw["state"] = dict(raw["state"], default_headroom=1.0)
    fxp, _ = quantize(network_from_model(make_model("dirac_keepimag", layers=2, seed=3, gain=40.0)),
                      profile_from_dict(raw, "tight"))
    readout = dataclasses.replace(fxp.readout, du=np.zeros_like(fxp.readout.du), inputs=tuple(
        dataclasses.replace(s, weight_exp=s.weight_exp + 8) for s in fxp.readout.inputs))
    return dataclasses.replace(fxp, readout=readout)


@pytest.mark.lava
def test_saturating_network_counts_like_the_stepper():
    """Three samples (counters reset between them), every value bit-exact, every population saturates."""
    from s5rf_deploy.s5rf.lava import LavaRunner

    fxp = saturating_network()
    u = random_spikes(3, 50, 5, rate=0.5)
    want = Stepper(fxp).run(u, record=("spikes", "states"))
    got = LavaRunner(fxp, 50).run(u)
    assert got.saturation == want.saturation
    assert set(want.saturation) == {"stage0", "stage1", "readout"} and min(want.saturation.values()) > 0
    np.testing.assert_array_equal(got.readout, want.readout)
    for a, b in zip(got.spikes + got.states, want.spikes + want.states, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.lava
def test_quiet_network_counts_zero_on_both():
    """A calibrated V-mixing network (graded stages) through ``lava_check``: bit-exact, all counts 0."""
    net = network_from_model(make_model("zoh_vmix", layers=3, neurons=7, blocks=1, inputs=5, classes=3, seed=4))
    u = random_spikes(2, 100, 5, rate=0.1, seed=5)
    fxp, _ = quantize(net, LOIHI2, u)
    result = compare.lava_check(fxp, u)
    assert result["bit_exact"]
    names = [f"stage{k}" for k in range(len(fxp.stages))] + ["readout"]
    assert result["saturation"]["lava"] == result["saturation"]["stepper"] == dict.fromkeys(names, 0)


def test_lava_check_counts_a_saturation_mismatch(monkeypatch):
    """A Lava run whose counts differ from the stepper's is not bit-exact (the fake runner is the stepper
    with one count off and one missing)."""
    fxp = saturating_network()
    u = random_spikes(2, 20, 5, rate=0.5)

    class Off:
        def __init__(self, net, steps):
            self.net = net

        def run(self, inputs, record=True, progress=None):
            res = Stepper(self.net).run(inputs, record=("spikes", "states"))
            counts = dict(res.saturation, stage0=res.saturation["stage0"] + 1)
            del counts["readout"]
            return dataclasses.replace(res, saturation=counts)

    monkeypatch.setattr(compare, "family_of", lambda net: dataclasses.replace(S5RF, lava=Off))
    result = compare.lava_check(fxp, u)
    want = Stepper(fxp).run(u).saturation
    assert result["bit_exact"] is False and result["mismatched_values"] == 2
    assert result["saturation"] == {"stepper": want,
                                    "lava": {"stage0": want["stage0"] + 1, "stage1": want["stage1"]}}
