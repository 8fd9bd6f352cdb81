"""Run a network over a dataset and collect the ``simulate`` outputs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import nir
import numpy as np

from s5rf_deploy.atomic import atomic_dir, atomic_path
from s5rf_deploy.fixed.engine import FixedRun
from s5rf_deploy.graphs.artifact import LifGraph
from s5rf_deploy.graphs.network import SPIKING_TYPES, GraphNetwork
from s5rf_deploy.progress import Progress, batches
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network
from s5rf_deploy.samples import Samples, as_samples
from s5rf_deploy.tasks.families import GRAPH, S5RF, family_of, is_fixed, quantize_network
from s5rf_deploy.tasks.results import MemoryResults, NpyResults, Results, merge_runs
from s5rf_deploy.tasks.shards import Pool, stream_job
from s5rf_deploy.timing import stage

log = logging.getLogger(__name__)

STEPPER_BATCH = 256  # the stepper's default batch: two cores and event-driven sums pay from here (docs/benchmarks.md)
FLOAT_BATCH = 64  # the float backends' default batch (their states are float64 sequences)
TRACE_BUDGET = 1 << 30  # bytes of recorded traces per batch that a default batch size stays under


def default_batch_size(net, backend: str, record: Iterable[str], steps: int, pooled: bool) -> int:
    """The batch size when none is given: :data:`STEPPER_BATCH` samples on the stepper in one process,
    :data:`FLOAT_BATCH` on the float backends and for runs sharded over a pool (shards hold whole batches, and
    smaller ones balance the workers), fewer where one batch's recorded traces (1 byte per neuron and step for
    spikes, 16 for states) would pass :data:`TRACE_BUDGET`."""
    base = STEPPER_BATCH if backend == "stepper" and not pooled else FLOAT_BATCH
    record = set(record)
    if isinstance(net, LifGraph):
        neurons = sum(net.node_sizes.values())
    else:
        neurons = sum(family_of(net).shapes(net)[1])
    per_sample = steps * neurons * (("spikes" in record) + 16 * ("states" in record))
    return max(1, min(base, TRACE_BUDGET // max(per_sample, 1)))


def _finish(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    run = {k: np.concatenate(v) for k, v in parts.items()}
    run["predictions"] = run["readout"].argmax(-1)
    return run


def simulate_torch(net: S5RFNetwork, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = FLOAT_BATCH,
                   progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Float64 PyTorch forward: readout log-probs, predictions and optional recordings."""
    import torch

    record = set(record)
    model = model_from_network(net)
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for part in batches(len(inputs), batch_size, progress):
            batch = torch.from_numpy(inputs[part]).double()
            out = model(batch, record_states="states" in record)
            parts.setdefault("readout", []).append(out.logprobs.numpy())
            if "spikes" in record:
                for i, s in enumerate(out.spikes):
                    parts.setdefault(f"spikes_{i}", []).append(s.numpy().astype(np.uint8))
            if "states" in record:
                for i, x in enumerate(out.states):
                    parts.setdefault(f"states_{i}", []).append(x.numpy())
    return _finish(parts)


def spiking_nodes(net: GraphNetwork) -> list[str]:
    """Nodes whose output is spikes, in name order."""
    return sorted(n for n, v in net.nodes.items() if isinstance(v, (*SPIKING_TYPES, nir.Threshold)))


def simulate_graph(net: GraphNetwork, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = FLOAT_BATCH,
                   progress: Progress | None = None, dt: float | None = None) -> dict[str, np.ndarray]:
    """Float NIR-graph simulation under the graph's semantics (exact for ``nir``): ``readout`` is the time mean
    of the Output node(s); ``spikes_<node>`` of spiking nodes and ``states_<node>`` (the voltage after each step)
    of every neuron node when recorded."""
    from s5rf_deploy.graphs.discrete_sim import float_simulator

    record = set(record)
    sim = float_simulator(net, dt)
    spiking = spiking_nodes(net) if "spikes" in record else []
    stateful = sorted(sim.systems) if "states" in record else []
    names = tuple(dict.fromkeys(spiking + stateful))
    parts: dict[str, list[np.ndarray]] = {}
    for part in batches(len(inputs), batch_size, progress):
        res = sim.run(inputs[part], names)
        parts.setdefault("readout", []).append(res["outputs"].mean(axis=1))
        parts.setdefault("outputs", []).append(res["outputs"])
        for name in spiking:
            parts.setdefault(f"spikes_{name}", []).append(res[f"out_{name}"])
        for name in stateful:
            parts.setdefault(f"states_{name}", []).append(res[f"v_{name}"])
    return _finish(parts)


def simulate_network_as_graph(net: S5RFNetwork, inputs: np.ndarray, record: Iterable[str] = (),
                              batch_size: int = FLOAT_BATCH, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """An S5-RF network through its NIR encoding and the exact graph simulator.

    Same keys as :func:`simulate_torch`: log-probabilities in ``readout``,
    ``spikes_<i>`` / ``states_<i>`` per RF layer (states: the real part x).
    """
    import torch

    from s5rf_deploy.converters.nir.export import to_nir
    from s5rf_deploy.graphs.network import from_nir

    run = simulate_graph(from_nir(to_nir(net)), inputs, record, batch_size, progress)
    renamed = {"readout": torch.log_softmax(torch.from_numpy(run["readout"]), -1).numpy()}
    for i in range(len(net.layers)):
        for key, node in (("spikes", "spike"), ("states", "x")):
            if f"{key}_rf{i}.{node}" in run:
                renamed[f"{key}_{i}"] = run[f"{key}_rf{i}.{node}"]
    return _finish({k: [v] for k, v in renamed.items()})


def fixed_outputs(res: FixedRun, record: Iterable[str]) -> dict[str, np.ndarray]:
    """The ``simulate`` outputs of a fixed-point run (stepper or Lava): integer readout accumulators (S5-RF) or
    the Output's spike counts or voltage sums (graphs), predictions, recorded traces and saturation counts."""
    run = {"readout": res.readout, "predictions": res.predictions}
    if res.saturation:
        run["saturation"] = np.array([res.saturation[k] for k in sorted(res.saturation)], np.int64)
        run["saturation_names"] = np.array(sorted(res.saturation))
    run.update({f"{kind}_{k}": v for kind in ("spikes", "states") if kind in record for k, v in res.named(kind)})
    return run


def lava_runner(net, steps: int, dt: float | None = None, states: bool = False):
    """The Lava runner of ``net`` for sequences of ``steps`` steps (recording states too with ``states``): fixed
    point for an artifact, Lava's floating_pt models for a float network."""
    if is_fixed(net):
        return family_of(net).lava(net, steps, states)
    if family_of(net) is S5RF:
        from s5rf_deploy.s5rf.lava import LavaRunner
        from s5rf_deploy.s5rf.layout import float_pipeline

        return LavaRunner(float_pipeline(net), steps)
    from s5rf_deploy.graphs.quantize import lif_graph

    graph, _ = lif_graph(net, None, dt)
    return family_of(graph).lava(graph, steps, states)


def simulate_lava(net, runner, inputs: np.ndarray, record: Iterable[str] = (),
                  progress: Progress | None = None) -> dict[str, np.ndarray]:
    """``net`` on Lava through its :func:`lava_runner`: an artifact's outputs as :func:`fixed_outputs`; a float
    S5-RF network's readout as log-probabilities like torch's (``states_<i>``: the complex RF states z of layer
    i's dynamics stage); a float graph's readout as the time mean of the Output, as :func:`simulate_graph`."""
    record = set(record)
    res = runner.run(inputs, record=bool(record), progress=progress)
    steps = inputs.shape[1]
    if is_fixed(net) or family_of(net) is GRAPH:
        run = fixed_outputs(res, record)
        if not is_fixed(net):
            run["readout"] = run["readout"] / steps
        return run
    import torch

    run = {"readout": torch.log_softmax(torch.from_numpy(res.readout / steps), -1).numpy()}
    if "spikes" in record:
        run.update({f"spikes_{i}": s for i, s in enumerate(res.spikes)})
    if "states" in record:
        run.update({f"states_{i}": x[..., 0] + 1j * x[..., 1] for i, x in enumerate(res.states)})
    return _finish({k: [v] for k, v in run.items()})


def simulate_graph_lava_float(net: GraphNetwork, inputs: np.ndarray, record: Iterable[str] = (),
                              progress: Progress | None = None, dt: float | None = None) -> dict[str, np.ndarray]:
    """A standard graph on Lava's floating_pt ``Dense``/``LIF``: ``readout`` = time mean of the Output,
    as :func:`simulate_graph`."""
    return simulate_lava(net, lava_runner(net, inputs.shape[1], dt, "states" in record), inputs, record, progress)


@dataclass(frozen=True)
class SimulationJob:
    """What :func:`simulate` runs (a fixed-point ``net`` is quantized already), for any slice of the samples
    (:mod:`s5rf_deploy.tasks.shards`); ``build`` makes the stepper or Lava runner once."""

    net: Any
    backend: str
    steps: int
    record: tuple[str, ...] = ()
    batch_size: int = FLOAT_BATCH
    dt: float | None = None
    device: str = "cpu"  # the stepper's (s5rf_deploy.fixed.device); a sharded run's workers use it too

    @property
    def quantum(self) -> int:
        """Shards hold whole batches (Lava runs sample by sample)."""
        return 1 if self.backend == "lava" else self.batch_size

    def build(self) -> Callable[[np.ndarray, Progress | None], dict[str, np.ndarray]]:
        runner = (lava_runner(self.net, self.steps, self.dt, "states" in self.record) if self.backend == "lava"
                  else family_of(self.net).stepper(self.net, self.device) if self.backend == "stepper" else None)
        return partial(self.run, runner)

    def run(self, runner, inputs: np.ndarray, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """The outputs on ``inputs``, with the ``runner`` :meth:`build` made."""
        if self.backend == "lava":
            return simulate_lava(self.net, runner, inputs, self.record, progress)
        if self.backend == "stepper":
            return fixed_outputs(runner.run(inputs, self.record, self.batch_size, progress), self.record)
        if self.backend == "torch":
            return simulate_torch(self.net, inputs, self.record, self.batch_size, progress)
        if family_of(self.net) is S5RF:
            return simulate_network_as_graph(self.net, inputs, self.record, self.batch_size, progress)
        return simulate_graph(self.net, inputs, self.record, self.batch_size, progress, self.dt)

    def merge(self, parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return merge_runs(parts)


def simulate(net, inputs: np.ndarray | Samples, backend: str, precision: str, profile, record: Iterable[str] = (),
             batch_size: int | None = None, progress: Progress | None = None, dt: float | None = None,
             warn: Callable[[str], None] = log.warning, pool: Pool | None = None,
             results: Results | None = None, device: str = "cpu") -> dict[str, np.ndarray]:
    """Run ``net`` on ``inputs`` (an array or a dataset file's samples, read window by window) as
    :func:`~s5rf_deploy.tasks.backends.choose_backend` decided; a float network run in fixed point is quantized
    for ``profile`` first, for sequences of the inputs' length (problems go to ``warn``).  ``progress`` is told
    the samples done.  With a ``pool`` the samples run in shards on its workers, with the same result.  The
    outputs go to ``results`` (default: kept in memory), whose :meth:`~Results.finish` is returned.  ``device``:
    where the stepper runs (the same integers; :mod:`s5rf_deploy.fixed.device`).  ``batch_size``: by default
    :func:`default_batch_size` (results do not depend on it)."""
    data = as_samples(inputs)
    with stage(f"run {len(data)} samples on {backend} ({precision})"):
        if precision == "fixed" and not is_fixed(net):
            net, report = quantize_network(net, profile, max_steps=data.steps, dt=dt)
            for problem in report.overflow:
                warn(f"{problem} (quantized on the fly for {profile.name}; `quantize` checks this)")
            for message in report.warnings:
                warn(message)
        results = results or MemoryResults()
        batch_size = batch_size or default_batch_size(net, backend, record, data.steps, pool is not None)
        stream_job(SimulationJob(net, backend, data.steps, tuple(record), batch_size, dt, device), data, results.add,
                   progress, pool)
        return results.finish()


def is_folder(path: str | os.PathLike) -> bool:
    """Whether ``simulate -o path`` writes a folder: ``path`` ends with a slash or is a folder already."""
    return str(path).endswith(("/", os.sep)) or os.path.isdir(path)


def simulate_to(path: str | os.PathLike, net, data: Samples, *args: Any, state_bits: int | None = None,
                replace: bool = False, **kwargs: Any) -> dict[str, np.ndarray]:
    """:func:`simulate`, its outputs written to ``path``: a folder of ``.npy`` files written as the parts come
    (:class:`NpyResults`, integer states in ``state_bits``) when ``path`` ends with a slash or is a folder, which
    appears complete or not at all; else an ``.npz`` (joined in memory, written at the end).  Returns the
    outputs (of a folder: the predictions and saturation counts)."""
    if not is_folder(path):
        run = simulate(net, data, *args, **kwargs)
        write_run(run, path)
        return run
    with atomic_dir(path, replace) as tmp:
        results = NpyResults(tmp, len(data), state_bits, _count_outputs(net))
        try:
            return simulate(net, data, *args, results=results, **kwargs)
        finally:
            results.close()


def _count_outputs(net) -> frozenset[str]:
    """The spike outputs of ``net`` that hold multi-bit counts (S5-RF layers with ``spike_bits`` > 1)."""
    if family_of(net) is not S5RF:
        return frozenset()
    levels = [net.stages[k].levels for k in net.layer_stages] if is_fixed(net) else [la.levels for la in net.layers]
    return frozenset(f"spikes_{i}" for i, top in enumerate(levels) if top > 1)


def write_run(run: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write a run's arrays atomically as ``.npz``."""
    log.info("writing %s: %s", path, ", ".join(f"{k} {v.shape}" for k, v in sorted(run.items())))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **run)
