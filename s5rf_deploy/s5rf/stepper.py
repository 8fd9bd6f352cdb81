"""The bit-accurate fixed-point reference stepper (batched, streaming over time).

It runs a :class:`FxpNetwork` with exactly the integer semantics of the Lava
fixed-point run: the compartment arithmetic comes from
:mod:`s5rf_deploy.fixed.arithmetic`, and the timing is Lava's (each synapse hop
delivers one step later; see :mod:`s5rf_deploy.s5rf.artifact`).  After the
input's T steps it runs ``latency`` more with zero input so that the readout
has summed the same terms as the float model.

Synaptic sums use floating-point BLAS where that is exact: every product and
partial sum is an integer of magnitude at most ``sum_j |W_ij| * max|s_j|``,
and all integers below 2**24 (float32) or 2**53 (float64) are represented
exactly, so the result does not depend on summation order.  The bound is
computed per synapse when the stepper is built; past 2**53 it falls back to
integer matrix products.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.s5rf.artifact import INPUT, FxpNetwork, Synapse

LAVA_ACCUMULATOR_LIMIT = 2**31  # Lava's Dense accumulates in int32


@dataclass
class StepperResult:
    """Integer outputs of a stepper run, traces aligned to float time steps."""

    readout: np.ndarray  # int64 (N, C): final readout accumulators (LIF v)
    spikes: list[np.ndarray] | None  # per float RF layer, uint8 (N, T, P)
    states: list[np.ndarray] | None  # per float RF layer, int64 (N, T, P, 2): re, im
    saturation: dict[str, int]  # saturated updates per stage, readout overflows (stepper runs only)

    @property
    def predictions(self) -> np.ndarray:
        return self.readout.argmax(-1)


def _value_bound(net: FxpNetwork, source: int) -> int:
    """Largest magnitude a source sends: 1 for spikes, the shifted state range for graded payloads."""
    if source == INPUT or net.stages[source].spike != "graded":
        return 1
    payload_max = (1 << (net.profile.spikes["payload_bits"] - 1)) - 1
    return min(payload_max, net.profile.state_max >> net.stages[source].payload_shift)


class Port:
    """All synapses into one population, evaluated with as few exact matrix products as possible.

    Lava runs one ``Dense`` per synapse, each with its own floor shift.  For
    synapses with ``weight_exp >= 0`` the shift is exact, so synapses that share
    weights, exponent and source part are evaluated once on the sum of their
    (delayed) source values.  Synapses with a negative exponent read their own
    source.  Blocks that read the same input share one matrix product, split
    by columns before shifting, so every block keeps its own accumulator.
    """

    def __init__(self, synapses: Iterable[Synapse], size: int, value_bound: Callable[[int], int]) -> None:
        synapses = list(synapses)
        for syn in synapses:
            bound = int(np.abs(syn.weights).sum(axis=1).max(initial=0)) * value_bound(syn.source)
            if bound >= LAVA_ACCUMULATOR_LIMIT:
                raise S5RFError(f"synapse from stage {syn.source}: accumulations up to {bound} overflow Lava's "
                                f"32-bit accumulator; quantize with smaller weights or payloads")
        self.size = size
        merged: dict[tuple, list[Synapse]] = {}
        for syn in synapses:
            key = (syn.weight_exp, syn.part, syn.weights.tobytes()) if syn.weight_exp >= 0 else (id(syn),)
            merged.setdefault(key, []).append(syn)
        feeds: dict[tuple, list[Synapse]] = {}
        for members in merged.values():
            feed = (tuple(sorted((m.source, m.delay) for m in members)), members[0].part)
            feeds.setdefault(feed, []).append(members[0])
        self.products = []
        for (feed, part), blocks in feeds.items():
            stacked = np.concatenate([b.weights for b in blocks])
            bound = int(np.abs(stacked).sum(axis=1).max()) * sum(value_bound(src) for src, _ in feed)
            dtype = np.float32 if bound < 2**24 else np.float64 if bound < 2**53 else np.int64
            self.products.append((feed, part, stacked.T.astype(dtype), [b.weight_exp for b in blocks]))

    def inputs(self, history: dict, n: int) -> np.ndarray:
        """The summed synaptic input of the population at this step."""
        out = np.zeros((n, self.size), np.int64)
        for feed, part, w_t, exps in self.products:
            x = sum(history[(src, part)][-1 - delay] for src, delay in feed)
            acc = (x.astype(w_t.dtype) @ w_t).astype(np.int64)
            for j, exp in enumerate(exps):
                out += fx.dense_output(acc[:, j * self.size:(j + 1) * self.size], exp)
        return out


def check_spike_inputs(inputs: np.ndarray, width: int) -> np.ndarray:
    """Binary spike inputs as float32; raise on anything else."""
    if inputs.ndim != 3 or inputs.shape[2] != width:
        raise S5RFError(f"inputs must have shape (N, T, {width}), got {inputs.shape}")
    bad = (inputs != 0) & (inputs != 1)
    if np.any(bad):
        raise S5RFError(f"fixed-point backends take binary spike inputs (0/1); found {inputs[bad].flat[0]!r}")
    return inputs.astype(np.float32)


class Stepper:
    """Runs an :class:`FxpNetwork` on batches of binary spike trains."""

    def __init__(self, net: FxpNetwork) -> None:
        self.net = net
        def bound(source: int) -> int:
            return _value_bound(net, source)

        self.ports = [Port(st.inputs, 2 * st.size, bound) for st in net.stages]
        self.readout_port = Port(net.readout.inputs, net.num_classes, bound)
        synapses = [syn for st in net.stages for syn in st.inputs] + list(net.readout.inputs)
        self.history_length = max(syn.delay for syn in synapses) + 1
        self.limit = net.profile.state_max
        self.decay_bits = net.profile.decay["bits"]
        self.rounding = net.profile.decay["rounding"]

    def run(self, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 256,
            progress: Callable | None = None) -> StepperResult:
        """Run ``inputs`` (N, T, H) of 0/1 spikes; ``record`` may hold "spikes" and "states"."""
        inputs = check_spike_inputs(np.asarray(inputs), self.net.input_dim)
        record = set(record)
        parts: list[StepperResult] = []
        starts = range(0, inputs.shape[0], batch_size)
        for start in progress(starts) if progress else starts:
            parts.append(self._run_batch(inputs[start:start + batch_size], record))
        sat = {k: sum(p.saturation[k] for p in parts) for k in parts[0].saturation}

        def cat(name: str) -> list[np.ndarray] | None:
            traces = [getattr(p, name) for p in parts]
            return None if traces[0] is None else [np.concatenate(t) for t in zip(*traces, strict=True)]

        return StepperResult(np.concatenate([p.readout for p in parts]), cat("spikes"), cat("states"), sat)

    def _run_batch(self, u: np.ndarray, record: set[str]) -> StepperResult:
        net = self.net
        n, steps, _ = u.shape
        keys = [(INPUT, "spikes")] + [(k, part) for k, st in enumerate(net.stages)
                                      for part in (("re", "im") if st.spike == "graded" else ("spikes",))]
        width = {INPUT: net.input_dim} | {k: st.size for k, st in enumerate(net.stages)}
        history = {key: deque([np.zeros((n, width[key[0]]), np.float32)] * self.history_length,
                              maxlen=self.history_length) for key in keys}
        re = [np.zeros((n, st.size), np.int64) for st in net.stages]
        im = [np.zeros((n, st.size), np.int64) for st in net.stages]
        sat = {f"stage{k}": 0 for k in range(len(net.stages))} | {"readout": 0}
        lif_u = np.zeros((n, net.num_classes), np.int64)
        lif_v = np.zeros((n, net.num_classes), np.int64)
        spikes = [np.zeros((n, steps, net.stages[s].size), np.uint8) for s in net.layer_stages] \
            if "spikes" in record else None
        states = [np.zeros((n, steps, net.stages[s].size, 2), np.int64) for s in net.state_stages] \
            if "states" in record else None
        zeros_in = np.zeros((n, net.input_dim), np.float32)
        payload_bits = net.profile.spikes["payload_bits"]
        for step in range(steps + net.latency):
            # every population reads what its synapses computed from earlier steps ...
            stage_inputs = [port.inputs(history, n) for port in self.ports]
            a_in = self.readout_port.inputs(history, n)
            # ... then updates, and its output joins the history for later steps
            history[(INPUT, "spikes")].append(u[:, step] if step < steps else zeros_in)
            for k, st in enumerate(net.stages):
                a = stage_inputs[k]
                re[k], im[k], saturated = fx.rf_update(re[k], im[k], st.decay_re, st.decay_im, a[:, :st.size],
                                                       a[:, st.size:], st.input_shift, self.decay_bits, self.rounding,
                                                       self.limit)
                sat[f"stage{k}"] += int(saturated.sum())
                if st.spike == "graded":
                    history[(k, "re")].append(fx.graded_payload(re[k], st.payload_shift, payload_bits)[0])
                    history[(k, "im")].append(fx.graded_payload(im[k], st.payload_shift, payload_bits)[0])
                else:
                    history[(k, "spikes")].append(fx.rf_spikes(re[k], im[k], st.threshold, st.spike))
                t = step - net.depth(k)
                if 0 <= t < steps:
                    if spikes is not None and k in net.layer_stages:
                        spikes[net.layer_stages.index(k)][:, t] = history[(k, "spikes")][-1]
                    if states is not None and k in net.state_stages:
                        states[net.state_stages.index(k)][:, t] = np.stack([re[k], im[k]], -1)
            lif_u, lif_v, fired, overflow = fx.lif_step(lif_u, lif_v, a_in, net.readout.du, 0,
                                                        net.readout.vth_mantissa)
            sat["readout"] += int(overflow.sum() + fired.sum())
        return StepperResult(lif_v, spikes, states, sat)
