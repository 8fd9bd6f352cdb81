"""The PyTorch S5-RF model against an independent per-step float64 implementation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import torch

from helpers import VARIANTS, loop_forward, make_model, random_spikes
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.discretization import discretize
from s5rf_deploy.s5rf.hippo import init_eigensystem, legs_normal_part
from s5rf_deploy.s5rf.scan import linear_scan
from s5rf_deploy.s5rf.surrogate import multi_gaussian_grad, spike


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 64, 250])
def test_scan_matches_sequential_recurrence(steps):
    rng = np.random.default_rng(steps)
    a = torch.from_numpy(rng.uniform(0.5, 0.99, 6) * np.exp(1j * rng.uniform(-3, 3, 6)))
    c = torch.from_numpy(rng.normal(size=(2, steps, 6)) + 1j * rng.normal(size=(2, steps, 6)))
    z = np.zeros((2, 6), complex)
    expected = []
    for t in range(steps):
        z = a.numpy() * z + c[:, t].numpy()
        expected.append(z)
    np.testing.assert_allclose(linear_scan(a, c).numpy(), np.stack(expected, 1), rtol=0, atol=1e-12)


def test_zoh_gain_is_integral_of_continuous_impulse_response():
    lam = torch.tensor([-0.3 + 2.0j, -1.5 + 0.1j], dtype=torch.complex128)
    step = torch.tensor([0.2, 0.05], dtype=torch.float64)
    lambda_bar, gain = discretize("zoh", lam, step)
    for k in range(2):
        lk, dk = complex(lam[k]), float(step[k])
        re = scipy.integrate.quad(lambda s, lk=lk: (np.exp(lk * s)).real, 0, dk)[0]
        im = scipy.integrate.quad(lambda s, lk=lk: (np.exp(lk * s)).imag, 0, dk)[0]
        assert abs(complex(gain[k]) - (re + 1j * im)) < 1e-12
        assert abs(complex(lambda_bar[k]) - np.exp(lk * dk)) < 1e-15


def test_bilinear_and_dirac_rules():
    lam = torch.tensor([-0.5 + 3.0j], dtype=torch.complex128)
    step = torch.tensor([0.1], dtype=torch.float64)
    lb, gain = discretize("bilinear", lam, step)
    assert abs(complex(lb[0]) - (1 + 0.05 * complex(lam[0])) / (1 - 0.05 * complex(lam[0]))) < 1e-15
    assert abs(complex(gain[0]) - 0.1 / (1 - 0.05 * complex(lam[0]))) < 1e-15
    lb, gain = discretize("dirac", lam, step)
    assert complex(gain[0]) == 0.1 and abs(complex(lb[0]) - np.exp(0.1 * complex(lam[0]))) < 1e-15


def test_hippo_eigensystem_diagonalizes_legs_normal_part():
    lam, v = init_eigensystem(16, 2)
    assert np.allclose(lam.real, -0.5)
    s = legs_normal_part(8).astype(np.complex128)
    block = v[:8, :8].astype(np.complex128)
    np.testing.assert_allclose(block @ np.diag(lam[:8]) @ block.conj().T, s, atol=1e-4)
    np.testing.assert_allclose(v.conj().T @ v, np.eye(16), atol=1e-5)
    assert np.all(v[:8, 8:] == 0)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_forward_matches_per_step_loop(variant):
    model = make_model(variant, layers=3, seed=1).double()
    u = random_spikes(3, 80, 5, seed=2)
    with torch.no_grad():
        out = model(torch.from_numpy(u), record_states=True)
    logprobs, spikes, pre = loop_forward(model, u)
    for i in range(3):
        assert 0.01 < spikes[i].mean() < 0.9, f"layer {i} rate {spikes[i].mean()} makes the test weak"
        np.testing.assert_array_equal(out.spikes[i].numpy(), spikes[i])
        np.testing.assert_allclose(out.states[i].numpy(), pre[i], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out.logprobs.numpy(), logprobs, rtol=0, atol=1e-10)


def test_four_layers_with_skips_pass_counts_on():
    model = make_model("dirac_keepimag", layers=4, seed=3).double()
    u = random_spikes(2, 60, 5, seed=4)
    with torch.no_grad():
        out = model(torch.from_numpy(u))
    logprobs, spikes, _ = loop_forward(model, u)
    np.testing.assert_allclose(out.logprobs.numpy(), logprobs, rtol=0, atol=1e-10)
    assert model.config.has_skip(1) and model.config.has_skip(2) and not model.config.has_skip(3)
    # the input of layer 2 is spikes_1 + spikes_0: values of 2 occur
    assert np.any(spikes[0] + spikes[1] == 2)


def test_zoh_layer_zero_mixes_with_hippo_eigenvectors():
    model = make_model("zoh_vmix", layers=2)
    assert model.layers[0].V is not None and model.layers[1].V is None
    assert not torch.allclose(model.layers[0].V, torch.eye(12, dtype=model.layers[0].V.dtype))


def test_surrogate_gradient_is_multi_gaussian():
    x = torch.linspace(-3, 3, 41, dtype=torch.float64, requires_grad=True)
    out = spike(x)
    assert torch.equal(out, (x > 0).double())
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), multi_gaussian_grad(x.detach()).numpy())
    assert float(multi_gaussian_grad(torch.tensor(0.0))) == pytest.approx(1.15 - 0.3 * np.exp(-0.5 / 36))


def test_gradients_reach_every_parameter():
    model = make_model("zoh_vmix", layers=3).train()
    out = model(torch.from_numpy(random_spikes(4, 40, 5)))
    out.logprobs[:, 0].sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_config_rejects_bad_values():
    with pytest.raises(Exception, match="blocks"):
        ModelConfig(input_dim=3, output_dim=2, num_neurons=(10,), num_blocks=(3,))
    with pytest.raises(Exception, match="skip"):
        ModelConfig(input_dim=3, output_dim=2, num_neurons=(8, 4, 8), num_blocks=(2, 2, 2))
    with pytest.raises(Exception, match="discretization"):
        ModelConfig(input_dim=3, output_dim=2, num_neurons=(8,), num_blocks=(2,), discretization="euler")
