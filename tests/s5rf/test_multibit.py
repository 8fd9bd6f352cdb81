"""Multi-bit outputs (issue 15, Ponghiran & Roy 2021): the count of thresholds exceeded, in the float model, its
surrogate, the big-integer oracle, the artifact and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import VARIANTS, assert_stepper_equals_bigint, loop_forward, make_model, random_spikes
from mutations import corrupt, refused, stage
from s5rf_deploy.errors import ConfigError, S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.hw_profiles import load_profile, profile_from_dict
from s5rf_deploy.s5rf.artifact import KIND, load_fxp, save_fxp
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.network import model_from_network, network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.s5rf.surrogate import spike_count

LOIHI2 = load_profile("loihi2")


def with_payload(bits: int):
    return profile_from_dict(LOIHI2.to_dict() | {"name": f"payload-{bits}",
                                                 "spikes": dict(LOIHI2.spikes, payload_bits=bits)}, "test")


def multibit_net(variant: str, bits: int = 2, layers: int = 3, seed: int = 4):
    model = make_model(variant, layers=layers, neurons=8, blocks=1, inputs=5, classes=3, seed=seed, spike_bits=bits)
    return network_from_model(model)


@pytest.mark.parametrize("value", [0, 9, True, 1.5, "2"])
def test_config_refuses_bad_spike_bits(value):
    with pytest.raises(ConfigError, match="spike_bits"):
        ModelConfig(input_dim=3, output_dim=2, num_neurons=(4,), num_blocks=(1,), spike_bits=value)


def test_counts_match_rf_spikes_on_integers():
    """``rf_spikes`` with levels against a loop over the levels, in int64 and float64, both rules, near every
    level and far from them (thresholds 1 .. 4096)."""
    rng = np.random.default_rng(0)
    for thr in (1, 3, 100, 4096):
        re = np.concatenate([rng.integers(-2 * thr, 9 * thr, 3000), rng.integers(-2**23, 2**23, 3000)])
        im = np.concatenate([rng.integers(-3 * thr, 3 * thr, 3000), rng.integers(-2**23, 2**23, 3000)])
        for levels in (1, 3, 7):
            cart = [sum(int(r) > n * thr for n in range(1, levels + 1)) for r in re]
            polar = [sum(int(r) ** 2 + int(i) ** 2 > (n * thr) ** 2 for n in range(1, levels + 1))
                     for r, i in zip(re, im, strict=True)]
            for dtype in (np.int64, np.float64):
                a, b = re.astype(dtype), im.astype(dtype)
                np.testing.assert_array_equal(fx.rf_spikes(a, b, thr, "cartesian", levels).astype(int), cart)
                np.testing.assert_array_equal(fx.rf_spikes(a, b, thr, "polar", levels).astype(int), polar)


def test_staircase_forward_and_surrogate():
    x = torch.tensor([-0.5, 0.0, 1.0, 1.0001, 2.0, 2.5, 3.0, 3.5, 9.0], dtype=torch.float64, requires_grad=True)
    out = spike_count(x, 3)
    np.testing.assert_array_equal(out.detach().numpy(), [0, 0, 0, 1, 1, 2, 2, 3, 3])  # strict: x > n
    out.sum().backward()
    expected = [sum(np.exp(-0.5 * ((v - n) / 0.5) ** 2) for n in (1, 2, 3)) for v in x.detach().tolist()]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)
    inside = torch.linspace(1, 3, 201, dtype=torch.float64, requires_grad=True)
    spike_count(inside, 3).sum().backward()
    assert 1.13 < inside.grad.min() and inside.grad.max() < 1.28  # an even slope over the whole staircase


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_float_model_counts_levels(variant):
    """The torch forward against the per-step loop written from the definition; counts above 1 occur."""
    model = make_model(variant, layers=3, neurons=8, blocks=1, seed=2, spike_bits=2).double()
    u = random_spikes(2, 60, 5, seed=3)
    logprobs, spikes, _ = loop_forward(model, u)
    with torch.no_grad():
        out = model(torch.from_numpy(u).double())
    for a, b in zip(spikes, out.spikes, strict=True):
        np.testing.assert_array_equal(b.numpy(), a)
    np.testing.assert_allclose(out.logprobs.numpy(), logprobs, atol=1e-12)
    assert max(float(s.max()) for s in out.spikes) > 1


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stepper_equals_bigint_oracle(variant):
    net = multibit_net(variant, bits=3 if "polar" in variant else 2)
    u = random_spikes(2, 40, 5, seed=6)
    fxp, report = quantize(net, LOIHI2, u)
    assert all(st.spike_bits == net.layers[0].spike_bits for st in fxp.stages if st.spike != "graded")
    assert [e["spike_bits"] for e in report.layers] == [net.layers[0].spike_bits] * 3
    spikes = assert_stepper_equals_bigint(fxp, u)
    assert max(int(s.max()) for s in spikes) > 1


def test_fixed_point_follows_float_counts():
    """Calibrated fixed point tracks the float counts closely (not bit-exact: weights and poles are rounded)."""
    net = multibit_net("dirac_keepimag", bits=2)
    u = random_spikes(8, 80, 5, seed=9)
    fxp, _ = quantize(net, LOIHI2, u, digits=3)
    res = Stepper(fxp).run(u, record=("spikes",))
    with torch.no_grad():
        out = model_from_network(net)(torch.from_numpy(u).double())
    for got, want in zip(res.spikes, out.spikes, strict=True):
        assert np.mean(got == want.numpy()) > 0.97
    assert np.mean(res.predictions == out.logprobs.argmax(-1).numpy()) >= 7 / 8


def test_artifact_round_trip_and_validation(tmp_path):
    net = multibit_net("zoh_vmix", bits=2, layers=2)
    u = random_spikes(2, 30, 5, seed=1)
    fxp, _ = quantize(net, LOIHI2, u)
    save_fxp(fxp, tmp_path / "m.fxp")
    loaded = load_fxp(tmp_path / "m.fxp")
    assert [st.spike_bits for st in loaded.stages] == [st.spike_bits for st in fxp.stages] == [1, 2, 2]
    np.testing.assert_array_equal(Stepper(loaded).run(u).readout, Stepper(fxp).run(u).readout)
    old = corrupt(tmp_path / "m.fxp", tmp_path, KIND, lambda m, a: [s.pop("spike_bits") for s in m["stages"]])
    assert [st.spike_bits for st in load_fxp(old).stages] == [1, 1, 1]  # written before multi-bit outputs
    for edit, message in [
        (stage(1, "spike_bits", 0), "stage 1 spike_bits 0 outside"),
        (stage(1, "spike_bits", 2.5), "stage 1 spike_bits 2.5 is not an integer"),
        (stage(0, "spike_bits", 2), "stage 0 sends graded re/im payloads and cannot also send multi-bit"),
        (stage(1, "threshold", 0), "stage 1 threshold (multi-bit outputs) 0 outside"),
    ]:
        path = corrupt(tmp_path / "m.fxp", tmp_path, KIND, edit)
        refused(path, message, lambda p=path: load_fxp(p))
    narrow = corrupt(tmp_path / "m.fxp", tmp_path, KIND, lambda m, a: m["profile"]["spikes"].update(payload_bits=2))
    refused(narrow, "stage 1 sends 2-bit counts, beyond the profile's signed 2-bit payloads", lambda: load_fxp(narrow))


def test_profiles_that_cannot_carry_counts_refuse():
    net = multibit_net("dirac_keepimag", bits=3, layers=2)
    with pytest.raises(S5RFError, match=r"profile 'payload-1' carries binary spikes only .* multi-bit outputs "
                                        r"\(layer 0: spike_bits = 3\) need graded spikes"):
        quantize(net, with_payload(1))
    with pytest.raises(S5RFError, match=r"layer 0: spike_bits = 3 exceeds the 2 payload bits profile 'payload-3' "
                                        r"carries from 8 neurons"):
        quantize(net, with_payload(3))
    fxp, _ = quantize(net, with_payload(4))
    assert fxp.stages[0].levels == 7
    quantize(multibit_net("dirac_keepimag", bits=1, layers=2), with_payload(1))  # binary layers still quantize


def test_data_free_scales_leave_room_for_counts():
    """Without calibration, a layer sending counts up to L drives the readout and the next states up to L times
    harder than a binary one: each power-of-two scale (a floor of log2(limit / bound)) drops by 2 or 3 for L = 7
    (log2 7 = 2.81)."""
    binary, counts = (quantize(multibit_net("dirac_keepimag", bits=b, layers=2), LOIHI2)[1] for b in (1, 3))
    drops = [binary.readout["scale_log2"] - counts.readout["scale_log2"]]
    drops += [b["state_scale_log2"] - c["state_scale_log2"] for b, c in zip(binary.layers, counts.layers, strict=True)]
    assert all(d in (2, 3) for d in drops), drops
