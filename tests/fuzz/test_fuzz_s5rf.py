"""Fuzzing S5-RF networks and their fixed-point artifacts through file import, quantization, the stepper and Lava.

Budget: ``S5RF_FUZZ_EXAMPLES`` examples per test (CI default 10; ``make fuzz`` runs 1,000).  Valid random
networks must survive the checkpoint and NIR round trips exactly, quantize, and run on the stepper, for every
``S5RF_FUZZ_LAVA_EVERY``-th example also on Lava bit-exactly; mutated checkpoints and artifacts must either
load and run or fail with an :class:`S5RFError` (a one-line CLI error), never with any other exception.
Examples that failed once stay as explicit ``@example`` regression tests (and ``make fuzz`` keeps what it finds in
hypothesis's example database, see tests/conftest.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpers import VARIANTS, make_model
from mutations import corrupt_array, junk, read, replace_field, write
from s5rf_deploy.converters.nir.export import to_nir, write_nir
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf import artifact as fxp_network
from s5rf_deploy.s5rf import checkpoint
from s5rf_deploy.s5rf.model import S5RFModel
from s5rf_deploy.s5rf.network import S5RFNetwork
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks.loading import load_any, load_network

EXAMPLES = int(os.environ.get("S5RF_FUZZ_EXAMPLES", "10"))
LAVA_EVERY = int(os.environ.get("S5RF_FUZZ_LAVA_EVERY", "5"))
PROFILES = {name: load_profile(name) for name in ("loihi2", "loihi2-wide")}
FUZZ = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None)
pytestmark = pytest.mark.fuzz


@st.composite
def models(draw) -> S5RFModel:
    """A random S5-RF classifier of any variant: 1 to 3 layers of 1 to 9 neurons, random weights and steps,
    binary or 2- to 4-bit outputs."""
    blocks = draw(st.integers(1, 3))
    return make_model(draw(st.sampled_from(sorted(VARIANTS))), layers=draw(st.integers(1, 3)),
                      neurons=blocks * draw(st.integers(1, 3)), blocks=blocks, inputs=draw(st.integers(1, 6)),
                      classes=draw(st.integers(1, 4)), seed=draw(st.integers(0, 2**16)),
                      gain=draw(st.floats(0.5, 12.0)), spike_bits=draw(st.sampled_from([1, 1, 2, 4])))


def _spikes(seed: int, width: int, steps: int = 12) -> np.ndarray:
    return (np.random.default_rng(seed).random((2, steps, width)) < 0.4).astype(np.float32)


def _same_network(a: S5RFNetwork, b: S5RFNetwork) -> None:
    for x, y in zip(a.layers, b.layers, strict=True):
        for name in ("weight", "log_neg_real", "imag", "log_step"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
        assert x.spike_bits == y.spike_bits
    np.testing.assert_array_equal(a.readout.weight, b.readout.weight)


def _run_stepper(net, x: np.ndarray):
    return Stepper(net).run(x, record=("spikes", "states"))


@pytest.mark.lava  # every LAVA_EVERY-th example also runs on Lava
@FUZZ
@given(model=models(), profile=st.sampled_from(sorted(PROFILES)), calibrate=st.booleans(),
       seed=st.integers(0, 2**16))
def test_valid_networks_round_trip_quantize_and_run_bit_exact(tmp_path_factory, model, profile, calibrate, seed):
    folder = tmp_path_factory.mktemp("net")
    checkpoint.save_checkpoint(model, folder / "m.s5rf")
    net = load_network(folder / "m.s5rf")
    if net.layers[0].spike == "cartesian":
        write_nir(to_nir(net), folder / "m.nir")
        _same_network(load_network(folder / "m.nir"), net)
    x = _spikes(seed, net.input_dim)
    fxp, _ = quantize(net, PROFILES[profile], x if calibrate else None)
    fxp_network.save_fxp(fxp, folder / "m.fxp")
    expected = _run_stepper(fxp, x)
    again = _run_stepper(load_any(folder / "m.fxp"), x)
    np.testing.assert_array_equal(again.readout, expected.readout)
    assert expected.readout.shape == (2, net.num_classes) and set(expected.saturation) >= {"readout"}
    if seed % LAVA_EVERY == 0:
        from s5rf_deploy.s5rf.lava import LavaRunner

        got = LavaRunner(fxp, x.shape[1]).run(x)
        np.testing.assert_array_equal(got.readout, expected.readout)
        for a, b in zip(got.spikes, expected.spikes, strict=True):
            np.testing.assert_array_equal(a, b)


def _mutate_checkpoint(arrays: dict, meta: dict, rng: np.random.Generator, how: int) -> None:
    key = sorted(arrays)[rng.integers(len(arrays))]
    value = arrays[key]
    if how == 0:
        arrays[key] = value.astype(np.float64)
        arrays[key].flat[rng.integers(value.size)] = rng.choice([np.nan, np.inf, -np.inf, 1e300, -1e4])
    elif how == 1:
        arrays[key] = value.reshape(-1)[: max(value.size - 1, 0)]
    elif how == 2:
        arrays[key] = value.astype(rng.choice([np.int32, np.complex64, np.bool_, np.float16]))
    elif how == 3:
        del arrays[key]
    else:
        config = meta["config"]
        field = sorted(config)[rng.integers(len(config))]
        config[field] = junk(rng)


def _mutate_artifact(arrays: dict, meta: dict, rng: np.random.Generator, how: int) -> None:
    if how == 0:
        key = sorted(arrays)[rng.integers(len(arrays))]
        arrays[key] = arrays[key].copy()
        arrays[key].flat[rng.integers(arrays[key].size)] = rng.integers(-2**40, 2**40)
    elif how == 1:
        stage = meta["stages"][rng.integers(len(meta["stages"]))]
        field = sorted(set(stage) - {"inputs"})[rng.integers(len(stage) - 1)]
        stage[field] = junk(rng)
    elif how == 2:
        synapses = [s for st_ in meta["stages"] for s in st_["inputs"]] + meta["readout"]["inputs"]
        synapse = synapses[rng.integers(len(synapses))]
        synapse[sorted(synapse)[rng.integers(len(synapse))]] = junk(rng)
    elif how == 3:
        field = ["vth_mantissa", "scale"][rng.integers(2)]
        meta["readout"][field] = junk(rng)
    elif how == 4:
        section = sorted(meta["profile"])[rng.integers(len(meta["profile"]))]
        meta["profile"][section] = junk(rng)
    elif how == 5:
        replace_field(meta, rng)
    else:
        corrupt_array(arrays, rng, int(rng.integers(4)))


# issue 21: a 1-layer network with V mixing (a graded stage and its mixing stage) and as many inputs as neurons,
# so that a mixing synapse retargeted to the input (source -1) keeps its shape.  Both crashed the stepper: seed 102
# makes that synapse read part "re" of the input (KeyError (-1, 're')); seed 22 sets a readout synapse's source to
# -0.5, which the loader truncated to 0, the graded stage, whose "spikes" do not exist (KeyError (0, 'spikes')).
GRADED = make_model("zoh_vmix", layers=1, neurons=3, blocks=1, inputs=3, classes=2, seed=0)


@FUZZ
@given(model=models(), artifact=st.booleans(), how=st.integers(0, 6), seed=st.integers(0, 2**16))
@example(model=GRADED, artifact=True, how=2, seed=102)
@example(model=GRADED, artifact=True, how=2, seed=22)
@example(model=GRADED, artifact=False, how=4, seed=108)  # output_dim set to true: a crash in model building
def test_mutated_checkpoints_and_artifacts_fail_cleanly(tmp_path_factory, model, artifact, how, seed):
    folder = tmp_path_factory.mktemp("mutant")
    checkpoint.save_checkpoint(model, folder / "m.s5rf")
    if artifact:
        fxp_network.save_fxp(quantize(load_network(folder / "m.s5rf"), PROFILES["loihi2"])[0], folder / "m.fxp")
    kind, source = (fxp_network.KIND, folder / "m.fxp") if artifact else (checkpoint.KIND, folder / "m.s5rf")
    meta, arrays = read(source, kind)
    mutate = _mutate_artifact if artifact else _mutate_checkpoint
    mutate(arrays, meta, np.random.default_rng(seed), how)
    mutant = write(folder / f"mutant{source.suffix}", kind, meta, arrays)
    try:
        loaded = load_any(mutant)
        fxp = loaded if artifact else quantize(loaded, PROFILES["loihi2"])[0]
        _run_stepper(fxp, _spikes(seed, fxp.input_dim, steps=4))
    except S5RFError as exc:
        assert str(exc) and "\n" not in str(exc)
