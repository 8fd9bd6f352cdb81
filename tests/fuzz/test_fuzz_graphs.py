"""Fuzzing standard NIR graphs through file import, quantization, the stepper and Lava.

Budget: ``S5RF_FUZZ_EXAMPLES`` examples per test (CI default 15; ``make fuzz``
runs 1,000).  Valid random graphs must quantize, run on the stepper and, for
every ``LAVA_EVERY``-th example of at most ``MAX_LAVA_PROCESSES`` Lava
processes, run on Lava bit-exactly; mutated graphs, and quantized graphs'
artifacts with a field or array corrupted, must either load and run or fail
with an :class:`S5RFError` (one-line CLI error), never with any other exception.
"""

from __future__ import annotations

import os

import nir
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mutations import corrupt_array, read, replace_field, write
from s5rf_deploy.converters.nir.load import load_nir
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.graphs.artifact import KIND, save_lif_graph
from s5rf_deploy.graphs.quantize import lif_graph
from s5rf_deploy.graphs.stepper import GraphStepper
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.tasks.loading import load_any

EXAMPLES = int(os.environ.get("S5RF_FUZZ_EXAMPLES", "15"))
LAVA_EVERY = int(os.environ.get("S5RF_FUZZ_LAVA_EVERY", "5"))
# Lava forks one OS process per Dense/LIF/sink; graphs with many distinct time constants split into many stages
# and can need hundreds (about 0.5 GB each here), so the bit-exact Lava check runs on graphs up to this size.
MAX_LAVA_PROCESSES = 40
LOIHI2 = load_profile("loihi2")
FUZZ = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None)
pytestmark = pytest.mark.fuzz


@st.composite
def graphs(draw) -> nir.NIRGraph:
    """Input -> [Affine/Linear -> LIF | IF | CubaLIF (optionally recurrent, optionally delayed)]* -> output
    neurons (spiking, LI or CubaLI) -> Output, with random sizes and parameters."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    width = draw(st.integers(1, 6))
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(np.array([width]))}
    edges: list[tuple[str, str]] = []
    prev = "input"
    layers = draw(st.integers(1, 3))
    for i in range(layers + 1):
        last = i == layers
        kind = draw(st.sampled_from(["LI", "CubaLI", "LIF", "CubaLIF"] if last else ["LIF", "IF", "CubaLIF"]))
        n = draw(st.integers(1, 6))
        w = rng.normal(0, 2.0, (n, width))
        syn = f"w{i}"
        nodes[syn] = nir.Affine(w, rng.normal(0, 0.3, n)) if draw(st.booleans()) else nir.Linear(w)
        edges.append((prev, syn))
        name = f"n{i}"
        tau = rng.choice([1e-3, 2e-3, 5e-3, 2e-2], n)
        thr, reset = rng.uniform(0.5, 2.0, n), rng.uniform(-0.3, 0.3, n)
        if kind == "LI":
            nodes[name] = nir.LI(tau=tau, r=np.ones(n), v_leak=rng.normal(0, 0.1, n))
        elif kind == "CubaLI":
            nodes[name] = nir.CubaLI(tau_syn=rng.choice([1e-3, 4e-3], n), tau_mem=tau, r=rng.uniform(0.5, 2, n),
                                     v_leak=rng.normal(0, 0.1, n), w_in=rng.uniform(0.5, 2, n))
        elif kind == "LIF":
            nodes[name] = nir.LIF(tau=tau, r=rng.uniform(0.5, 2, n), v_leak=rng.normal(0, 0.1, n),
                                  v_threshold=thr, v_reset=reset)
        elif kind == "IF":
            nodes[name] = nir.IF(r=rng.uniform(0.5, 2, n), v_threshold=thr, v_reset=reset)
        else:
            nodes[name] = nir.CubaLIF(tau_syn=rng.choice([1e-3, 4e-3], n), tau_mem=tau, r=rng.uniform(0.5, 2, n),
                                      v_leak=rng.normal(0, 0.1, n), v_threshold=thr, v_reset=reset,
                                      w_in=rng.uniform(0.5, 2, n))
        edges.append((syn, name))
        if not last and draw(st.booleans()):
            nodes[f"rec{i}"] = nir.Linear(rng.normal(0, 0.5, (n, n)))
            edges += [(name, f"rec{i}"), (f"rec{i}", name)]
        if not last and draw(st.booleans()):
            nodes[f"d{i}"] = nir.Delay(np.full(n, draw(st.integers(0, 3)) * 1e-3))
            edges.append((name, f"d{i}"))
            name = f"d{i}"
        prev, width = name, n
    nodes["output"] = nir.Output(np.array([width]))
    edges.append((f"n{layers}", "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def _mutate(graph: nir.NIRGraph, how: int, rng: np.random.Generator) -> nir.NIRGraph:
    nodes, edges = dict(graph.nodes), list(graph.edges)
    name = list(nodes)[rng.integers(len(nodes))]
    node = nodes[name]
    params = [k for k, v in vars(node).items() if isinstance(v, np.ndarray) and k not in ("input_type", "output_type")]
    if how == 0 and edges:
        edges.pop(rng.integers(len(edges)))
    elif how == 1 and params:
        key = params[rng.integers(len(params))]
        value = np.array(getattr(node, key), dtype=np.float64)
        value.flat[rng.integers(value.size)] = rng.choice([np.nan, np.inf, -1.0, 0.0, 1e30])
        setattr(node, key, value)
    elif how == 2 and params:
        key = params[rng.integers(len(params))]
        setattr(node, key, np.ones(np.size(getattr(node, key)) + 1))
    elif how == 3:
        edges.append((name, list(nodes)[rng.integers(len(nodes))]))
    else:
        nodes[name] = nir.Threshold(np.ones(3))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=dict(graph.metadata), type_check=False)


def _load(graph: nir.NIRGraph, tmp_path):
    """Write ``graph`` with ``nir`` and read it back the way the CLI does."""
    path = tmp_path / "g.nir"
    try:
        nir.write(path, graph)
    except Exception:  # noqa: BLE001 - nir cannot write some mutants at all; nothing of ours to test then
        assume(False)
    return load_nir(path, as_graph=True)


@pytest.mark.lava  # every LAVA_EVERY-th example also runs on Lava
@FUZZ
@given(graph=graphs(), seed=st.integers(0, 2**16))
def test_valid_graphs_quantize_and_run_bit_exact(tmp_path_factory, graph, seed):
    net = _load(graph, tmp_path_factory.mktemp("g"))
    fxp, report = lif_graph(net, LOIHI2)
    x = (np.random.default_rng(seed).random((2, 12, net.input_dim)) < 0.4).astype(np.float64)
    expected = GraphStepper(fxp).run(x, record=("spikes",))
    assert expected.readout.shape == (2, net.output_dim)
    from s5rf_deploy.graphs.lava import LavaGraphRunner, process_count

    if seed % LAVA_EVERY == 0 and process_count(fxp) <= MAX_LAVA_PROCESSES:

        got = LavaGraphRunner(fxp, x.shape[1]).run(x)
        np.testing.assert_array_equal(got.readout, expected.readout)
        for node, spikes in expected.spikes.items():
            np.testing.assert_array_equal(got.spikes[node], spikes)


@FUZZ
@given(graph=graphs(), how=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_mutated_graphs_fail_cleanly(tmp_path_factory, graph, how, seed):
    mutated = _mutate(graph, how, np.random.default_rng(seed))
    try:
        net = _load(mutated, tmp_path_factory.mktemp("m"))
        fxp, _ = lif_graph(net, LOIHI2)
        GraphStepper(fxp).run(np.ones((1, 5, net.input_dim)))
    except S5RFError as exc:
        assert str(exc) and "\n" not in str(exc)


@FUZZ
@given(graph=graphs(), how=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_mutated_graph_artifacts_fail_cleanly(tmp_path_factory, graph, how, seed):
    folder = tmp_path_factory.mktemp("a")
    save_lif_graph(lif_graph(_load(graph, folder), LOIHI2)[0], folder / "g.fxp")
    meta, arrays = read(folder / "g.fxp", KIND)
    rng = np.random.default_rng(seed)
    if how < 4:
        corrupt_array(arrays, rng, how)
    else:
        replace_field(meta, rng)
    mutant = write(folder / "mutant.fxp", KIND, meta, arrays)
    try:
        net = load_any(mutant)
        GraphStepper(net).run(np.ones((1, 5, net.input_dim)))
    except S5RFError as exc:
        assert str(exc) and "\n" not in str(exc)
