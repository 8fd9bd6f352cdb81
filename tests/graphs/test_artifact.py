"""The standard-graph fixed-point artifact refuses every corrupt field with one line naming the file and the
field (issue 21), on load and before save."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nir
import numpy as np
import pytest

from mutations import array, corrupt, refused, stage, synapse, top
from s5rf_deploy.graphs.artifact import KIND, load_lif_graph, save_lif_graph
from s5rf_deploy.graphs.network import from_nir
from s5rf_deploy.graphs.quantize import lif_graph
from s5rf_deploy.hw_profiles import load_profile


def _graph() -> nir.NIRGraph:
    """Input(3) -> Affine -> LIF (two time constants: two stages, recurrent) -> Delay -> Linear -> LI -> Output."""
    rng = np.random.default_rng(0)
    nodes = {"input": nir.Input(np.array([3])), "w": nir.Affine(rng.normal(0, 2, (4, 3)), rng.normal(0, 0.3, 4)),
             "lif": nir.LIF(tau=np.array([2e-3, 2e-3, 5e-3, 5e-3]), r=np.ones(4), v_leak=np.zeros(4),
                            v_threshold=np.ones(4), v_reset=np.zeros(4)),
             "rec": nir.Linear(rng.normal(0, 0.5, (4, 4))), "d": nir.Delay(np.full(4, 2e-3)),
             "w2": nir.Linear(rng.normal(0, 1, (2, 4))), "li": nir.LI(tau=np.full(2, 5e-3), r=np.ones(2),
                                                                     v_leak=np.zeros(2)),
             "output": nir.Output(np.array([2]))}
    edges = [("input", "w"), ("w", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "d"), ("d", "w2"), ("w2", "li"),
             ("li", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


# Stages: 0 and 1 hold lif's neurons [0 1] and [2 3] (inputs: the input, both lif stages, the bias lines),
# 2 the voltage output li (inputs: both lif stages).
GRAPH = lif_graph(from_nir(_graph()), load_profile("loihi2"))[0]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "good.fxp"
    save_lif_graph(GRAPH, path)
    return path


def drop_neuron(meta: dict, arrays: dict) -> None:
    """Stage 1 without lif's neuron 3 (and its scale and synapse rows, so that only the coverage is wrong)."""
    arrays["stage1.neurons"] = arrays["stage1.neurons"][:1]
    arrays["stage1.scale"] = arrays["stage1.scale"][:1]
    for j in range(len(meta["stages"][1]["inputs"])):
        arrays[f"stage1.in.{j}.weights"] = arrays[f"stage1.in.{j}.weights"][:1]


CASES = {
    "precision": (top("precision", "float"), "precision 'float': artifacts hold fixed-point graphs only"),
    "input-dim": (top("input_dim", -1), "input_dim -1 is below 0"),
    "input-dim-type": (top("input_dim", 3.0), "input_dim 3.0 is not an integer"),
    "dt": (top("dt", 0), "dt 0 is not a positive finite number"),
    "provenance": (top("provenance", "x"), "provenance is not a mapping"),
    "node-sizes-type": (top("node_sizes", [4, 2]), "node_sizes is not a mapping"),
    "node-size": (lambda m, a: m["node_sizes"].__setitem__("li", 0), "node_sizes['li'] 0 is below 1"),
    "node-size-type": (lambda m, a: m["node_sizes"].__setitem__("li", "2"), "node_sizes['li'] '2' is not an integer"),
    "outputs-empty": (top("outputs", []), "outputs () is not a non-empty list of nodes"),
    "outputs-type": (top("outputs", "li"), "outputs 'li' is not a non-empty list of nodes"),
    "output-node": (top("outputs", ["nope"]), "output node 'nope' is not one of the nodes in node_sizes"),
    "bias-starts-type": (top("bias_starts", {"a": 1}), "bias_starts {'a': 1} is not a list of steps"),
    "bias-start": (top("bias_starts", [0]), "bias_starts[0] 0 is below 1"),
    "node": (stage(0, "node", "nope"), "stage 0 node 'nope' is not one of the nodes in node_sizes"),
    "neurons-dtype": (array("stage0.neurons", lambda n: n + 0.5), "'stage0.neurons' holds float64 values"),
    "neurons-empty": (array("stage0.neurons", lambda n: n[:0]), "stage 0 neurons (stage0.neurons) are not a non-empty"),
    "neurons-range": (array("stage0.neurons", lambda n: n + 3), "stage 0 neurons (stage0.neurons) outside node 'lif'"),
    "neuron-twice": (array("stage1.neurons", lambda n: n - 2), "node 'lif' neuron 0 is in 2 stages' neurons"),
    "neuron-missing": (drop_neuron, "node 'lif' neuron 3 is in 0 stages' neurons"),
    "scale-shape": (array("stage0.scale", lambda s: s[:1]), "stage 0 scale (stage0.scale) is not one positive"),
    "scale-dtype": (array("stage0.scale", lambda s: s.astype(np.int64)), "stage 0 scale (stage0.scale) is not one"),
    "scale-sign": (array("stage2.scale", lambda s: -s), "stage 2 scale (stage2.scale) is not one positive"),
    "du-range": (stage(0, "du", 4096), "stage 0 du 4096 is not an integer in Lava's range 0..4095"),
    "dv-fraction": (stage(1, "dv", 1.5), "stage 1 dv 1.5 is not an integer in Lava's range 0..4095"),
    "dv-type": (stage(1, "dv", "x"), "stage 1 dv 'x' is not an integer"),
    "vth-range": (stage(2, "vth", 2.0**17), "stage 2 vth 131072.0 is not an integer in Lava's range 0..131071"),
    "spiking-type": (stage(0, "spiking", 1), "stage 0 spiking 1 is not true or false"),
    "offset": (stage(0, "offset", 0), "stage 0 offset 0 is below 1"),
    "offset-type": (stage(0, "offset", None), "stage 0 offset None is not an integer"),
    "node-offsets": (stage(0, "offset", 3), "node 'lif' has stages that differ in spiking or offset"),
    "source-type": (synapse(0, 0, "source", "x"), "stage 0 synapse stage0.in.0 source 'x' is not an integer"),
    "source-voltage": (synapse(0, 2, "source", 2), "stage 0 synapse from 2 (stage0.in.2): the source must be the "
                                                   "network input, the bias lines or a spiking stage"),
    "source-missing": (synapse(0, 2, "source", 3), "stage 0 synapse from 3 (stage0.in.2): the source must be"),
    "part": (synapse(0, 0, "part", "re"), "stage 0 synapse from -1 (stage0.in.0) reads part 're'; source -1 sends"),
    "weights-shape": (array("stage2.in.0.weights", lambda w: w.T[:1]),
                      "stage 2 synapse from 0 has shape (1, 2), expected (2, 2) (stage2.in.0)"),
    "weights-8-bit": (array("stage0.in.0.weights", lambda w: w - 300), "(stage0.in.0) weights exceed 8 bits"),
    "weight-exponent": (synapse(0, 0, "weight_exp", -9), "(stage0.in.0) weight exponent -9 outside the profile's"),
    "delay-negative": (synapse(0, 0, "delay", -1), "stage 0 synapse from -1 (stage0.in.0) delay -1 outside"),
    "delay-beyond-profile": (synapse(0, 0, "delay", 63), "delay 63 outside the profile's range 0..62"),
    "reset": (stage(0, "reset", "halve"), "stage 0 reset 'halve' is not one of zero, subtract, subtract_next"),
    "inclusive-type": (stage(0, "inclusive", 1), "stage 0 inclusive 1 is not true or false"),
    "max-spikes": (stage(0, "max_spikes", 0), "stage 0 max_spikes 0 outside the profile's range 1..255"),
    "max-spikes-range": (stage(0, "max_spikes", 256), "stage 0 max_spikes 256 outside the profile's range 1..255"),
    "multi-spike-zero-reset": (stage(0, "max_spikes", 3), "stage 0 spike rule: multi-spike needs"),
    "voltage-rule": (stage(2, "reset", "subtract"), "stage 2 is a voltage stage with a spike rule other than Lava's"),
}


@pytest.mark.parametrize("edit, message", CASES.values(), ids=CASES.keys())
def test_corrupt_field_is_refused_in_one_line(good, tmp_path, edit, message):
    path = corrupt(good, tmp_path, KIND, edit)
    refused(path, message, lambda: load_lif_graph(path))


def test_artifact_without_rule_fields_loads_with_lavas_rule(good, tmp_path):
    """Artifacts written before spike rules existed keep Lava's LIF rule."""
    def strip(meta: dict, arrays: dict) -> None:
        for st in meta["stages"]:
            for key in ("reset", "inclusive", "max_spikes"):
                del st[key]
    loaded = load_lif_graph(corrupt(good, tmp_path, KIND, strip))
    assert all(st.rule.is_lava for st in loaded.stages)


def test_valid_artifact_round_trips(good):
    loaded = load_lif_graph(good)
    assert [st.node for st in loaded.stages] == ["lif", "lif", "li"] and loaded.bias_starts == GRAPH.bias_starts
    assert loaded.outputs == ("li",) and loaded.node_sizes == {"lif": 4, "li": 2}


def test_save_validates_first(tmp_path):
    """A quantizer bug cannot write an artifact that would not load: save_lif_graph refuses it, and writes
    nothing."""
    bad = dataclasses.replace(GRAPH, stages=(dataclasses.replace(GRAPH.stages[0], du=5000.0),) + GRAPH.stages[1:])
    refused("<unsaved graph>", "stage 0 du 5000.0 is not an integer in Lava's range 0..4095",
            lambda: save_lif_graph(bad, tmp_path / "bad.fxp"))
    assert list(tmp_path.iterdir()) == []
