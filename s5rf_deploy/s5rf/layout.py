"""The staged layout of an S5-RF network on a synchronous neuromorphic pipeline.

Shared by the quantizer (which turns every number into integers) and the float
Lava mapping: which stages exist (an RF layer, plus a mixing stage after a
layer with V), which sources each stage sums (skip connections), and the extra
delay on each synapse so that all inputs of a stage belong to the same float
time step (each synapse hop costs one step, as Lava's ``Dense``).
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage
from s5rf_deploy.s5rf.network import S5RFNetwork


def mixing_blocks(v: np.ndarray) -> dict[str, np.ndarray]:
    """Stacked synapse weights of ``x = V z`` from each graded part: Re x = Re V re - Im V im,
    Im x = Im V re + Re V im."""
    return {"re": np.concatenate([v.real, v.imag]), "im": np.concatenate([-v.imag, v.real])}


def layer_sources(net: S5RFNetwork) -> list[list[int]]:
    """For each float layer, then the readout: the float layers (or INPUT) whose spikes it sums."""
    sources, result = [INPUT], []
    for i, layer in enumerate(net.layers):
        result.append(list(sources))
        sources = [i] + (sources if layer.skip else [])
    result.append(sources)
    return result


def links(sources: list[int], layer_stage: dict[int, int], depth: int) -> list[tuple[int, int]]:
    """(source stage, extra delay) for each source of a population at pipeline ``depth``."""
    return [(INPUT, depth - 1) if src == INPUT else (layer_stage[src], depth - layer_stage[src] - 2)
            for src in sources]


def float_pipeline(net: S5RFNetwork) -> FxpNetwork:
    """The network laid out as a pipeline with float parameters (for Lava's floating_pt models).

    Same structure as the quantized network, and no hardware profile (that is what
    makes it float): decays are ``lambda_bar``, weights the discrete input matrix,
    thresholds in float units, the readout LIF's ``du`` is ``1 - beta`` (Lava's
    float LIF: ``u' = (1 - du) u + a``).
    """
    net.validate()
    stages: list[Stage] = []
    layer_stage: dict[int, int] = {}
    sources = layer_sources(net)
    state_stage = []
    for i, layer in enumerate(net.layers):
        lam_bar, m = layer.discretized()
        feed = links(sources[i], layer_stage, len(stages) + 1)
        graded = layer.mixing is not None
        stacked = np.concatenate([m.real, m.imag])
        stages.append(Stage(lam_bar.real, lam_bar.imag, layer.threshold, "graded" if graded else layer.spike, 0,
                            tuple(Synapse(src, stacked, 0, d) for src, d in feed), 1.0,
                            spike_bits=1 if graded else layer.spike_bits))
        state_stage.append(len(stages) - 1)
        if graded:
            source = len(stages) - 1
            syns = tuple(Synapse(source, w, 0, 0, part) for part, w in mixing_blocks(layer.mixing).items())
            zeros = np.zeros(layer.num_neurons)
            stages.append(Stage(zeros, zeros, layer.threshold, layer.spike, 0, syns, 1.0, spike_bits=layer.spike_bits))
        layer_stage[i] = len(stages) - 1
    feed = links(sources[-1], layer_stage, len(stages) + 1)
    readout = Readout(tuple(Synapse(src, net.readout.weight, 0, d) for src, d in feed), 1.0 - net.readout.leak,
                      0, 1.0)
    return FxpNetwork(net.input_dim, tuple(stages), readout, None,
                      tuple(layer_stage[i] for i in range(len(net.layers))), tuple(state_stage))
