"""Run a :class:`LifGraph` (a standard NIR graph) on Lava's own ``Dense``/``DelayDense`` and ``LIF`` processes.

Processes: a ``RingBuffer`` source for the input (one leading empty step) and
one for the bias lines, one :class:`~s5rf_deploy.fixed.lava_lif.CountingLIF`
per stage (Lava's ``LIF`` with the stage's spike rule and a saturation counter;
``bias_mant = 0``: constants arrive through the bias lines), one ``Dense`` per
synapse (``DelayDense`` where a synapse has extra delay; graded, with an 8-bit
payload, from a multi-spike stage), and a ``RingBuffer`` sink per spiking stage.
Fixed point runs the bit-accurate models, float the float ones; fixed-point runs
report the stepper's saturation counts, ``"{node}[{k}]"`` per stage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import s5rf_deploy  # noqa: F401  (installs the Lava compatibility hook first)
from s5rf_deploy.fixed.engine import FixedRun
from s5rf_deploy.fixed.inputs import check_spike_inputs
from s5rf_deploy.fixed.lava_runtime import run_samples
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.graphs.artifact import BIAS, LifGraph
from s5rf_deploy.graphs.stepper import assemble, bias_schedule, input_schedule, readout_of

COUNT_BITS = 8  # graded payload of a multi-spike stage's synapses (graphs/artifact.py MAX_SPIKES)


def process_count(net: LifGraph, states: bool = False) -> int:
    """Lava processes the runner builds: sources, one LIF per stage, a sink per spiking stage (and two per
    stage recording ``states``), one Dense per synapse.  Each is an OS process on Lava's CPU backend (a fork
    of this one), so graphs whose nodes split into many stages (many distinct time constants) cost many
    processes."""
    return 1 + bool(net.bias_starts) + sum(1 + st.spiking + 2 * states + len(st.inputs) for st in net.stages)


class LavaGraphRunner:
    """The Lava process graph of one :class:`LifGraph` for sequences of ``steps`` steps; with ``states``, sinks
    that record every stage's ``u`` and ``v`` too."""

    def __init__(self, net: LifGraph, steps: int, states: bool = False) -> None:
        from lava.proc.dense.process import DelayDense, Dense
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer

        from s5rf_deploy.fixed.lava_lif import CountingLIF

        self.net, self.steps = net, steps
        self.total = steps + net.latency
        fixed = net.precision == "fixed"
        self.dtype = np.int32 if fixed else np.float64
        width = max(net.input_dim, 1)
        self.source = RingBuffer(data=np.zeros((width, self.total), self.dtype))
        lines = len(net.bias_starts)
        self.bias = RingBuffer(data=bias_schedule(net, self.total).T.astype(self.dtype)) if lines else None
        self.lifs = []
        number = int if fixed else float
        for st in net.stages:  # fixed point: a voltage stage's spike means its sum reached the top (counted)
            self.lifs.append(CountingLIF(shape=(st.size,), du=number(st.du), dv=number(st.dv), vth=number(st.vth),
                                         count_spikes=not st.spiking, rule=st.rule))
        self.sinks = {k: Sink(shape=(st.size,), buffer=self.total) for k, st in enumerate(net.stages) if st.spiking}
        for k, sink in self.sinks.items():
            self.lifs[k].s_out.connect(sink.a_in)
        self.state_sinks = []
        if states:
            for st, lif in zip(net.stages, self.lifs, strict=True):
                pair = (Sink(shape=(st.size,), buffer=self.total), Sink(shape=(st.size,), buffer=self.total))
                lif.u_out.connect(pair[0].a_in)
                lif.v_out.connect(pair[1].a_in)
                self.state_sinks.append(pair)
        self.synapses = []
        for k, st in enumerate(net.stages):
            for syn in st.inputs:
                weights = syn.weights if fixed else syn.weights.astype(np.float64)
                multi = syn.source >= 0 and net.stages[syn.source].max_spikes > 1
                graded = {"num_message_bits": COUNT_BITS} if multi else {}
                if syn.delay:
                    dense = DelayDense(weights=weights, delays=syn.delay, weight_exp=syn.weight_exp, **graded)
                else:
                    dense = Dense(weights=weights, weight_exp=syn.weight_exp, **graded)
                port = {INPUT: self.source.s_out, BIAS: self.bias.s_out if self.bias else None}.get(syn.source)
                (port or self.lifs[syn.source].s_out).connect(dense.s_in)
                dense.a_out.connect(self.lifs[k].a_in)
                self.synapses.append(dense)

    def _counters(self) -> list[tuple[str, object]]:
        """(stepper's name, Lava ``Var``) of every saturation counter of a fixed-point run."""
        if self.net.precision != "fixed":
            return []
        return [(f"{st.node}[{k}]", self.lifs[k].saturated) for k, st in enumerate(self.net.stages)]

    def _state(self) -> list:
        """Every Lava ``Var`` that holds state between steps, and the counters (zeroed between samples)."""
        return ([var for lif in self.lifs for var in (lif.u, lif.v, lif.last)]
                + [dense.a_buff for dense in self.synapses] + [var for _, var in self._counters()])

    def run(self, inputs: np.ndarray, record: bool = True, progress: Callable | None = None) -> FixedRun:
        """Run each sample of ``inputs`` (N, steps, H): readout, spikes per node when ``record``, states (``u``
        and ``v`` on the last axis, as the stepper's) per node when the runner was built with ``states``, and
        (fixed point) saturation counts summed over samples."""
        from lava.magma.core.run_configs import Loihi2SimCfg

        from s5rf_deploy.fixed.lava_lif import counting_models

        net = self.net
        inputs = check_spike_inputs(np.asarray(inputs), net.input_dim)
        if inputs.shape[1] != self.steps:
            raise ValueError(f"this graph runs {self.steps} steps, inputs have {inputs.shape[1]}")
        n = inputs.shape[0]
        kind = np.int64 if net.precision == "fixed" else np.float64
        spikes = [np.zeros((n, self.steps, st.size), np.uint8) for st in net.stages]
        v_final = [np.zeros((n, st.size), kind) for st in net.stages]
        states = [np.zeros((n, self.steps, st.size, 2), kind) for st in net.stages] if self.state_sinks else None
        sent = input_schedule(inputs, self.total)
        counters = self._counters()
        saturation = dict.fromkeys((name for name, _ in counters), 0)

        def data(i: int) -> np.ndarray:
            values = np.zeros(self.source.data.shape, self.dtype)
            values[:net.input_dim] = sent[i].T
            return values

        def collect(i: int) -> None:
            for k, lif in enumerate(self.lifs):
                v_final[k][i] = lif.v.get()
            for k, sink in self.sinks.items():
                st = net.stages[k]
                spikes[k][i] = sink.data.get()[:, st.offset:st.offset + self.steps].T
            for name, var in counters:
                saturation[name] += int(var.get()[0])
            for k, pair in enumerate(self.state_sinks):
                window = slice(net.stages[k].offset, net.stages[k].offset + self.steps)
                states[k][i] = np.stack([sink.data.get()[:, window].T for sink in pair], -1)

        fixed = net.precision == "fixed"
        cfg = Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt",
                           exception_proc_model_map=counting_models(self.lifs, fixed))
        self.stepping_seconds = run_samples(self.source, cfg, n, self.total, data, self._state(), collect, progress)
        readout = readout_of(net, spikes, v_final)
        recorded = {node: assemble(net, spikes, node) for node in net.spiking_nodes()} if record else None
        named_states = {node: assemble(net, states, node) for node in net.node_sizes} if states else None
        return FixedRun(readout, recorded, named_states, saturation)
