"""The bit-accurate fixed-point reference stepper of S5-RF networks (batched, streaming over time).

It runs a :class:`FxpNetwork` with exactly the integer semantics of the Lava
fixed-point run: the compartment arithmetic comes from
:mod:`s5rf_deploy.fixed.arithmetic`, the synapses and the time loop from
:mod:`s5rf_deploy.fixed.engine` (each synapse hop delivers one step later;
see :mod:`s5rf_deploy.s5rf.artifact`).  After the input's T steps it runs
``latency`` more with zero input so that the readout has summed the same
terms as the float model.
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.device import kernels_for
from s5rf_deploy.fixed.engine import BatchedStepper, FixedRun, Port, history_length, run_steps
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.s5rf.artifact import FxpNetwork


def _value_bound(net: FxpNetwork, source: int) -> int:
    """Largest magnitude a source sends: 1 for spikes (the largest count for multi-bit outputs), the largest
    input payload for graded inputs, the shifted state range for graded stages."""
    if source == INPUT:
        return net.input_encoding.payload_max
    if net.stages[source].spike != "graded":
        return net.stages[source].levels
    payload_max = (1 << (net.profile.spikes["payload_bits"] - 1)) - 1
    return min(payload_max, net.profile.state_max >> net.stages[source].payload_shift)


def sent_parts(net: FxpNetwork) -> dict[tuple[int, str], int]:
    """What each source sends, (source, part) -> width: spikes, or a graded stage's re/im payloads."""
    keys = {(INPUT, "spikes"): net.input_dim}
    for k, st in enumerate(net.stages):
        keys |= {(k, part): st.size for part in (("re", "im") if st.spike == "graded" else ("spikes",))}
    return keys


class Stepper(BatchedStepper):
    """Runs an :class:`FxpNetwork` on batches of binary spike trains (or analog inputs sent as graded payloads);
    multi-bit stages send their counts.

    States are exact integers held in float64 (below 2**24, products below 2**40) and updated in place by
    :class:`~s5rf_deploy.fixed.arithmetic.RFUpdate`, the exact float64 form of ``rf_update``, which writes
    the stage's spikes (or graded payloads) straight into the delay lines; the readout is updated in place by
    :class:`~s5rf_deploy.fixed.arithmetic.LavaLIFStep`.  At a fixed batch size no step allocates an array.
    ``device``: ``cpu`` (numpy and compiled kernels, as above), or ``cuda``, ``cuda:N``, ``torch-cpu`` for the
    same integers from the torch forms of that arithmetic on that device (:mod:`s5rf_deploy.fixed.device`)."""

    def __init__(self, net: FxpNetwork, device: str = "cpu") -> None:
        self.net = net
        self.input_dim = net.input_dim
        self.input_encoding = net.input_encoding
        self.kernels = kn = kernels_for(device)

        def bound(source: int) -> int:
            return _value_bound(net, source)

        ports = [Port(st.inputs, 2 * st.size, bound) for st in net.stages]
        ports.append(Port(net.readout.inputs, net.num_classes, bound))
        self.ports = [kn.port(port) for port in ports]
        self.history_length = history_length([s for st in net.stages for s in st.inputs] + list(net.readout.inputs))
        prof = net.profile
        self.updates = [kn.rf_update(st.decay_re, st.decay_im, st.input_shift, prof.decay["bits"],
                                     prof.decay["rounding"], prof.state_max,
                                     fx.Sends(st.spike, st.threshold, st.levels, st.payload_shift,
                                              prof.spikes["payload_bits"])) for st in net.stages]
        self.readout = kn.readout(net.readout.du, 0, net.readout.vth_mantissa)

    def run_batch(self, u: np.ndarray, record: set[str]) -> FixedRun:
        net, kn = self.net, self.kernels
        n, steps, _ = u.shape
        u = kn.put(u)
        lines = kn.delay_lines(sent_parts(net), self.history_length, n, lambda source: _value_bound(net, source))
        re = [kn.zeros((n, st.size), np.float64) for st in net.stages]
        im = [kn.zeros((n, st.size), np.float64) for st in net.stages]
        sat = [0] * (len(net.stages) + 1)
        lif_u, lif_v = kn.zeros((n, net.num_classes), np.int64), kn.zeros((n, net.num_classes), np.int64)
        spikes = [kn.zeros((n, steps, net.stages[s].size), np.uint8) for s in net.layer_stages] \
            if "spikes" in record else None
        states = [kn.zeros((n, steps, net.stages[s].size, 2), np.int64) for s in net.state_stages] \
            if "states" in record else None
        zeros_in = kn.zeros((n, net.input_dim), np.float32)
        plan = [(k, self.updates[k], net.depth(k),
                 [(k, "re"), (k, "im")] if st.spike == "graded" else [(k, "spikes")],
                 net.layer_stages.index(k) if spikes is not None and k in net.layer_stages else None,
                 net.state_stages.index(k) if states is not None and k in net.state_stages else None)
                for k, st in enumerate(net.stages)]

        def step(p: int, a: list) -> None:
            lines.send((INPUT, "spikes"), u[:, p] if p < steps else zeros_in)
            for k, update, depth, keys, layer, state in plan:
                outs = [lines.slot(key) for key in keys]
                sat[k] += update(re[k], im[k], a[k], *outs)
                for key, out in zip(keys, outs, strict=True):
                    lines.send(key, out)
                t = p - depth
                if 0 <= t < steps:
                    if layer is not None:
                        spikes[layer][:, t] = outs[0]
                    if state is not None:
                        states[state][:, t, :, 0] = re[k]
                        states[state][:, t, :, 1] = im[k]
            sat[-1] += self.readout(lif_u, lif_v, a[-1])

        with kn.running():
            run_steps(self.ports, lines, steps + net.latency, n, step)
        names = [f"stage{k}" for k in range(len(net.stages))] + ["readout"]
        return FixedRun(kn.get(lif_v), None if spikes is None else [kn.get(x) for x in spikes],
                        None if states is None else [kn.get(x) for x in states],
                        {name: int(count) for name, count in zip(names, sat, strict=True)})
