"""Runs sharded over an embedded Dask cluster equal one-process runs, survive a killed worker, and name the
sample of a bad input (``tasks/shards.py``, ``tasks/cluster.py``)."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers import DATA_DIR
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.errors import SampleError
from s5rf_deploy.fixed.device import TorchKernels
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.stepper import Stepper
from s5rf_deploy.tasks.cluster import sample_pool
from s5rf_deploy.tasks.compare import lava_check, runs_for
from s5rf_deploy.tasks.families import quantize_network
from s5rf_deploy.tasks.loading import load_network
from s5rf_deploy.tasks.shards import shard_size
from s5rf_deploy.tasks.simulation import SimulationJob, simulate

BRAILLE = DATA_DIR / "nir-paper" / "braille_noDelay_bias_zero.nir"


@pytest.fixture(scope="module")
def started():
    """The embedded cluster, started while Dask's default HTTP port 8787 is taken (by another cluster, say),
    and the warnings its start gave."""
    with socket.socket() as taken, warnings.catch_warnings(record=True) as caught:
        with contextlib.suppress(OSError):  # taken already: the same case
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        warnings.simplefilter("always")
        with sample_pool(workers=2) as pool:
            yield pool, list(caught)


@pytest.fixture(scope="module")
def pool(started):
    return started[0]


def test_cluster_starts_quietly_when_the_default_dashboard_port_is_taken(started):
    """A user's own Dask cluster on port 8787 must not make our runs print Dask's port warning."""
    assert not [str(w.message) for w in started[1] if "in use" in str(w.message)]


@pytest.fixture(scope="module")
def demo():
    net = load_network(model_path())
    inputs = digits.load_split("test").inputs[:64]
    return net, quantize_network(net, load_profile("loihi2"), inputs)[0], inputs[:32]


@pytest.fixture(scope="module")
def braille():
    net = load_network(BRAILLE, dt=1e-4)
    inputs = (np.random.default_rng(0).random((20, 30, 12)) < 0.2).astype(np.float32)
    return net, quantize_network(net, load_profile("loihi2"), inputs, dt=1e-4)[0], inputs


def _equal(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


def test_shard_sizes_hold_whole_batches_and_bounded_inputs():
    assert shard_size(449, 64, 2, 320) == 64  # ~4 shards per thread, rounded up to a batch
    assert shard_size(10_000, 1, 2, 320) == 1250
    assert shard_size(10_000, 1, 2, 1 << 20, max_bytes=8 << 20) == 8  # inputs of a shard stay below 8 MiB
    assert shard_size(10_000, 64, 2, 1 << 20, max_bytes=8 << 20) == 64  # but never below one batch


def test_one_worker_runs_here_without_importing_dask():
    code = ("import sys\n"
            "import s5rf_deploy.tasks.compare, s5rf_deploy.tasks.simulation, s5rf_deploy.tasks.sweep\n"
            "from s5rf_deploy.tasks.cluster import sample_pool\n"
            "with sample_pool(workers=1) as pool:\n"
            "    assert pool is None\n"
            "assert not {'dask', 'distributed'} & set(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["demo", "braille"])
def test_sharded_stepper_and_float_runs_equal_one_process(pool, family, request):
    net, fxp, inputs = request.getfixturevalue(family)
    dt = 1e-4 if family == "braille" else None
    for model, backend in ((fxp, "stepper"), (net, "torch" if family == "demo" else "nir")):
        kwargs = dict(backend=backend, precision="fixed" if backend == "stepper" else "float", profile=None,
                      record=("spikes", "states"), batch_size=8, dt=dt)
        _equal(simulate(model, inputs, pool=pool, **kwargs), simulate(model, inputs, **kwargs))
    sharded, here = runs_for(net, fxp, inputs, pool=pool), runs_for(net, fxp, inputs)
    for field in ("float_spikes", "fixed_spikes", "float_states", "fixed_states"):
        assert all(np.array_equal(a, b) for a, b in zip(getattr(sharded, field), getattr(here, field), strict=True))
    assert np.array_equal(sharded.float_logits, here.float_logits)
    assert np.array_equal(sharded.fixed_logits, here.fixed_logits) and sharded.saturation == here.saturation


@pytest.mark.slow
def test_killed_worker_has_its_shards_rerun(pool, demo):
    """SIGKILL a worker while it runs a shard: the scheduler reruns its shards elsewhere, none is lost or
    counted twice."""
    _, fxp, inputs = demo
    pids = pool.client.run(os.getpid)
    killed, seen = [], []

    def progress(samples: int) -> None:
        seen.append(samples)
        if not killed:
            busy = next((w for w, tasks in pool.client.processing().items() if tasks), next(iter(pids)))
            killed.append(pids[busy])
            os.kill(pids[busy], signal.SIGKILL)

    kwargs = dict(backend="stepper", precision="fixed", profile=None, record=("spikes",), batch_size=2)
    _equal(simulate(fxp, inputs, pool=pool, progress=progress, **kwargs), simulate(fxp, inputs, **kwargs))
    assert sum(seen) == len(inputs) and len(seen) > 2
    pool.client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert killed[0] not in pool.client.run(os.getpid).values()


@pytest.mark.slow
def test_bad_sample_fails_the_run_with_its_index(pool, demo):
    _, fxp, inputs = demo
    bad = inputs.copy()
    bad[27, 5, 3] = 0.5
    with pytest.raises(SampleError, match=r"^sample 27: fixed-point backends take binary spike inputs"):
        simulate(fxp, bad, "stepper", "fixed", None, batch_size=8, pool=pool)


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize("family", ["demo", "braille"])
def test_sharded_lava_runs_equal_one_process(pool, family, request):
    """Lava inside (non-daemonic) workers, compiled once per worker: simulate equals the one-process run, and
    the sharded Lava check is bit-exact."""
    _, fxp, inputs = request.getfixturevalue(family)
    inputs = inputs[:3]
    kwargs = dict(backend="lava", precision="fixed", profile=None, record=("spikes",))
    _equal(simulate(fxp, inputs, pool=pool, **kwargs), simulate(fxp, inputs, **kwargs))
    if family == "demo":  # the Lava check sharded too: the counts of its shards add up
        check = lava_check(fxp, inputs, pool=pool)
        saturation = Stepper(fxp).run(inputs).saturation
        assert check["bit_exact"] and check["samples"] == len(inputs)
        assert check["saturation"] == {"lava": saturation, "stepper": saturation}



@pytest.mark.slow
def test_sharded_event_file_streams_equal_one_process(pool, tmp_path):
    """Shards of an event file carry only their range, read their samples on the workers, and their parts are
    written into the result folder as they come: the same outputs as a run in this process."""
    import runpy

    from helpers import REPO, make_model
    from s5rf_deploy.s5rf.network import network_from_model
    from s5rf_deploy.samples import Binning, Window, open_samples
    from s5rf_deploy.tasks.results import NpyResults

    runpy.run_path(str(REPO / "tools" / "synthetic_shd.py"))["write_shd"](str(tmp_path / "t.h5"), 40, 4, 150)
    data = open_samples(tmp_path / "t.h5", Binning(steps=12, pool=5))
    assert isinstance(data.window(0, 8), Window)
    net = network_from_model(make_model("dirac_keepimag", inputs=140))
    kwargs = dict(backend="stepper", precision="fixed", profile=load_profile("loihi2"), record=("spikes",),
                  batch_size=8)
    here = simulate(net, data, **kwargs)
    simulate(net, data, pool=pool, results=NpyResults(tmp_path, len(data)), **kwargs)
    assert np.array_equal(np.load(tmp_path / "readout.npy"), here["readout"])
    spikes = np.unpackbits(np.load(tmp_path / "spikes_0.npy"), axis=-1, count=12, bitorder="little")
    assert np.array_equal(spikes, here["spikes_0"])


@pytest.mark.parametrize("family", ["demo", "braille"])
def test_a_shard_job_carries_the_stepper_device_to_its_worker(family, request):
    """What a worker receives (the pickled job) builds a stepper on the job's device, with the CPU's results."""
    _, fxp, inputs = request.getfixturevalue(family)
    jobs = {device: SimulationJob(fxp, "stepper", inputs.shape[1], ("spikes", "states"), 8, 1e-4, device)
            for device in ("cpu", "torch-cpu")}
    moved = pickle.loads(pickle.dumps(jobs["torch-cpu"]))
    runner = moved.build()
    assert isinstance(runner.args[0].kernels, TorchKernels) and not isinstance(
        jobs["cpu"].build().args[0].kernels, TorchKernels)
    _equal(runner(inputs), jobs["cpu"].build()(inputs))
