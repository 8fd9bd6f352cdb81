"""The default batch size of ``simulate``: 256 on the stepper in one process, 64 otherwise, fewer where a batch's
recorded traces would pass the budget; and results that do not depend on it."""

from __future__ import annotations

import numpy as np

from helpers import make_model, random_spikes
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.tasks import simulation
from s5rf_deploy.tasks.simulation import FLOAT_BATCH, STEPPER_BATCH, TRACE_BUDGET, default_batch_size, simulate


def test_defaults_by_backend_pool_and_recorded_traces():
    net = network_from_model(make_model("dirac_keepimag", layers=2, neurons=16, blocks=4, inputs=10))
    neurons = 32  # two layers of 16
    assert default_batch_size(net, "stepper", (), 100, pooled=False) == STEPPER_BATCH == 256
    assert default_batch_size(net, "stepper", (), 100, pooled=True) == FLOAT_BATCH == 64
    assert default_batch_size(net, "torch", ("spikes",), 100, pooled=False) == FLOAT_BATCH
    steps = 1 << 16  # states: 16 bytes per neuron and step
    assert default_batch_size(net, "stepper", ("states",), steps, False) == TRACE_BUDGET // (steps * neurons * 16)
    assert default_batch_size(net, "stepper", ("spikes", "states"), 1 << 22, False) == 1


def test_default_and_explicit_batch_sizes_give_the_same_run(monkeypatch):
    """300 samples: one batch of 256 and one of 44 by default, against batches of 7."""
    u = random_spikes(300, 12, 10, rate=0.2, seed=3)
    fxp, _ = quantize(network_from_model(make_model("zoh_vmix", layers=2, neurons=16, blocks=4, inputs=10, gain=4.0)),
                      load_profile("loihi2"), u[:32])
    sizes = []
    real = simulation.SimulationJob.run
    monkeypatch.setattr(simulation.SimulationJob, "run",
                        lambda job, *a, **k: sizes.append(job.batch_size) or real(job, *a, **k))
    default = simulate(fxp, u, "stepper", "fixed", fxp.profile, record=("spikes",))
    explicit = simulate(fxp, u, "stepper", "fixed", fxp.profile, record=("spikes",), batch_size=7)
    assert sizes == [STEPPER_BATCH, 7]
    assert default.keys() == explicit.keys()
    assert all(np.array_equal(default[k], explicit[k]) for k in default)
