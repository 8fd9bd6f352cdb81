"""The bit-accurate stepper for :class:`LifGraph` networks (standard NIR graphs on Lava LIF + Dense).

Same contract as the S5-RF stepper: exactly the integers of the Lava
fixed-point run (Lava's ``LIF`` via :func:`~s5rf_deploy.fixed.arithmetic.lif_step`, ``Dense``
via :class:`~s5rf_deploy.fixed.engine.Port`), batched over samples.  The input
enters one step late (offset 1), bias lines switch on at their start steps,
and after the input's T steps the graph runs ``latency`` more so that every
stage has handled every exact step.  Traces are aligned to exact time.
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.device import kernels_for
from s5rf_deploy.fixed.engine import BatchedStepper, FixedRun, Port, history_length, run_steps
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.graphs.artifact import BIAS, SUM, VOLTAGE, LifGraph
from s5rf_deploy.graphs.layout import INPUT_OFFSET


def input_schedule(inputs: np.ndarray, total: int) -> np.ndarray:
    """What the input source sends at each pipeline step (N, total, H): the input, one step late."""
    n, steps, width = inputs.shape
    sent = np.zeros((n, total, width), inputs.dtype)
    sent[:, INPUT_OFFSET:INPUT_OFFSET + steps] = inputs
    return sent


def bias_schedule(net: LifGraph, total: int) -> np.ndarray:
    """What the bias source sends at each pipeline step (total, lines): line j from step ``start_j - 1`` on."""
    starts = np.asarray(net.bias_starts, np.int64)
    return (np.arange(total)[:, None] >= starts[None, :] - 1).astype(np.float32)


def assemble(net: LifGraph, per_stage: list[np.ndarray], node: str, role: str | None = None) -> np.ndarray:
    """A node's values from the arrays of its stages of ``role`` (neurons on the third axis); by default of all
    its stages, but only the VOLTAGE ones of a CubaLI output (its state; the SUM stages serve the readout)."""
    stages = net.node_stages(node, role) if role else net.node_stages(node, VOLTAGE) or net.node_stages(node)
    first = per_stage[stages[0]]
    shape = first.shape[:2] + (net.node_sizes[node],) + first.shape[3:]
    out = np.zeros(shape, first.dtype)
    for k in stages:
        out[:, :, net.stages[k].neurons] = per_stage[k]
    return out


def v_retention(net: LifGraph, dv: float) -> float:
    """The per-step retention of a stage's v: Lava's ``(4096 - dv - dm_offset) / 4096``, or ``1 - dv`` in float."""
    if net.precision != "fixed":
        return 1 - dv
    unity = 1 << fx.LIF_DECAY_BITS
    return (unity - fx.LIF_DM_OFFSET - dv) / unity


def readout_of(net: LifGraph, spikes: list[np.ndarray], v_final: list[np.ndarray]) -> np.ndarray:
    """The Output values: spike counts over the T aligned steps; the final v (the sum of u) of LI/I outputs;
    for CubaLI outputs the sum of the voltage over the T steps, ``(v_sum - a v_voltage) / (1 - a)`` from the
    final v of its SUM and VOLTAGE stages, with ``a`` the VOLTAGE stage's retention: the sum over
    ``v_k = a v_{k-1} + u_k`` from ``v_{-1} = 0`` (Lava's v update rounds ``a v_{k-1}`` toward zero, by less
    than one unit per step: the value is that of Lava's own voltages within ``T / (1 - a)`` units)."""
    per_stage = [(s.sum(axis=1) if st.spiking else v)[:, None] for st, s, v in
                 zip(net.stages, spikes, v_final, strict=True)]
    parts = []
    for node in net.outputs:
        values = assemble(net, per_stage, node)[:, 0]
        if net.node_stages(node, VOLTAGE):
            alpha = np.zeros(net.node_sizes[node])
            for k in net.node_stages(node, VOLTAGE):
                alpha[net.stages[k].neurons] = v_retention(net, net.stages[k].dv)
            values = (assemble(net, per_stage, node, SUM)[:, 0] - alpha * values) / (1 - alpha)
        parts.append(values)
    return np.concatenate(parts, axis=-1)


class GraphStepper(BatchedStepper):
    """Runs a fixed-point :class:`LifGraph` on batches of binary spike trains; ``device`` as the S5-RF
    :class:`~s5rf_deploy.s5rf.stepper.Stepper`'s (``cpu``, ``torch-cpu``, ``cuda``, ``cuda:N``)."""

    def __init__(self, net: LifGraph, device: str = "cpu") -> None:
        if net.precision != "fixed":
            raise ValueError("the stepper runs fixed-point graphs")
        self.net = net
        self.input_dim = net.input_dim
        self.kernels = kernels_for(device)
        self.ports = [self.kernels.port(Port(st.inputs, st.size, self._count_bound)) for st in net.stages]
        self.history_length = history_length(s for st in net.stages for s in st.inputs)

    def _count_bound(self, source: int) -> int:
        """The largest value a synapse source sends: a spike count of a multi-spike stage, else 1."""
        return self.net.stages[source].max_spikes if source >= 0 else 1

    def run_batch(self, u_in: np.ndarray, record: set[str]) -> FixedRun:
        net, kn = self.net, self.kernels
        n, steps, _ = u_in.shape
        total = steps + net.latency
        sent, bias = kn.put(input_schedule(u_in, total)), kn.put(bias_schedule(net, total))
        sources = [INPUT, BIAS, *range(len(net.stages))]
        lines = kn.delay_lines({(src, "spikes"): net.source_width(src) for src in sources}, self.history_length, n,
                               self._count_bound)
        u = [kn.zeros((n, st.size), np.int64) for st in net.stages]
        v = [kn.zeros((n, st.size), np.int64) for st in net.stages]
        spikes = [kn.zeros((n, steps, st.size), np.uint8) for st in net.stages]
        last: list = [None] * len(net.stages)
        states = [kn.zeros((n, steps, st.size, 2), np.int64) for st in net.stages] if "states" in record else None
        sat = {f"{st.node}[{k}]": 0 for k, st in enumerate(net.stages)}

        def step(p: int, a_in: list) -> None:
            lines.send((INPUT, "spikes"), sent[:, p])
            lines.send((BIAS, "spikes"), bias[p])
            for k, st in enumerate(net.stages):
                u[k], v[k], fired, overflow = kn.lif_step(u[k], v[k], a_in[k], int(st.du), int(st.dv), int(st.vth),
                                                          st.rule, last[k])
                last[k] = fired
                sat[f"{st.node}[{k}]"] += overflow.sum() + (0 if st.spiking else (fired != 0).sum())
                lines.send((k, "spikes"), fired * st.spiking)
                t = p - st.offset
                if 0 <= t < steps:
                    spikes[k][:, t] = fired if st.spiking else 0
                    if states is not None:
                        states[k][:, t, :, 0] = u[k]
                        states[k][:, t, :, 1] = v[k]

        with kn.running():
            run_steps(self.ports, lines, total, n, step)
        spikes, v = [kn.get(x) for x in spikes], [kn.get(x) for x in v]
        states = None if states is None else [kn.get(x) for x in states]
        readout = readout_of(net, spikes, v)
        rec_spikes = {node: assemble(net, spikes, node) for node in net.spiking_nodes()} if "spikes" in record else None
        rec_states = {node: assemble(net, states, node) for node in net.node_sizes} if states is not None else None
        return FixedRun(readout, rec_spikes, rec_states, {name: int(count) for name, count in sat.items()})
