"""Build and run a pipelined network on Lava's CPU backend (``Loihi2SimCfg``), fixed or float.

Processes: a ``RingBuffer`` for the input spikes (or graded payloads of analog inputs), one
:class:`~s5rf_deploy.s5rf.lava_procs.synapses.SynapseGroup` per population (all its
synapses, each with the arithmetic of Lava's ``Dense``; skip connections that
need extra delay read a compartment's delayed spike port), our
:class:`~s5rf_deploy.s5rf.lava_procs.rf.RFCompartment` per stage, and Lava ``LIF``
processes whose current is the readout's leaky integrator and whose voltage
sums it (one LIF per distinct leak: Lava's ``du`` is one value per process;
in fixed point :class:`~s5rf_deploy.fixed.lava_lif.CountingLIF`, Lava's LIF with
a saturation counter).  Fixed-point runs report the stepper's saturation counts.
Samples run back to back with every state and counter reset in between.  Lava's
processes ignore SIGINT; on an error or Ctrl-C this process ends them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import s5rf_deploy  # noqa: F401  (installs the Lava compatibility hook first)
from s5rf_deploy.fixed.engine import FixedRun
from s5rf_deploy.fixed.lava_runtime import run_samples
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.s5rf.artifact import FxpNetwork

log = logging.getLogger(__name__)


@dataclass
class _Graph:
    source: object
    stages: list
    lifs: list  # (class indices, LIF process): one LIF per distinct readout du
    synapses: list


def _synapse_groups(synapses: list[Synapse], rows: np.ndarray | slice, port_of: Callable,
                    target, graded: Callable[[int], bool]) -> list:
    """:class:`SynapseGroup` processes for ``synapses`` (their ``rows``) into ``target``'s ``a_in``, one per
    ``MAX_SOURCES`` distinct source ports; a delayed synapse reads block ``delay - 1`` of its source's
    ``s_delayed`` port.  A group is binary when all its sources send 0/1 spikes (``graded(source)``: the source's
    "spikes" are graded payloads, e.g. analog inputs or multi-bit counts)."""
    from s5rf_deploy.s5rf.lava_procs.synapses import MAX_SOURCES, SynapseGroup

    by_port: dict[tuple, list[Synapse]] = {}
    for syn in synapses:
        by_port.setdefault((syn.source, syn.part, bool(syn.delay)), []).append(syn)
    keys = list(by_port)
    groups = []
    for start in range(0, len(keys), MAX_SOURCES):
        chunk = keys[start:start + MAX_SOURCES]
        ports = [port_of(by_port[key][0]) for key in chunk]
        blocks = [(i, (syn.delay - 1) * syn.weights.shape[1] if syn.delay else 0, syn.weights[rows], syn.weight_exp)
                  for i, key in enumerate(chunk) for syn in by_port[key]]
        group = SynapseGroup(rows=blocks[0][2].shape[0], widths=[port.shape[0] for port in ports], blocks=blocks,
                             binary=all(key[1] == "spikes" and not graded(key[0]) for key in chunk))
        for i, port in enumerate(ports):
            port.connect(getattr(group, f"s_in{i}"))
        group.a_out.connect(target.a_in)
        groups.append(group)
    return groups


class LavaRunner:
    """A Lava process graph of one pipeline for sequences of ``steps`` steps.

    A quantized :class:`FxpNetwork` runs on the bit-accurate models; a float layout
    (:func:`s5rf_deploy.s5rf.layout.float_pipeline`, no profile) on the floating_pt
    models (readout LIF ``vth`` at the float maximum: it never fires; no saturation counts).
    """

    def __init__(self, net: FxpNetwork, steps: int) -> None:
        from lava.proc.io.source import RingBuffer
        from lava.proc.lif.process import LIF

        from s5rf_deploy.fixed.lava_lif import CountingLIF
        from s5rf_deploy.s5rf.lava_procs.rf import RFCompartment

        self.net, self.steps, self.precision = net, steps, net.precision
        self.stepping_seconds = 0.0  # time spent inside Lava's run() (excludes compile, resets, reads)
        self.total = steps + net.latency
        fixed = self.precision == "fixed"
        self.data_dtype = np.int32 if fixed else np.float64
        prof = net.profile
        source = RingBuffer(data=np.zeros((net.input_dim, self.total), self.data_dtype))
        synapse_list = [s for st in net.stages for s in st.inputs] + list(net.readout.inputs)
        delays = {k: max((s.delay for s in synapse_list if s.source == k), default=0) for k in range(len(net.stages))}

        def integer_args(st) -> dict:
            """The fixed-point parameters of a compartment (the float models need none)."""
            return {"input_shift": st.input_shift, "decay_bits": prof.decay["bits"], "rounding": prof.decay["rounding"],
                    "limit": prof.state_max, "payload_shift": st.payload_shift,
                    "payload_bits": prof.spikes["payload_bits"]} if fixed else {}

        stages = [RFCompartment(decay_re=st.decay_re, decay_im=st.decay_im, threshold=st.threshold, spike=st.spike,
                                levels=st.levels, record_steps=self.total, delays=delays[k], name=f"stage{k}",
                                **integer_args(st))
                  for k, st in enumerate(net.stages)]

        def out_port(syn: Synapse):
            if syn.source == INPUT:
                return source.s_out
            if syn.delay:
                return stages[syn.source].s_delayed
            return {"spikes": stages[syn.source].s_out, "re": stages[syn.source].g_re,
                    "im": stages[syn.source].g_im}[syn.part]

        synapses = []
        def graded(src: int) -> bool:
            return net.input_encoding.graded if src == INPUT else net.stages[src].levels > 1

        for k, st in enumerate(net.stages):
            synapses += _synapse_groups(list(st.inputs), slice(None), out_port, stages[k], graded)
        groups: dict[float, list[int]] = {}
        for c, du in enumerate(net.readout.du):
            groups.setdefault(float(du), []).append(c)
        lifs = []
        for du, classes in groups.items():
            shape = (len(classes),)
            if fixed:
                lif = CountingLIF(shape=shape, du=int(du), dv=0, vth=net.readout.vth_mantissa, count_spikes=True)
            else:
                lif = LIF(shape=shape, du=du, dv=0.0, vth=np.finfo(float).max)
            synapses += _synapse_groups(list(net.readout.inputs), np.array(classes), out_port, lif, graded)
            lifs.append((classes, lif))
        self.graph = _Graph(source, stages, lifs, synapses)

    def _counters(self) -> list[tuple[str, object]]:
        """(stepper's name, Lava ``Var``) of every saturation counter of a fixed-point run (the readout LIFs
        share "readout"; they count overflows and spikes)."""
        if self.precision != "fixed":
            return []
        stages = [(f"stage{k}", st.saturated) for k, st in enumerate(self.graph.stages)]
        return stages + [("readout", lif.saturated) for _, lif in self.graph.lifs]

    def _state(self) -> list:
        """Every Lava ``Var`` that holds state between steps, and the counters (zeroed between samples)."""
        g = self.graph
        return ([var for st in g.stages for var in (st.re, st.im, st.history)]
                + [var for _, lif in g.lifs for var in (lif.u, lif.v)] + [dense.a_buff for dense in g.synapses]
                + [var for _, var in self._counters()])

    def run(self, inputs: np.ndarray, record: bool = True, progress: Callable | None = None) -> FixedRun:
        """Run each sample of ``inputs`` (N, steps, H); results aligned like the stepper's, saturation
        counts summed over samples (float arrays and no counts for a float run)."""
        from lava.magma.core.run_configs import Loihi2SimCfg

        from s5rf_deploy.fixed.lava_lif import counting_models

        inputs = self.net.input_encoding.encode(inputs, self.net.input_dim)
        if inputs.shape[1] != self.steps:
            raise ValueError(f"this graph runs {self.steps} steps, inputs have {inputs.shape[1]}")
        net, g = self.net, self.graph
        n = inputs.shape[0]
        fixed = self.precision == "fixed"
        kind = np.int64 if fixed else np.float64
        readout = np.zeros((n, net.num_classes), kind)
        spikes = [np.zeros((n, self.steps, net.stages[s].size), np.uint8) for s in net.layer_stages]
        states = [np.zeros((n, self.steps, net.stages[s].size, 2), kind) for s in net.state_stages]
        counters = self._counters()
        saturation = dict.fromkeys((name for name, _ in counters), 0)
        cfg = Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt",
                           exception_proc_model_map=counting_models(lif for _, lif in g.lifs) if fixed else None)

        def data(i: int) -> np.ndarray:
            sent = np.zeros((net.input_dim, self.total), self.data_dtype)
            sent[:, :self.steps] = inputs[i].T
            return sent

        def collect(i: int) -> None:
            for classes, lif in g.lifs:
                readout[i, classes] = lif.v.get()
            for name, var in counters:
                saturation[name] += int(var.get()[0])
            if record:
                for j, k in enumerate(net.layer_stages):
                    rows = slice(net.depth(k), net.depth(k) + self.steps)
                    spikes[j][i] = g.stages[k].trace_s.get()[rows]
                for j, k in enumerate(net.state_stages):
                    rows = slice(net.depth(k), net.depth(k) + self.steps)
                    states[j][i, :, :, 0] = g.stages[k].trace_re.get()[rows]
                    states[j][i, :, :, 1] = g.stages[k].trace_im.get()[rows]

        self.stepping_seconds += run_samples(g.source, cfg, n, self.total, data, self._state(), collect, progress)
        return FixedRun(readout, spikes if record else None, states if record else None, saturation)
