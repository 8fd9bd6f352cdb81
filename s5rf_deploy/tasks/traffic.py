"""What a layer's outputs cost to move: spikes, messages, bits and synaptic operations per sample.

A layer's output per (sample, step, neuron) is a spike count: 0/1 for binary
spikes, 0 .. 2^k - 1 for multi-bit outputs (S5-RF ``spike_bits`` = k, or a
multi-spike LIF rule).  Every non-zero output is one **message**; a message
carries ``payload_bits`` bits (1 for a binary spike: the event itself; k for
a k-bit output), so **bits moved** = messages x payload bits.  Each message
drives the non-zero weights that read the neuron (its fan-out): **synaptic
operations** = messages x fan-out (an addition for a spike, a multiply-add for a
graded payload).  **Spikes** = the sum of the counts (thresholds crossed).  The
bits are what the messages carry, not the width of the hardware's message field
(Loihi 2's graded spikes have a fixed payload field of up to 32 bits).
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.s5rf.artifact import FxpNetwork
from s5rf_deploy.s5rf.layout import layer_sources
from s5rf_deploy.s5rf.network import S5RFNetwork


def payload_bits(levels: int) -> int:
    """Bits a message of counts up to ``levels`` carries (1 for binary spikes)."""
    return max(1, int(levels).bit_length())


def traffic(outputs: np.ndarray, bits: int, fan_out: np.ndarray) -> dict[str, float]:
    """Per-sample means of spikes, messages, bits and synaptic operations of ``outputs`` (N, T, P) (counts), with
    ``bits`` per message and ``fan_out`` (P,) synapses per neuron."""
    n = outputs.shape[0]
    per_neuron = np.count_nonzero(outputs, axis=(0, 1))
    messages = float(per_neuron.sum() / n)
    return {"spikes": float(outputs.sum(dtype=np.float64) / n), "messages": messages, "bits": messages * bits,
            "synops": float((per_neuron * fan_out).sum() / n)}


def s5rf_fan_out(net: S5RFNetwork) -> list[np.ndarray]:
    """Non-zero outgoing (complex) weights per neuron of each RF layer: next layer, skip targets, readout."""
    sources = layer_sources(net)
    out = [np.zeros(layer.num_neurons) for layer in net.layers]
    readers = [(layer.weight, sources[k]) for k, layer in enumerate(net.layers)] + [(net.readout.weight, sources[-1])]
    for weight, srcs in readers:
        for src in srcs:
            if src >= 0:
                out[src] += np.count_nonzero(weight, axis=0)
    return out


def fxp_fan_out(net: FxpNetwork) -> list[np.ndarray]:
    """Synapses each neuron of each layer's spiking stage drives on the hardware: the non-zero integer weights
    (real and imaginary rows apart; a weight split into several digits counts once) of every population
    reading it."""
    out = []
    for k in net.layer_stages:
        fan = np.zeros(net.stages[k].size)
        for inputs in [st.inputs for st in net.stages] + [net.readout.inputs]:
            reading = [syn.weights != 0 for syn in inputs if syn.source == k]
            if reading:
                fan += np.count_nonzero(np.logical_or.reduce(reading), axis=0)
        out.append(fan)
    return out
