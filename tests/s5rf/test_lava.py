"""Real Lava runs: fixed point bit-exact with the stepper, float within 1e-5 of PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import VARIANTS, make_model, random_spikes
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.layout import float_pipeline
from s5rf_deploy.s5rf.network import model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper

pytestmark = pytest.mark.lava
LOIHI2 = load_profile("loihi2")


def assert_bit_exact(fxp, inputs):
    from s5rf_deploy.s5rf.lava import LavaRunner

    expected = Stepper(fxp).run(inputs, record=("spikes", "states"))
    got = LavaRunner(fxp, inputs.shape[1]).run(inputs)
    np.testing.assert_array_equal(got.readout, expected.readout)
    for i, (a, b) in enumerate(zip(got.spikes, expected.spikes, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"spikes of layer {i}")
    for i, (a, b) in enumerate(zip(got.states, expected.states, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"states of layer {i}")
    return expected


def test_demo_model_is_bit_exact_on_10_test_samples():
    net = network_from_model(load_checkpoint(model_path()))
    fxp, _ = quantize(net, LOIHI2, digits.load_split("train").inputs[:256])
    res = assert_bit_exact(fxp, digits.load_split("test").inputs[:10])
    assert all(s.mean() > 0.01 for s in res.spikes)


@pytest.mark.parametrize("variant, layers", [("dirac_keepimag", 4), ("zoh_vmix", 3), ("bilinear_polar", 3),
                                             ("dirac_real", 2), ("zoh_real_polar", 2), ("bilinear_real", 2)])
def test_random_variants_are_bit_exact_over_500_steps(variant, layers):
    net = network_from_model(make_model(variant, layers=layers, neurons=7, blocks=1, inputs=5, classes=3, seed=4,
                                        gain=6.0))
    u = random_spikes(1, 500, 5, rate=0.1, seed=5)
    fxp, _ = quantize(net, LOIHI2, u)
    res = assert_bit_exact(fxp, u)
    assert all(0 < s.mean() < 1 for s in res.spikes)


def test_graded_inputs_are_bit_exact():
    """Analog inputs arrive as graded payloads (issue 15): zoh + V mixing with a skip, 2 samples of 40 steps."""
    net = network_from_model(make_model("zoh_vmix", layers=3, neurons=7, blocks=1, inputs=5, classes=3, seed=4))
    u = np.random.default_rng(6).random((2, 40, 5)).astype(np.float32)
    fxp, _ = quantize(net, LOIHI2, u)
    assert fxp.input_encoding.graded and fxp.input_encoding.scale_log2 > 0
    res = assert_bit_exact(fxp, u)
    assert all(0 < s.mean() < 1 for s in res.spikes)


@pytest.mark.parametrize("variant, spike_bits", [(v, 2) for v in VARIANTS] + [("dirac_keepimag", 3)])
def test_multibit_outputs_are_bit_exact(variant, spike_bits):
    """Multi-bit outputs (issue 15) on every variant, skips included: counts travel as graded spikes."""
    net = network_from_model(make_model(variant, layers=3, neurons=7, blocks=1, inputs=5, classes=3, seed=4,
                                        spike_bits=spike_bits))
    u = random_spikes(1, 150, 5, rate=0.2, seed=5)
    fxp, _ = quantize(net, LOIHI2, u)
    res = assert_bit_exact(fxp, u)
    assert max(int(s.max()) for s in res.spikes) > 1  # counts above one reach the next layer


@pytest.mark.parametrize("variant, spike_bits", [("dirac_keepimag", 1), ("zoh_vmix", 1), ("bilinear_polar", 1),
                                                 ("dirac_real", 1), ("zoh_vmix", 2), ("bilinear_polar", 3)])
def test_lava_float_matches_torch(variant, spike_bits):
    """Lava floating_pt against the float64 PyTorch model: the readout (sum of y) within 1e-5
    relative; spikes equal (the random inputs leave no value within float rounding of a threshold)."""
    from s5rf_deploy.s5rf.lava import LavaRunner

    net = network_from_model(make_model(variant, layers=3, neurons=7, blocks=1, inputs=5, classes=3, seed=6,
                                        spike_bits=spike_bits).double())
    u = random_spikes(2, 120, 5, seed=7)
    res = LavaRunner(float_pipeline(net), 120).run(u)
    with torch.no_grad():
        out = model_from_network(net)(torch.from_numpy(u).double())
    total = out.readout.sum(dim=1).numpy()
    assert np.abs(res.readout - total).max() <= 1e-5 * np.abs(total).max()
    for got, expected in zip(res.spikes, out.spikes, strict=True):
        np.testing.assert_array_equal(got, expected.numpy())
