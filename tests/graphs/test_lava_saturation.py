"""Saturation counts of Lava fixed-point graph runs (Lava's own LIF arithmetic, counted) equal the stepper's."""

from __future__ import annotations

import dataclasses

import nir
import numpy as np
import pytest

from s5rf_deploy.graphs.network import from_nir
from s5rf_deploy.graphs.quantize import lif_graph
from s5rf_deploy.graphs.stepper import GraphStepper
from s5rf_deploy.hw_profiles import load_profile

pytestmark = pytest.mark.lava
LOIHI2 = load_profile("loihi2")


def _graph(boost: int):
    """Input -> Linear -> CubaLIF (slow synapse) -> Linear -> LI -> Output, quantized for 40 steps, every
    weight exponent raised by ``boost``."""
    rng = np.random.default_rng(0)
    n_in, n1, n_out = 6, 5, 3
    nodes = {
        "input": nir.Input(np.array([n_in])),
        "fc1": nir.Linear(rng.uniform(0.5, 2.0, (n1, n_in))),
        "cuba": nir.CubaLIF(tau_syn=np.full(n1, 5e-2), tau_mem=np.full(n1, 5e-3), r=np.ones(n1),
                            v_leak=np.zeros(n1), v_threshold=np.ones(n1), v_reset=np.zeros(n1), w_in=np.ones(n1)),
        "fc2": nir.Linear(rng.uniform(0.5, 1.5, (n_out, n1))),
        "li": nir.LI(tau=np.full(n_out, 2e-2), r=np.ones(n_out), v_leak=np.zeros(n_out)),
        "output": nir.Output(np.array([n_out])),
    }
    edges = [("input", "fc1"), ("fc1", "cuba"), ("cuba", "fc2"), ("fc2", "li"), ("li", "output")]
    graph, _ = lif_graph(from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})), LOIHI2,
                         max_steps=40)
    stages = tuple(dataclasses.replace(st, inputs=tuple(dataclasses.replace(s, weight_exp=s.weight_exp + boost)
                                                        for s in st.inputs)) for st in graph.stages)
    return dataclasses.replace(graph, stages=stages)


def _run_both(graph, x):
    from s5rf_deploy.graphs.lava import LavaGraphRunner

    want = GraphStepper(graph).run(x, record=("spikes",))
    got = LavaGraphRunner(graph, x.shape[1]).run(x)
    np.testing.assert_array_equal(got.readout, want.readout)
    for node, s in want.spikes.items():
        np.testing.assert_array_equal(got.spikes[node], s, err_msg=node)
    assert got.saturation == want.saturation
    return want.saturation


def test_wrapping_current_and_overflowing_output_count_like_the_stepper():
    """Weights 2**6 times larger: the CubaLIF's u wraps and the LI output's running sum clips and fires;
    three samples, so the counters are reset between them."""
    x = (np.random.default_rng(1).random((3, 40, 6)) < 0.5).astype(np.float64)
    counts = _run_both(_graph(6), x)
    assert set(counts) == {"cuba[0]", "li[1]"} and min(counts.values()) > 0


def test_quiet_graph_counts_zero_on_both():
    x = (np.random.default_rng(1).random((2, 40, 6)) < 0.5).astype(np.float64)
    assert _run_both(_graph(0), x) == {"cuba[0]": 0, "li[1]": 0}
