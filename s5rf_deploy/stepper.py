"""The bit-accurate fixed-point reference stepper (batched, streaming over time).

It runs a :class:`FxpNetwork` with exactly the integer semantics of the Lava
fixed-point run: the compartment arithmetic comes from
:mod:`s5rf_deploy.fixed_point`, and the timing is Lava's (each synapse hop
delivers one step later; see :mod:`s5rf_deploy.fxp_network`).  After the
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

from s5rf_deploy import fixed_point as fx
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fxp_network import INPUT, FxpNetwork, Synapse

LAVA_ACCUMULATOR_LIMIT = 2**31  # Lava's Dense accumulates in int32


@dataclass
class StepperResult:
    """Integer outputs of a stepper run, traces aligned to float time steps."""

    readout: np.ndarray  # int64 (N, C): final readout accumulators (LIF v)
    spikes: list[np.ndarray] | None  # per float RF layer, uint8 (N, T, P)
    states: list[np.ndarray] | None  # per float RF layer, int64 (N, T, P, 2): re, im
    saturation: dict[str, int]  # saturated updates per stage, readout overflows

    @property
    def predictions(self) -> np.ndarray:
        return self.readout.argmax(-1)


def _value_bound(net: FxpNetwork, syn: Synapse) -> int:
    """Largest magnitude a source sends: 1 for spikes, the shifted state range for graded payloads."""
    if syn.source == INPUT or net.stages[syn.source].spike != "graded":
        return 1
    payload_max = (1 << (net.profile.spikes["payload_bits"] - 1)) - 1
    return min(payload_max, net.profile.state_max >> net.stages[syn.source].payload_shift)


class _Link:
    """A synapse in flight: its matmul precision and its delay line."""

    def __init__(self, net: FxpNetwork, syn: Synapse) -> None:
        self.syn = syn
        bound = int(np.abs(syn.weights).sum(axis=1).max(initial=0)) * _value_bound(net, syn)
        if bound >= LAVA_ACCUMULATOR_LIMIT:
            raise S5RFError(f"synapse from stage {syn.source}: accumulations up to {bound} overflow Lava's "
                            f"32-bit accumulator; quantize with smaller weights or payloads")
        self.dtype = np.float32 if bound < 2**24 else np.float64
        self.w_t = syn.weights.T.astype(self.dtype)
        self.line: deque[np.ndarray] = deque()

    def reset(self, n: int) -> None:
        zeros = np.zeros((n, self.syn.weights.shape[0]), np.int64)
        self.line = deque([zeros] * (self.syn.delay + 1))

    def push(self, source: np.ndarray) -> None:
        acc = (source.astype(self.dtype) @ self.w_t).astype(np.int64)
        self.line.append(fx.dense_output(acc, self.syn.weight_exp))

    def pop(self) -> np.ndarray:
        return self.line.popleft()


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
        self.stage_links = [([_Link(net, s) for s in st.inputs_re], [_Link(net, s) for s in st.inputs_im])
                            for st in net.stages]
        self.readout_links = [_Link(net, s) for s in net.readout.inputs]
        self.limit = net.profile.state_max
        self.decay_bits = net.profile.decay["bits"]
        self.rounding = net.profile.decay["rounding"]

    def _all_links(self) -> Iterable[_Link]:
        for re_links, im_links in self.stage_links:
            yield from re_links
            yield from im_links
        yield from self.readout_links

    def run(self, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 256,
            progress: Callable | None = None) -> StepperResult:
        """Run ``inputs`` (N, T, H) of 0/1 spikes; ``record`` may hold "spikes" and "states"."""
        inputs = check_spike_inputs(np.asarray(inputs), self.net.input_dim)
        record = set(record)
        parts: list[StepperResult] = []
        starts = range(0, inputs.shape[0], batch_size)
        for start in progress(starts) if progress else starts:
            parts.append(self._run_batch(inputs[start:start + batch_size], record))
        sat: dict[str, int] = {}
        for p in parts:
            for k, v in p.saturation.items():
                sat[k] = sat.get(k, 0) + v

        def cat(field: str):
            if getattr(parts[0], field) is None:
                return None
            return [np.concatenate([getattr(p, field)[i] for p in parts]) for i in range(len(getattr(parts[0], field)))]

        return StepperResult(np.concatenate([p.readout for p in parts]), cat("spikes"), cat("states"), sat)

    def _run_batch(self, u: np.ndarray, record: set[str]) -> StepperResult:
        net = self.net
        n, steps, _ = u.shape
        for link in self._all_links():
            link.reset(n)
        re = [np.zeros((n, st.size), np.int64) for st in net.stages]
        im = [np.zeros((n, st.size), np.int64) for st in net.stages]
        sat = {f"stage{k}": 0 for k in range(len(net.stages))}
        sat["readout"] = 0
        classes = net.num_classes
        lif_u = np.zeros((n, classes), np.int64)
        lif_v = np.zeros((n, classes), np.int64)
        spikes = [np.zeros((n, steps, net.stages[s].size), np.uint8) for s in net.layer_stages] \
            if "spikes" in record else None
        states = [np.zeros((n, steps, net.stages[s].size, 2), np.int64) for s in net.state_stages] \
            if "states" in record else None
        zeros_in = np.zeros((n, net.input_dim), np.float32)
        for step in range(steps + net.latency):
            outputs: dict[tuple[int, str], np.ndarray] = {(INPUT, "spikes"): u[:, step] if step < steps else zeros_in}
            for k, st in enumerate(net.stages):
                re_links, im_links = self.stage_links[k]
                in_re = sum((lk.pop() for lk in re_links), np.zeros((n, st.size), np.int64))
                in_im = sum((lk.pop() for lk in im_links), np.zeros((n, st.size), np.int64))
                re[k], im[k], saturated = fx.rf_update(re[k], im[k], st.decay_re, st.decay_im, in_re, in_im,
                                                       st.input_shift, self.decay_bits, self.rounding, self.limit)
                sat[f"stage{k}"] += int(saturated.sum())
                if st.spike == "graded":
                    payload_bits = net.profile.spikes["payload_bits"]
                    outputs[(k, "re")] = fx.graded_payload(re[k], st.payload_shift, payload_bits)[0]
                    outputs[(k, "im")] = fx.graded_payload(im[k], st.payload_shift, payload_bits)[0]
                else:
                    outputs[(k, "spikes")] = fx.rf_spikes(re[k], im[k], st.threshold, st.spike)
                t = step - net.depth(k)
                if 0 <= t < steps:
                    if spikes is not None and k in net.layer_stages:
                        spikes[net.layer_stages.index(k)][:, t] = outputs[(k, "spikes")]
                    if states is not None and k in net.state_stages:
                        i = net.state_stages.index(k)
                        states[i][:, t, :, 0] = re[k]
                        states[i][:, t, :, 1] = im[k]
            a_in = sum((lk.pop() for lk in self.readout_links), np.zeros((n, classes), np.int64))
            lif_u, lif_v, overflow = fx.lif_update(lif_u, lif_v, a_in, net.readout.du, 0)
            fired = fx.lif_spikes(lif_v, net.readout.vth_mantissa)
            lif_v = np.where(fired, 0, lif_v)
            sat["readout"] += int(overflow.sum() + fired.sum())
            for k in range(len(net.stages)):
                re_links, im_links = self.stage_links[k]
                for lk in re_links + im_links:
                    lk.push(outputs[(lk.syn.source, lk.syn.part)])
            for lk in self.readout_links:
                lk.push(outputs[(lk.syn.source, lk.syn.part)])
        return StepperResult(lif_v, spikes, states, sat)
