"""Run a network over a dataset and collect the ``simulate`` outputs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

import nir
import numpy as np
import torch

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.graphs.network import SPIKING_TYPES, GraphNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork, model_from_network
from s5rf_deploy.tasks.families import GRAPH, S5RF, family_of, is_fixed, quantize_network

log = logging.getLogger(__name__)


def _batches(n: int, batch_size: int, progress: Callable | None):
    starts = range(0, n, batch_size)
    return progress(starts) if progress else starts


def _finish(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    run = {k: np.concatenate(v) for k, v in parts.items()}
    run["predictions"] = run["readout"].argmax(-1)
    return run


def simulate_torch(net: S5RFNetwork, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 64,
                   progress: Callable | None = None) -> dict[str, np.ndarray]:
    """Float64 PyTorch forward: readout log-probs, predictions and optional recordings."""
    record = set(record)
    model = model_from_network(net)
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in _batches(len(inputs), batch_size, progress):
            batch = torch.from_numpy(inputs[start:start + batch_size]).double()
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


def simulate_graph(net: GraphNetwork, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 64,
                   progress: Callable | None = None, dt: float | None = None) -> dict[str, np.ndarray]:
    """Exact NIR-graph simulation: ``readout`` is the time mean of the Output node(s); ``spikes_<node>`` of
    spiking nodes and ``states_<node>`` (the voltage after each step) of every neuron node when recorded."""
    from s5rf_deploy.graphs.exact_sim import GraphSimulator

    record = set(record)
    sim = GraphSimulator(net, dt)
    spiking = spiking_nodes(net) if "spikes" in record else []
    stateful = sorted(sim.systems) if "states" in record else []
    names = tuple(dict.fromkeys(spiking + stateful))
    parts: dict[str, list[np.ndarray]] = {}
    for start in _batches(len(inputs), batch_size, progress):
        res = sim.run(inputs[start:start + batch_size], names)
        parts.setdefault("readout", []).append(res["outputs"].mean(axis=1))
        parts.setdefault("outputs", []).append(res["outputs"])
        for name in spiking:
            parts.setdefault(f"spikes_{name}", []).append(res[f"out_{name}"])
        for name in stateful:
            parts.setdefault(f"states_{name}", []).append(res[f"v_{name}"])
    return _finish(parts)


def simulate_network_as_graph(net: S5RFNetwork, inputs: np.ndarray, record: Iterable[str] = (),
                              batch_size: int = 64, progress: Callable | None = None) -> dict[str, np.ndarray]:
    """An S5-RF network through its NIR encoding and the exact graph simulator.

    Same keys as :func:`simulate_torch`: log-probabilities in ``readout``,
    ``spikes_<i>`` / ``states_<i>`` per RF layer (states: the real part x).
    """
    from s5rf_deploy.converters.nir.export import to_nir
    from s5rf_deploy.graphs.network import from_nir

    run = simulate_graph(from_nir(to_nir(net)), inputs, record, batch_size, progress)
    renamed = {"readout": torch.log_softmax(torch.from_numpy(run["readout"]), -1).numpy()}
    for i in range(len(net.layers)):
        for key, node in (("spikes", "spike"), ("states", "x")):
            if f"{key}_rf{i}.{node}" in run:
                renamed[f"{key}_{i}"] = run[f"{key}_rf{i}.{node}"]
    return _finish({k: [v] for k, v in renamed.items()})


def simulate_fixed(net, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 256,
                   progress: Callable | None = None, backend: str = "stepper") -> dict[str, np.ndarray]:
    """Fixed point on the stepper or on Lava (``Loihi2SimCfg``, fixed_pt): integer readout
    accumulators (S5-RF) or the Output's spike counts or voltage sums (graphs), spikes, states
    and saturation counts."""
    record = set(record)
    family = family_of(net)
    if backend == "lava":
        if "states" in record and family is GRAPH:
            raise S5RFError("Lava runs of standard graphs record spikes only (the stepper records states)")
        res = family.lava(net, inputs.shape[1]).run(inputs, record=bool(record), progress=progress)
    else:
        res = family.stepper(net).run(inputs, record, batch_size, progress)
    run = {"readout": res.readout, "predictions": res.predictions}
    if res.saturation:
        run["saturation"] = np.array([res.saturation[k] for k in sorted(res.saturation)], np.int64)
        run["saturation_names"] = np.array(sorted(res.saturation))
    run.update({f"{kind}_{k}": v for kind in ("spikes", "states") if kind in record for k, v in res.named(kind)})
    return run


def simulate_graph_lava_float(net: GraphNetwork, inputs: np.ndarray, record: Iterable[str] = (),
                              progress: Callable | None = None, dt: float | None = None) -> dict[str, np.ndarray]:
    """A standard graph on Lava's floating_pt ``Dense``/``LIF``: ``readout`` = time mean of the Output,
    as :func:`simulate_graph`."""
    from s5rf_deploy.graphs.quantize import lif_graph

    graph, _ = lif_graph(net, None, dt)
    run = simulate_fixed(graph, inputs, set(record), len(inputs), progress, "lava")
    run["readout"] = run["readout"] / inputs.shape[1]
    return run


def simulate_lava_float(net: S5RFNetwork, inputs: np.ndarray, record: Iterable[str] = (),
                        progress: Callable | None = None) -> dict[str, np.ndarray]:
    """Float S5-RF network on Lava's floating_pt models; readout as log-probabilities like torch's.

    ``states_<i>`` are the RF states z (complex) of layer i's dynamics stage.
    """
    from s5rf_deploy.s5rf.lava import LavaRunner
    from s5rf_deploy.s5rf.layout import float_pipeline

    record = set(record)
    steps = inputs.shape[1]
    res = LavaRunner(float_pipeline(net), steps).run(inputs, bool(record), progress)
    run = {"readout": torch.log_softmax(torch.from_numpy(res.readout / steps), -1).numpy()}
    if "spikes" in record:
        run.update({f"spikes_{i}": s for i, s in enumerate(res.spikes)})
    if "states" in record:
        run.update({f"states_{i}": x[..., 0] + 1j * x[..., 1] for i, x in enumerate(res.states)})
    return _finish({k: [v] for k, v in run.items()})


def choose_backend(net, backend: str | None, precision: str | None) -> tuple[str, str]:
    """The (backend, precision) a ``simulate`` call means: fixed point for artifacts and the stepper, else
    float on torch (S5-RF) or the exact NIR simulator (graphs)."""
    fixed = is_fixed(net)
    precision = precision or ("fixed" if fixed or backend == "stepper" else "float")
    if fixed and precision == "float":
        raise S5RFError("a fixed-point artifact has no float model; give the float model instead")
    if precision == "fixed":
        if backend not in (None, "stepper", "lava"):
            raise S5RFError(f"fixed point runs on the stepper or lava backend, not {backend!r}")
        return backend or "stepper", precision
    backend = backend or ("torch" if family_of(net) is S5RF else "nir")
    if backend == "stepper":
        raise S5RFError("the stepper backend runs fixed point (--precision fixed)")
    if backend == "torch" and family_of(net) is not S5RF:
        raise S5RFError("the torch backend runs S5-RF networks; use --backend nir for this graph")
    return backend, precision


def simulate(net, inputs: np.ndarray, backend: str, precision: str, profile, record: Iterable[str] = (),
             batch_size: int = 64, progress: Callable | None = None, dt: float | None = None,
             warn: Callable[[str], None] = log.warning) -> dict[str, np.ndarray]:
    """Run ``net`` on ``inputs`` as :func:`choose_backend` decided; a float network run in fixed point is
    quantized for ``profile`` first, for sequences of the inputs' length (problems go to ``warn``)."""
    if precision == "fixed":
        if not is_fixed(net):
            net, report = quantize_network(net, profile, max_steps=inputs.shape[1], dt=dt)
            for problem in report.overflow:
                warn(f"{problem} (quantized on the fly for {profile.name}; `quantize` checks this)")
            for message in report.warnings:
                warn(message)
        return simulate_fixed(net, inputs, record, batch_size, progress, backend)
    s5rf = family_of(net) is S5RF
    if backend == "lava":
        if s5rf:
            return simulate_lava_float(net, inputs, record, progress)
        return simulate_graph_lava_float(net, inputs, record, progress, dt)
    if backend == "torch":
        return simulate_torch(net, inputs, record, batch_size, progress)
    if s5rf:
        return simulate_network_as_graph(net, inputs, record, batch_size, progress)
    return simulate_graph(net, inputs, record, batch_size, progress, dt)


def write_run(run: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write a run's arrays atomically as ``.npz``."""
    log.info("writing %s: %s", path, ", ".join(f"{k} {v.shape}" for k, v in sorted(run.items())))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **run)
