"""The one batched time loop of the bit-accurate steppers, and what it is made of.

A fixed-point network is populations fed by synapses (:class:`Port` per
population) that read the delay lines of their sources (:class:`DelayLines`).
Each step every population first reads what its synapses computed from
earlier steps, then updates; its output joins the delay lines (Lava's timing:
every synapse hop delivers one step later).  A family supplies only its
compartment update (:func:`run_steps`); batching and merging are shared
(:class:`BatchedStepper`).

Synaptic sums use floating-point BLAS where that is exact: every product and
partial sum is an integer of magnitude at most ``sum_j |W_ij| * max|s_j|``,
and all integers below 2**24 (float32) or 2**53 (float64) are represented
exactly, so the result does not depend on summation order.  The bound is
computed per synapse when a port is built; past 2**53 it falls back to
integer matrix products.  For the same reason a sparse (event-driven) product
gives the same integers as a dense one, so each product picks the cheaper per
step.  Ports return exact integers in float32 or float64 (every synaptic input is
below 2**38), which the families' compartment updates take as they are.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numba import njit
from threadpoolctl import ThreadpoolController

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.halves import in_halves
from s5rf_deploy.fixed.inputs import BINARY_INPUT, InputEncoding
from s5rf_deploy.fixed.synapse import Synapse
from s5rf_deploy.progress import Progress, batches

Traces = list[np.ndarray] | dict[str, np.ndarray]


@dataclass
class FixedRun:
    """Integer outputs of a fixed-point run (float values for a float Lava run), traces aligned to float time."""

    readout: np.ndarray  # (N, C)
    spikes: Traces | None  # per layer (S5-RF) or node (graphs): uint8 (N, T, n)
    states: Traces | None  # per layer or node: (N, T, n, 2)
    saturation: dict[str, int]  # saturated or wrapped updates per population (stepper and Lava)

    @property
    def predictions(self) -> np.ndarray:
        return self.readout.argmax(-1)

    def named(self, kind: str) -> list[tuple[int | str, np.ndarray]]:
        """(layer index or node, trace) pairs of the recorded ``kind`` ("spikes" or "states"); none if unrecorded."""
        traces = getattr(self, kind)
        if traces is None:
            return []
        return list(traces.items()) if isinstance(traces, dict) else list(enumerate(traces))


class DelayLines:
    """The last ``length`` values each source sent, per (source, part), for ``n`` samples: ring buffers written
    in place (no per-step allocation), float32 where every value a source sends (``bound(source)`` at most) is
    exact in it, else float64, made by ``zeros(shape, dtype)`` (numpy arrays, or a device's tensors)."""

    def __init__(self, widths: dict[tuple[int, str], int], length: int, n: int,
                 bound: Callable[[int], int] = lambda source: 1, zeros: Callable[..., Any] = np.zeros) -> None:
        self.lines = {key: deque([zeros((n, w), np.float32 if bound(key[0]) < 2**24 else np.float64)
                                  for _ in range(length)], maxlen=length) for key, w in widths.items()}

    def slot(self, key: tuple[int, str]) -> np.ndarray:
        """The array that ``key``'s next value is written into: its oldest, which every synapse has read by the
        time sources send."""
        return self.lines[key][0]

    def send(self, key: tuple[int, str], value: np.ndarray) -> None:
        """Make ``value`` (written into :meth:`slot`, or copied there, broadcast and cast) ``key``'s latest value."""
        line = self.lines[key]
        if value is not line[0]:
            line[0][...] = value
        line.rotate(-1)

    def sent(self, key: tuple[int, str], delay: int = 0) -> np.ndarray:
        """What ``key`` sent ``delay`` steps before its latest value."""
        return self.lines[key][-1 - delay]


@njit(nogil=True, cache=True)
def _sum_active(x, out, w_t):
    """``out = x @ w_t``, event-driven: for each nonzero input, its weight row times the input (1 for a spike;
    exact integer products for graded values) added to its sample's row.  Source by source, so that a weight
    row is read once for all the samples in which it is active."""
    out[:] = 0
    for j in range(x.shape[1]):
        for s in range(x.shape[0]):
            if x[s, j] != 0:
                value = out.dtype.type(x[s, j])
                for c in range(w_t.shape[1]):
                    out[s, c] += value * w_t[j, c]
    return out


@njit(nogil=True, cache=True)
def _count_active(x):
    """``np.count_nonzero`` of a 2-d array, 5x faster (a vectorized int32 count per row)."""
    count = 0
    for s in range(x.shape[0]):
        row = 0
        for j in range(x.shape[1]):
            row += np.int32(x[s, j] != 0)
        count += row
    return count


_BLAS: list[ThreadpoolController] = []  # made on first use


def _dense_product(x: np.ndarray, w_t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """BLAS on each half with one thread: in a process that has imported torch (as this package does) numpy's
    threaded OpenBLAS ran 256 x 1024 x 2048 in 32 ms against 8-10 ms on one thread (4 ms without torch)."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    x = x.astype(w_t.dtype, copy=False)
    with _BLAS[0].limit(limits=1, user_api="blas"):
        in_halves(lambda part: np.matmul(x[part], w_t, out=out[part]), x.shape[0], out.size)
    return out


def _event_product(x: np.ndarray, w_t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The event-driven sum on each half (1.9-2.3x at 256 x 1024 -> 2048 and 5-15 % activity, idle machine)."""
    in_halves(lambda part: _sum_active(x[part], out[part], w_t), x.shape[0], out.size)
    return out


PRODUCTS = {"dense": _dense_product, "event": _event_product}


class ProductTimer:
    """Chooses, for one product, the cheaper of a dense BLAS product and the event-driven sum by timing both on
    the run's own steps, so that the choice follows the machine's load (threaded BLAS is the faster on an idle
    machine at batch 256 and a few percent of activity, and collapses on a busy one; docs/benchmarks.md).

    Cost models, updated from every timed call (the mean of the last estimate and the new one): dense, seconds
    per sample; event-driven, seconds per unit of work (inputs scanned plus weights added).  The method not
    chosen is timed again after ``interval`` calls; a probe that confirms the choice doubles the interval (up
    to ``max_interval``), one that overturns it sets it back to ``min_interval``."""

    min_interval, max_interval = 4, 256

    def __init__(self) -> None:
        self.cost = {"dense": 0.0, "event": 0.0}  # 0.0: not timed yet
        self.interval = self.min_interval
        self.since_probe = 0

    def _best(self, samples: int, work: int) -> str:
        return "event" if self.cost["event"] * work <= self.cost["dense"] * samples else "dense"

    def choose(self, samples: int, work: int) -> tuple[str, bool]:
        """The method for the next call and whether it is a probe of the one not chosen."""
        for method, cost in self.cost.items():
            if not cost:
                return method, False
        best = self._best(samples, work)
        self.since_probe += 1
        if self.since_probe < self.interval:
            return best, False
        self.since_probe = 0
        return ("dense" if best == "event" else "event"), True

    def record(self, method: str, seconds: float, samples: int, work: int, probe: bool) -> None:
        unit = seconds / (samples if method == "dense" else max(work, 1))
        self.cost[method] = (self.cost[method] + unit) / 2 if self.cost[method] else unit
        if probe:
            overturned = self._best(samples, work) == method
            self.interval = self.min_interval if overturned else min(2 * self.interval, self.max_interval)


class Port:
    """All synapses into one population, evaluated with as few exact matrix products as possible.

    Lava runs one ``Dense`` per synapse, each with its own floor shift.  For
    synapses with ``weight_exp >= 0`` the shift is exact, so synapses that share
    weights, exponent and source part are evaluated once on the sum of their
    (delayed) source values.  Synapses with a negative exponent read their own
    source.  Blocks that read the same input share one matrix product, split
    by columns before shifting, so every block keeps its own accumulator; the blocks
    of one input with non-negative exponents (a synapse's weight digits) fold into one
    (:func:`fold_digits`).

    Each product and step is a dense BLAS product or the event-driven accumulation of the weight rows of the
    active inputs (a compiled loop, cost proportional to the number of active inputs), whichever its
    :class:`ProductTimer` measures cheaper on this run (``method``: "auto"; "dense" or "event" force one).
    One sample always takes the event-driven sum (a threaded BLAS matrix-vector product costs milliseconds
    on a loaded machine, the sum of even all rows tens of microseconds; docs/benchmarks.md).  Both are exact
    in the product's dtype, so they give the same integers (tests/fixed/test_engine.py).
    """

    method = "auto"  # "auto" (timed per product), "dense" or "event"

    def __init__(self, synapses: Iterable[Synapse], size: int, value_bound: Callable[[int], int]) -> None:
        synapses = list(synapses)
        for syn in synapses:
            bound = int(np.abs(syn.weights).sum(axis=1).max(initial=0)) * value_bound(syn.source)
            if bound >= 1 << fx.ACCUMULATOR_BITS:
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
        self.buffers: dict[object, np.ndarray] = {}
        self.products = []
        for (feed, part), blocks in feeds.items():
            gain = sum(value_bound(src) for src, _ in feed)
            pieces = [(b.weights, b.weight_exp) for b in blocks]
            folded = fold_digits(pieces)
            if _exact_dtype(folded, gain) == _exact_dtype(pieces, gain):
                pieces = folded
            dtype = _exact_dtype(pieces, gain)
            keys = [((src, part), delay) for src, delay in feed]
            stacked = np.concatenate([w for w, _ in pieces])
            self.products.append((keys, np.ascontiguousarray(stacked.T.astype(dtype)), [e for _, e in pieces],
                                  ProductTimer()))

    def _buffer(self, name: object, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """A zeroed array kept for reuse at the next steps (made again when the batch size changes)."""
        buf = self.buffers.get(name)
        if buf is None or buf.shape != shape:
            buf = self.buffers[name] = np.zeros(shape, dtype)
        return buf

    def product(self, x: np.ndarray, w_t: np.ndarray, timer: ProductTimer, out: np.ndarray) -> np.ndarray:
        """``x @ w_t`` into ``out``, exactly: dense or event-driven (see the class)."""
        samples = x.shape[0]
        if samples == 1:
            return _event_product(x, w_t, out)
        if self.method != "auto":
            return PRODUCTS[self.method](x, w_t, out)
        work = x.size + _count_active(x) * w_t.shape[1]
        method, probe = timer.choose(samples, work)
        start = time.perf_counter()
        PRODUCTS[method](x, w_t, out)
        timer.record(method, time.perf_counter() - start, samples, work, probe)
        return out

    def inputs(self, lines: DelayLines, n: int) -> np.ndarray:
        """The summed synaptic input of the population at this step: exact integers, in the accumulator itself
        (float32 or float64, scaled in place: no further pass) when one product with one exponent feeds the
        population, else summed in float64.  Written into arrays the port keeps: valid until its next call."""
        terms = []
        for i, (keys, w_t, exps, timer) in enumerate(self.products):
            x = lines.sent(*keys[0])
            if len(keys) > 1:  # (spikes are bool: add them as numbers, not with logical or)
                total = self._buffer(("summed sources", i), x.shape, w_t.dtype)
                np.copyto(total, x, casting="unsafe")
                for key, delay in keys[1:]:
                    np.add(total, lines.sent(key, delay), out=total, casting="unsafe")
                x = total
            acc = self.product(x, w_t, timer, self._buffer(("product", i), (n, w_t.shape[1]), w_t.dtype))
            terms += [(acc[:, j * self.size:(j + 1) * self.size], exp) for j, exp in enumerate(exps)]
        if not terms:
            return self._buffer("none", (n, self.size), np.float64)
        if len(terms) == 1 and terms[0][0].dtype.kind == "f":
            return fx.dense_output_float(*terms[0], out=terms[0][0])
        out = fx.dense_output_float(*terms[0], out=self._buffer("terms", (n, self.size), np.float64))
        for block, exp in terms[1:]:
            out += fx.dense_output_float(block, exp, out=block if block.dtype.kind == "f" else None)
        return out


def _exact_dtype(pieces: list[tuple[np.ndarray, int]], gain: int) -> type:
    """The narrowest of float32, float64 (exact below 2**24, 2**53) and int64 that sums the stacked weights of
    ``pieces`` exactly for inputs of summed magnitude ``gain``."""
    bound = max(int(np.abs(w).sum(axis=1).max(initial=0)) for w, _ in pieces) * gain
    return np.float32 if bound < 2**24 else np.float64 if bound < 2**53 else np.int64


def fold_digits(pieces: list[tuple[np.ndarray, int]]) -> list[tuple[np.ndarray, int]]:
    """(weights, exponent) blocks on one input with the non-negative exponents folded into one block.

    Lava's ``Dense`` output for ``weight_exp >= 0`` is the accumulation times ``2**weight_exp``, without
    rounding, so ``sum_j 2**e_j (W_j @ s) = 2**e (sum_j 2**(e_j - e) W_j) @ s`` with ``e = min e_j``: the weight
    digits of one synapse cost one product instead of one each.  Negative exponents (a floor each) stay apart."""
    folded = [(w, e) for w, e in pieces if e >= 0]
    if len(folded) < 2:
        return pieces
    low = min(e for _, e in folded)
    weights = sum(np.asarray(w, np.int64) << (e - low) for w, e in folded)
    return [(weights, low)] + [(w, e) for w, e in pieces if e < 0]


def history_length(synapses: Iterable[Synapse]) -> int:
    """Delay-line length that serves every synapse: one more than the largest extra delay."""
    return max((syn.delay for syn in synapses), default=0) + 1


def run_steps(ports: list[Port], lines: DelayLines, steps: int, n: int,
              step: Callable[[int, list[np.ndarray]], None]) -> None:
    """The time loop: at each of ``steps`` pipeline steps every port reads the delay lines, then
    ``step(p, inputs)`` updates the populations and sends their outputs into the lines."""
    for p in range(steps):
        step(p, [port.inputs(lines, n) for port in ports])


def _merge(values: list):
    first = values[0]
    if first is None:
        return None
    if isinstance(first, np.ndarray):
        return np.concatenate(values)
    if isinstance(first, list):
        return [np.concatenate(v) for v in zip(*values, strict=True)]
    if all(isinstance(v, int) for v in first.values()):
        return {k: sum(v[k] for v in values) for k in first}
    return {k: np.concatenate([v[k] for v in values]) for k in first}


class BatchedStepper:
    """A bit-accurate stepper: ``run`` checks the inputs, runs them in batches through ``run_batch`` (the
    family's time loop) and merges the results in sample order (traces concatenated, saturation summed).
    One run at a time per instance: its ports and updates reuse their arrays from step to step (the Dask
    workers run one shard at a time, ``tasks/shard_worker.py``)."""

    input_dim: int
    input_encoding: InputEncoding = BINARY_INPUT  # how inputs become what the first synapses receive

    def run_batch(self, inputs: np.ndarray, record: set[str]) -> FixedRun:
        raise NotImplementedError

    def run(self, inputs: np.ndarray, record: Iterable[str] = (), batch_size: int = 256,
            progress: Progress | None = None) -> FixedRun:
        """Run ``inputs`` (N, T, H) (0/1 spikes, or analog values for a graded ``input_encoding``); ``record``
        may hold "spikes" and "states"; ``progress`` is told the samples of each finished batch."""
        inputs = self.input_encoding.encode(inputs, self.input_dim)
        record = set(record)
        parts = [self.run_batch(inputs[part], record) for part in batches(inputs.shape[0], batch_size, progress)]
        return FixedRun(**{f.name: _merge([getattr(p, f.name) for p in parts]) for f in fields(FixedRun)})
