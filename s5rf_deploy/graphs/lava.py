"""Run a :class:`LifGraph` (a standard NIR graph) on Lava's own ``Dense``/``DelayDense`` and ``LIF`` processes.

Processes: a ``RingBuffer`` source for the input (one leading empty step) and
one for the bias lines, one ``LIF`` per stage (``bias_mant = 0``: constants
arrive through the bias lines), one ``Dense`` per synapse (``DelayDense`` where
a synapse has extra delay), and a ``RingBuffer`` sink per spiking stage.
Fixed point runs Lava's bit-accurate models, float the floating_pt ones.  In
fixed point each stage is a :class:`~s5rf_deploy.fixed.lava_lif.CountingLIF`
(Lava's LIF with a saturation counter): the run reports the stepper's
saturation counts, ``"{node}[{k}]"`` per stage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import s5rf_deploy  # noqa: F401  (installs the Lava compatibility hook first)
from s5rf_deploy.fixed.engine import FixedRun, check_spike_inputs
from s5rf_deploy.fixed.lava_runtime import run_samples
from s5rf_deploy.fixed.synapse import INPUT
from s5rf_deploy.graphs.artifact import BIAS, LifGraph
from s5rf_deploy.graphs.stepper import assemble, bias_schedule, input_schedule, readout_of


def process_count(net: LifGraph) -> int:
    """Lava processes the runner builds: sources, one LIF per stage, a sink per spiking stage, one Dense per
    synapse.  Each is an OS process on Lava's CPU backend (a fork of this one), so graphs whose nodes split
    into many stages (many distinct time constants) cost many processes."""
    return 1 + bool(net.bias_starts) + sum(1 + st.spiking + len(st.inputs) for st in net.stages)


class LavaGraphRunner:
    """The Lava process graph of one :class:`LifGraph` for sequences of ``steps`` steps."""

    def __init__(self, net: LifGraph, steps: int) -> None:
        from lava.proc.dense.process import DelayDense, Dense
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer
        from lava.proc.lif.process import LIF

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
        for st in net.stages:
            if fixed:  # a voltage stage's spike means its sum reached the top: counted like the stepper
                lif = CountingLIF(shape=(st.size,), du=int(st.du), dv=int(st.dv), vth=int(st.vth),
                                  count_spikes=not st.spiking)
            else:
                lif = LIF(shape=(st.size,), du=float(st.du), dv=float(st.dv), vth=float(st.vth))
            self.lifs.append(lif)
        self.sinks = {k: Sink(shape=(st.size,), buffer=self.total) for k, st in enumerate(net.stages) if st.spiking}
        for k, sink in self.sinks.items():
            self.lifs[k].s_out.connect(sink.a_in)
        self.synapses = []
        for k, st in enumerate(net.stages):
            for syn in st.inputs:
                weights = syn.weights if fixed else syn.weights.astype(np.float64)
                if syn.delay:
                    dense = DelayDense(weights=weights, delays=syn.delay, weight_exp=syn.weight_exp)
                else:
                    dense = Dense(weights=weights, weight_exp=syn.weight_exp)
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
        return ([var for lif in self.lifs for var in (lif.u, lif.v)] + [dense.a_buff for dense in self.synapses]
                + [var for _, var in self._counters()])

    def run(self, inputs: np.ndarray, record: bool = True, progress: Callable | None = None) -> FixedRun:
        """Run each sample of ``inputs`` (N, steps, H): readout, spikes per node when ``record``, and (fixed
        point) saturation counts summed over samples."""
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

        fixed = net.precision == "fixed"
        cfg = Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt",
                           exception_proc_model_map=counting_models(self.lifs) if fixed else None)
        self.stepping_seconds = run_samples(self.source, cfg, n, self.total, data, self._state(), collect, progress)
        readout = readout_of(net, spikes, v_final)
        recorded = {node: assemble(net, spikes, node) for node in net.spiking_nodes()} if record else None
        return FixedRun(readout, recorded, None, saturation)
