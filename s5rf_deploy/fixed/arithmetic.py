"""The integer arithmetic of every fixed-point compartment, defined once.

Used by the batched reference stepper and by the Lava fixed-point
ProcessModels alike.  All functions take and return numpy integer arrays
(int64 internally) and work elementwise, so any leading batch dimension is
fine.  Where a function mirrors a Lava 0.10.0 bit-accurate model (Dense,
LIF), its docstring says which, and tests run both side by side.  The
``*_torch`` forms at the end compute the same integers on torch tensors (any
device) for the steppers' ``device`` option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from s5rf_deploy.fixed.halves import in_halves

if TYPE_CHECKING:
    import torch
    from torch import Tensor

ROUNDING_RULES = ("toward_zero", "floor", "nearest")
ACCUMULATOR_BITS = 31  # Lava's Dense accumulates in int32: |sum| < 2**31


def shift_right(x: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """``x / 2**shift`` rounded by ``rounding``:

    - ``toward_zero``: ``sign(x) * (|x| >> shift)`` (Lava's RF and LIF decays),
    - ``floor``: ``x >> shift`` (numpy's arithmetic shift, Lava's Dense),
    - ``nearest``: round half away from zero.
    """
    x = np.asarray(x, dtype=np.int64)
    if shift == 0:
        return x
    if rounding == "toward_zero":
        return np.sign(x) * (np.abs(x) >> shift)
    if rounding == "floor":
        return x >> shift
    if rounding == "nearest":
        return np.sign(x) * ((np.abs(x) + (1 << (shift - 1))) >> shift)
    raise ValueError(f"unknown rounding {rounding!r}")


def saturate(x: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip to ``[-limit, limit]``; also return where clipping happened."""
    clipped = np.clip(x, -limit, limit)
    return clipped, clipped != x


def dense_output(accumulated: np.ndarray, weight_exp: int) -> np.ndarray:
    """Output of Lava's bit-accurate ``Dense`` for an accumulated ``W @ s`` (int): :func:`dense_output_float`."""
    return dense_output_float(np.asarray(accumulated, np.float64), weight_exp).astype(np.int64)


def rf_update(re: np.ndarray, im: np.ndarray, decay_re: np.ndarray, decay_im: np.ndarray,
              in_re: np.ndarray, in_im: np.ndarray, input_shift: int, decay_bits: int, rounding: str,
              limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of the S5-RF compartment: rotate-and-decay, add input, saturate.

    ``re' = R(c_re re) - R(c_im im) + (in_re << input_shift)``,
    ``im' = R(c_im re) + R(c_re im) + (in_im << input_shift)``, each product
    shifted right by ``decay_bits`` with ``rounding`` (as Lava's built-in RF
    does, per product), then both clipped to ``[-limit, limit]``.
    Returns ``(re', im', saturated)`` (int64) with ``saturated`` true where either part clipped.
    Computed by :class:`RFUpdate`, the one definition the stepper and the Lava models share.
    """
    width = np.shape(decay_re)[-1]
    new_re, new_im = (np.array(x, np.float64).reshape(-1, width) for x in (re, im))
    a_in = np.concatenate([np.reshape(in_re, (-1, width)), np.reshape(in_im, (-1, width))], axis=1, dtype=np.float64)
    update = RFUpdate(decay_re, decay_im, input_shift, decay_bits, rounding, limit)
    update(new_re, new_im, a_in)
    shape = np.shape(re)
    return new_re.astype(np.int64).reshape(shape), new_im.astype(np.int64).reshape(shape), \
        update.saturated.reshape(shape)


def rf_spikes(re: np.ndarray, im: np.ndarray, threshold: int, rule: str, levels: int = 1) -> np.ndarray:
    """Spikes of an RF compartment: ``re > thr`` (cartesian) or ``re^2 + im^2 > thr^2`` (polar), as bool.

    With ``levels`` > 1 (multi-bit outputs, ``levels = 2^spike_bits - 1``): the count of the levels ``thr, 2 thr,
    ..., levels thr`` that ``re`` (cartesian) or ``|z|`` (polar) exceeds strictly, in ``re``'s dtype.  Computed
    elementwise by :func:`_fire`, which :class:`RFUpdate` also calls.
    """
    if rule not in ("cartesian", "polar"):
        raise ValueError(f"unknown spike rule {rule!r}")
    re, im = np.asarray(re), np.asarray(im)
    out = np.empty(re.shape)
    _fire_all(re.reshape(-1).astype(np.float64), np.asarray(im, np.float64).reshape(-1), out.reshape(-1),
              float(threshold), SENDS[rule], levels)
    return out > 0 if levels == 1 else out.astype(re.dtype)


def graded_payload(x: np.ndarray, shift: int, payload_bits: int) -> np.ndarray:
    """A state sent as a graded spike (int64): shifted right (toward zero) and clipped to the payload width;
    :func:`graded_payload_float`."""
    return graded_payload_float(np.asarray(x, np.float64), shift, payload_bits).astype(np.int64)


# Lava 0.10.0 LIF (PyLifModelBitAcc): ds_offset = 1, dm_offset = 0, 12-bit decays, 24-bit u and v.
LIF_DECAY_BITS = 12
LIF_DS_OFFSET = 1
LIF_DM_OFFSET = 0
LIF_STATE_BITS = 24
LIF_INPUT_SHIFT = 6
LIF_V_LIMIT = (1 << (LIF_STATE_BITS - 1)) - 1  # Lava clips v to +-(2**23 - 1)


@dataclass(frozen=True)
class SpikeRule:
    """When a LIF compartment fires and how it resets (docs/interop.md: what each framework computes).

    - ``reset``: ``zero`` sets ``v = 0`` where it fired (Lava's LIF); ``subtract`` takes the threshold (times
      the spike count) off ``v`` right away; ``subtract_next`` takes it off at the next update, after the
      decay (snnTorch's default "delayed" reset); ``zero_next`` sets ``v = 0`` at the next update, input
      included (snnTorch's Synaptic with reset_mechanism "zero").
    - ``inclusive``: fire at ``v >= threshold`` (else ``v > threshold``, Lava's).
    - ``max_spikes`` > 1: multi-spike, ``min(floor(v / threshold), max_spikes)`` spikes per step where ``v``
      reached the threshold (needs ``inclusive``, a count and a subtracting reset).
    """

    reset: str = "zero"
    inclusive: bool = False
    max_spikes: int = 1

    def __post_init__(self) -> None:
        if self.reset not in RESETS:
            raise ValueError(f"unknown reset {self.reset!r}")
        if self.max_spikes < 1 or (self.max_spikes > 1 and (not self.inclusive or "zero" in self.reset)):
            raise ValueError("multi-spike needs max_spikes >= 1, an inclusive threshold and a subtracting reset")

    @property
    def is_lava(self) -> bool:
        """Lava's own LIF rule: ``v > threshold``, then ``v = 0``."""
        return self == LAVA_RULE


RESETS = ("zero", "subtract", "subtract_next", "zero_next")
NEXT_STEP_RESETS = ("subtract_next", "zero_next")  # resets applied by the update after the spike
LAVA_RULE = SpikeRule()


def fire(v: np.ndarray, threshold: np.ndarray | float, rule: SpikeRule = LAVA_RULE) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts (as ``v``'s dtype) and ``v`` after the immediate reset, by ``rule`` (float or integer
    ``v``; integer thresholds keep integer results exact)."""
    reached = v >= threshold if rule.inclusive else v > threshold
    if rule.max_spikes > 1:
        count = np.where(reached, np.minimum(np.floor_divide(v, threshold), rule.max_spikes), 0).astype(v.dtype)
    else:
        count = reached.astype(v.dtype)
    if rule.reset == "zero":
        return count, np.where(reached, 0, v).astype(v.dtype)
    if rule.reset == "subtract":
        return count, v - count * threshold
    return count, v


def carried_reset(v: np.ndarray, last: np.ndarray, threshold: np.ndarray | float, rule: SpikeRule) -> np.ndarray:
    """``v`` after the reset that the previous step's spike counts ``last`` carry into this update (the
    resets of :data:`NEXT_STEP_RESETS`; others leave ``v`` as it is).  Float or integer."""
    if rule.reset == "subtract_next":
        return v - last * threshold
    if rule.reset == "zero_next":
        return np.where(last > 0, 0, v).astype(v.dtype)
    return v


@njit(nogil=True, cache=True)
def _decay_toward_zero(x, retained):
    """``R0(x retained)``: the product shifted right by 12, rounded toward zero (Lava's ``sign * (|x| >> 12)``)."""
    y = x * retained
    return -((-y) >> LIF_DECAY_BITS) if y < 0 else y >> LIF_DECAY_BITS


@njit(nogil=True, cache=True)
def _lif_kernel(u, v, a_in, du, dv, overflowed, level):
    """:func:`lif_update` in place on flat int64 ``u``, ``v`` (``du``, ``dv``: one value, or one per neuron of the
    last axis, repeated); with ``level`` >= 0 also Lava's firing (``v > level``: spike, ``v = 0``).  Returns
    how many updates overflowed plus how many fired."""
    unity, half = 1 << LIF_DECAY_BITS, 1 << (LIF_STATE_BITS - 1)
    count = 0
    for i in range(u.size):
        x = _decay_toward_zero(u[i], unity - du[i % du.size] - LIF_DS_OFFSET) + (np.int64(a_in[i]) << LIF_INPUT_SHIFT)
        wrapped = x > half or x <= -half  # values beyond +-2**23 wrap once
        if wrapped:
            x += -2 * half if x > half else 2 * half
        y = _decay_toward_zero(v[i], unity - dv[i % dv.size] - LIF_DM_OFFSET) + x
        overflowed[i] = wrapped or abs(y) > LIF_V_LIMIT
        u[i], v[i] = x, min(max(y, -LIF_V_LIMIT), LIF_V_LIMIT)
        count += overflowed[i]
        if 0 <= level < v[i]:
            v[i] = 0
            count += 1
    return count


def lif_update(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, du: np.ndarray | int,
               dv: np.ndarray | int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One subthreshold step of Lava's bit-accurate LIF (no bias); returns ``(u', v', overflowed)``.

    ``u' = wrap24(R0(u (4096 - du - 1)) + (a_in << 6))``,
    ``v' = clip24(R0(v (4096 - dv)) + u')``, with ``R0`` the right shift by
    12 rounding toward zero (Lava's ``sign * (|x| >> 12)``).  ``overflowed``
    marks a wrapped ``u`` or a clipped ``v``.  ``a_in``: integers, in any dtype.
    """
    u, v = np.array(u, np.int64), np.array(v, np.int64)
    overflowed = np.empty(u.shape, bool)
    _lif_kernel(u.reshape(-1), v.reshape(-1), np.asarray(a_in).reshape(-1), np.asarray(du, np.int64).reshape(-1),
                np.asarray(dv, np.int64).reshape(-1), overflowed.reshape(-1), -1)
    return u, v, overflowed


class LavaLIFStep:
    """:func:`lif_step` by Lava's own rule (:data:`LAVA_RULE`) in place, in one compiled pass: for states that
    keep their arrays from step to step (the S5-RF readout)."""

    def __init__(self, du: np.ndarray | int, dv: np.ndarray | int, vth_mantissa: int) -> None:
        self.du, self.dv = (np.asarray(d, np.int64).reshape(-1) for d in (du, dv))
        self.level = lif_level(vth_mantissa)
        self.overflowed = np.empty(0, bool)

    def __call__(self, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> int:
        """Update the contiguous int64 ``u``, ``v`` in place with the integer inputs ``a_in``; return how many
        updates overflowed plus how many neurons fired."""
        if self.overflowed.size != u.size:
            self.overflowed = np.empty(u.size, bool)
        return _lif_kernel(u.reshape(-1), v.reshape(-1), np.ascontiguousarray(a_in).reshape(-1), self.du, self.dv,
                           self.overflowed, self.level)


def lif_level(vth_mantissa: int) -> int:
    """The threshold ``vth << 6`` a bit-accurate LIF compares ``v`` with."""
    return int(vth_mantissa) << LIF_INPUT_SHIFT


def lif_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, du: np.ndarray | int, dv: np.ndarray | int,
             vth_mantissa: int, rule: SpikeRule = LAVA_RULE,
             last: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A whole step of a bit-accurate LIF: update, fire and reset by ``rule`` (Lava's LIF by default: reset
    ``v`` to 0 where it spiked); ``last`` is the previous step's spike counts (for the resets of
    :data:`NEXT_STEP_RESETS`).

    Returns ``(u', v', spikes, overflowed)``; ``spikes`` are counts (bool for single-spike rules).
    """
    level = lif_level(vth_mantissa)
    u, v, overflowed = lif_update(u, v, a_in, du, dv)
    if last is not None and rule.reset in NEXT_STEP_RESETS:
        v, clipped = saturate(carried_reset(v, last, level, rule), LIF_V_LIMIT)
        overflowed = overflowed | clipped
    spikes, v = fire(v, level, rule)
    return u, v, spikes if rule.max_spikes > 1 else spikes.astype(bool), overflowed


# The compartment and synapse arithmetic on exact float64 values (the stepper keeps its states this way; the
# int64 functions above call these, so each rule is written once).  Every value is an integer below 2**53
# (states < 2**23, decay products < 2**40, shifted synaptic sums < 2**38), so float64 holds it exactly; a right
# shift is a multiplication by 2**-shift (exact: it only moves the exponent) followed by trunc / floor.
# tests/fixed/test_engine.py checks them against int64 formulas written independently in the test.

ROUNDING_CODES = {rule: code for code, rule in enumerate(ROUNDING_RULES)}  # the compiled kernels' rule argument


@njit(nogil=True, cache=True)
def _round_scaled(y: float, code: int) -> float:
    """Round ``y = x / 2**shift`` (exact in float64) as :func:`shift_right` rounds (``code``: ``ROUNDING_CODES``)."""
    if code == 0:  # toward zero
        return np.trunc(y)
    if code == 1:  # floor
        return np.floor(y)
    return np.trunc(y + np.copysign(0.5, y))  # nearest: sign(y) floor(|y| + 1/2); y + 1/2 is exact, |x| < 2**52


def dense_output_float(accumulated: np.ndarray, weight_exp: int, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`dense_output` of an exact float32/float64 sum (into ``out``, e.g. float64 or ``accumulated`` itself,
    if given): scaling by a power of two is exact, then floor; with exponent 0 the sum as it is."""
    if weight_exp == 0 and (out is None or out is accumulated):
        return accumulated
    scaled = np.multiply(accumulated, np.float32(2.0 ** weight_exp), out=out)
    return scaled if weight_exp >= 0 else np.floor(scaled, out=scaled)


SENDS = {"none": 0, "cartesian": 1, "polar": 2, "graded": 3}  # what an RF stage sends: the kernels' code


@njit(nogil=True, cache=True)
def _fire(r, i, thr, send, levels):
    """The spike count of one neuron with exact integer states ``r``, ``i`` (float64, magnitudes below 2**23) and
    threshold ``thr`` >= 1 (``send``: 1 cartesian, 2 polar; ``levels`` as in :func:`rf_spikes`).  Levels > 1:
    cartesian ``floor((r - 1) / thr)``; polar ``floor(root / thr)`` with ``root`` the largest integer whose square
    is below ``r^2 + i^2`` (the floor of a correctly rounded square root is exact below 2**52); clipped to
    ``[0, levels]``.  The division is exact: a quotient of integers below 2**24 is at least ``1 / thr`` away from
    the next integer, far more than its rounding error."""
    if send == 1:
        if levels == 1:
            return 1.0 if r > thr else 0.0
        below = r - 1.0
    else:
        square = r * r + i * i
        if levels == 1:
            return 1.0 if square > thr * thr else 0.0
        below = np.floor(np.sqrt(square))
        if below * below == square:
            below -= 1.0
    return min(max(np.floor(below / thr), 0.0), float(levels))


@njit(nogil=True, cache=True)
def _payload(x, scale, limit):
    """A graded payload: ``x * 2**-shift`` (``scale``, exact) truncated toward zero and clipped to ``+-limit``."""
    return min(max(np.trunc(x * scale), -limit), limit)


@njit(nogil=True, cache=True)
def _fire_all(re, im, out, thr, send, levels):
    for j in range(re.size):
        out[j] = _fire(re[j], im[j], thr, send, levels)


@njit(nogil=True, cache=True)
def _payload_all(x, out, scale, limit):
    for j in range(x.size):
        out[j] = _payload(x[j], scale, limit)


def _rf_pass(code: int, send: int, levels: int):
    """The compiled pass of :class:`RFUpdate` for one rounding rule (``code``: :data:`ROUNDING_CODES`), one kind of
    send (:data:`SENDS`) and one number of levels, all three compile-time constants of the loop (without
    branches on them it vectorizes: 0.37 against 0.99 ms at 256 x 1024).  The pass updates (samples, neurons)
    arrays in place, writes what the stage sends to ``out_a`` (spike counts, or re payloads) and ``out_b`` (im
    payloads), and returns the saturated count."""

    @njit(nogil=True, cache=True)
    def rf_pass(re, im, a_in, saturated, c_re, c_im, gain, limit, out_a, out_b, thr, scale, payload_limit):
        count, width = 0, re.shape[1]
        for s in range(re.shape[0]):
            for j in range(width):
                r, i = re[s, j], im[s, j]
                a = _round_scaled(c_re[j] * r, code) - _round_scaled(c_im[j] * i, code) + a_in[s, j] * gain
                b = _round_scaled(c_im[j] * r, code) + _round_scaled(c_re[j] * i, code) + a_in[s, width + j] * gain
                clipped = abs(a) > limit or abs(b) > limit
                saturated[s, j] = clipped
                count += clipped
                r, i = min(max(a, -limit), limit), min(max(b, -limit), limit)
                re[s, j], im[s, j] = r, i
                if send == 3:
                    out_a[s, j], out_b[s, j] = _payload(r, scale, payload_limit), _payload(i, scale, payload_limit)
                elif send:
                    out_a[s, j] = _fire(r, i, thr, send, levels)
        return count

    return rf_pass


_RF_PASSES: dict[tuple[int, int, int], object] = {}  # (code, send, levels) -> compiled pass, made on first use


@dataclass(frozen=True)
class Sends:
    """What an RF stage sends after its update: ``spike`` is "cartesian" or "polar" (spike counts against
    ``threshold`` with ``levels``), "graded" (re and im payloads: shifted right by ``payload_shift``, toward
    zero, clipped to ``payload_bits``) or "none"."""

    spike: str = "none"
    threshold: int = 1
    levels: int = 1
    payload_shift: int = 0
    payload_bits: int = 24


class RFUpdate:
    """:func:`rf_update` of one stage on float64 states, in place, in one compiled pass (no per-step allocation at
    a fixed batch size), with what the stage ``sends`` computed in the same pass.  The decays are stored
    pre-scaled by ``2**-decay_bits`` (exact)."""

    def __init__(self, decay_re: np.ndarray, decay_im: np.ndarray, input_shift: int, decay_bits: int,
                 rounding: str, limit: int, sends: Sends = Sends()) -> None:
        if rounding not in ROUNDING_CODES:
            raise ValueError(f"unknown rounding {rounding!r}")
        if sends.spike not in SENDS:
            raise ValueError(f"unknown spike rule {sends.spike!r}")
        scale = 2.0 ** -decay_bits
        self.c_re = np.ascontiguousarray(decay_re, np.float64).reshape(-1) * scale
        self.c_im = np.ascontiguousarray(decay_im, np.float64).reshape(-1) * scale
        self.gain = float(1 << input_shift)
        self.code = ROUNDING_CODES[rounding]
        self.limit = float(limit)
        key = (self.code, SENDS[sends.spike], sends.levels if sends.spike in ("cartesian", "polar") else 1)
        if key not in _RF_PASSES:
            _RF_PASSES[key] = _rf_pass(*key)
        self.rf_pass = _RF_PASSES[key]
        self.sends = (float(sends.threshold), 2.0 ** -sends.payload_shift, float((1 << (sends.payload_bits - 1)) - 1))
        self.saturated = np.empty((0, 0), bool)

    def __call__(self, re: np.ndarray, im: np.ndarray, a_in: np.ndarray, out_a: np.ndarray | None = None,
                 out_b: np.ndarray | None = None) -> int:
        """Update ``re``, ``im`` (float64 (samples, neurons)) in place with the inputs ``a_in`` (exact integers in
        float32 or float64, (samples, 2 neurons): the real inputs, then the imaginary ones, as a port delivers
        them) and write what the stage sends into ``out_a`` (and ``out_b``; (samples, neurons), float32 or
        float64); return how many neurons saturated (either part clipped); ``saturated`` holds where."""
        if self.saturated.shape != re.shape:
            self.saturated = np.empty(re.shape, bool)
        if out_a is None:  # nothing sent (rf_update): an empty output, never written
            out_a = np.empty((re.shape[0], 0))
        out_b = out_a if out_b is None else out_b

        def rows(part: slice) -> int:
            return self.rf_pass(re[part], im[part], a_in[part], self.saturated[part], self.c_re, self.c_im, self.gain,
                                self.limit, out_a[part], out_b[part], *self.sends)

        return sum(in_halves(rows, re.shape[0], re.size))


def graded_payload_float(x: np.ndarray, shift: int, payload_bits: int) -> np.ndarray:
    """:func:`graded_payload` (the payload only) of a float64 state, by :func:`_payload`."""
    x = np.ascontiguousarray(x, np.float64)
    out = np.empty(x.shape)
    _payload_all(x.reshape(-1), out.reshape(-1), 2.0 ** -shift, float((1 << (payload_bits - 1)) - 1))
    return out


# Torch forms of the arithmetic above, for the steppers on a torch device (``device``, fixed/device.py): the same
# operations, elementwise on float64 tensors (int64 for the LIF), on any device.  Each operation is exact as in the
# compiled forms (IEEE 754 multiplication, addition, division and sqrt are correctly rounded on CPUs and CUDA GPUs
# alike, and every value is an integer or a power-of-two fraction far inside float64's 53 bits), so they give the
# same integers (tests/fixed/test_device.py).  torch is imported by these alone: Lava's processes import this
# module.

def round_scaled_torch(y: Tensor, code: int) -> Tensor:
    """:func:`_round_scaled` of a float64 tensor, in place: trunc, floor, or ``trunc(y + sign(y) / 2)`` (the same
    as ``copysign``: ``y = 0`` gives 0 either way)."""
    if code == 0:
        return y.trunc_()
    if code == 1:
        return y.floor_()
    return y.add_(y.sign().mul_(0.5)).trunc_()


def dense_output_torch(accumulated: Tensor, weight_exp: int) -> Tensor:
    """:func:`dense_output_float` of an exact float64 tensor: times ``2**weight_exp`` (exact), floor if negative."""
    if weight_exp == 0:
        return accumulated
    scaled = accumulated * 2.0 ** weight_exp
    return scaled if weight_exp >= 0 else scaled.floor_()


def rf_spikes_torch(re: Tensor, im: Tensor, threshold: int, rule: str, levels: int = 1) -> Tensor:
    """:func:`rf_spikes` (:func:`_fire`) of float64 tensors: bool, or counts in float64 for ``levels`` > 1.  The
    polar count floors ``torch.sqrt``, correctly rounded (IEEE 754) on CPUs and CUDA alike, so ``_fire``'s
    exactness argument holds as it is."""
    import torch

    if rule not in ("cartesian", "polar"):
        raise ValueError(f"unknown spike rule {rule!r}")
    if levels == 1:
        return re > threshold if rule == "cartesian" else re * re + im * im > threshold * threshold
    if rule == "cartesian":
        below = re - 1
    else:
        square = re * re + im * im
        below = square.sqrt().floor_()
        below -= (below * below == square).to(below.dtype)
    return torch.div(below, threshold, rounding_mode="floor").clamp_(0, levels)


def graded_payload_torch(x: Tensor, shift: int, payload_bits: int) -> Tensor:
    """:func:`graded_payload_float` (:func:`_payload`) of a float64 tensor."""
    limit = float((1 << (payload_bits - 1)) - 1)
    return (x * 2.0 ** -shift).trunc_().clamp_(-limit, limit)


class RFUpdateTorch:
    """:class:`RFUpdate` (``_rf_pass``) on float64 tensors of shape (samples, neurons) on any torch device, in
    place: the same four rounded products, inputs times ``2**input_shift``, clipping and sends, one tensor
    operation at a time.  ``__call__`` returns the saturated count as a 0-d tensor (no host synchronisation per
    step)."""

    def __init__(self, decay_re: np.ndarray, decay_im: np.ndarray, input_shift: int, decay_bits: int,
                 rounding: str, limit: int, sends: Sends = Sends(), device: str | torch.device = "cpu") -> None:
        import torch

        cpu = RFUpdate(decay_re, decay_im, input_shift, decay_bits, rounding, limit, sends)  # checks, pre-scales
        self.c_re, self.c_im = (torch.as_tensor(c, dtype=torch.float64, device=device) for c in (cpu.c_re, cpu.c_im))
        self.gain, self.code, self.limit, self.sends = cpu.gain, cpu.code, cpu.limit, sends

    def __call__(self, re: Tensor, im: Tensor, a_in: Tensor, out_a: Tensor | None = None,
                 out_b: Tensor | None = None) -> Tensor:
        """Update ``re``, ``im`` with ``a_in`` (float64 (samples, 2 neurons), as a device port delivers it) and
        write what the stage sends into ``out_a`` (and ``out_b``), as :meth:`RFUpdate.__call__` does."""
        width, code, sends = re.shape[1], self.code, self.sends
        a = round_scaled_torch(self.c_re * re, code) - round_scaled_torch(self.c_im * im, code)
        b = round_scaled_torch(self.c_im * re, code) + round_scaled_torch(self.c_re * im, code)
        a += a_in[:, :width] * self.gain
        b += a_in[:, width:] * self.gain
        saturated = (a.abs() > self.limit) | (b.abs() > self.limit)
        re.copy_(a.clamp_(-self.limit, self.limit))
        im.copy_(b.clamp_(-self.limit, self.limit))
        if sends.spike == "graded":
            out_a.copy_(graded_payload_torch(re, sends.payload_shift, sends.payload_bits))
            out_b.copy_(graded_payload_torch(im, sends.payload_shift, sends.payload_bits))
        elif sends.spike != "none":
            out_a.copy_(rf_spikes_torch(re, im, sends.threshold, sends.spike, sends.levels))
        return saturated.sum()


def _decay_toward_zero_torch(x: Tensor, retained: Tensor | int) -> Tensor:
    """``_decay_toward_zero`` of an int64 tensor: ``sign(y) (|y| >> 12)``, shifting magnitudes only (no
    arithmetic shift of a negative number)."""
    y = x * retained
    return y.sign() * (y.abs() >> LIF_DECAY_BITS)


def lif_update_torch(u: Tensor, v: Tensor, a_in: Tensor, du: Tensor | int,
                     dv: Tensor | int) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`lif_update` (``_lif_kernel``) on int64 tensors (``a_in``: exact integers, any dtype; ``du``, ``dv``:
    one value or one per neuron of the last axis): the same wrap of ``u`` beyond ``+-2**23`` (``x > 2**23`` or
    ``x <= -2**23``, once) and clip of ``v``; returns new tensors."""
    import torch

    unity, half = 1 << LIF_DECAY_BITS, 1 << (LIF_STATE_BITS - 1)
    x = _decay_toward_zero_torch(u, unity - du - LIF_DS_OFFSET) + (a_in.to(torch.int64) << LIF_INPUT_SHIFT)
    up, down = x > half, x <= -half
    x = x - up * (2 * half) + down * (2 * half)
    y = _decay_toward_zero_torch(v, unity - dv - LIF_DM_OFFSET) + x
    return x, y.clamp(-LIF_V_LIMIT, LIF_V_LIMIT), up | down | (y.abs() > LIF_V_LIMIT)


def fire_torch(v: Tensor, threshold: int, rule: SpikeRule = LAVA_RULE) -> tuple[Tensor, Tensor]:
    """:func:`fire` of an int64 tensor (integer threshold)."""
    import torch

    reached = v >= threshold if rule.inclusive else v > threshold
    if rule.max_spikes > 1:
        count = torch.where(reached, torch.div(v, threshold, rounding_mode="floor").clamp_(max=rule.max_spikes), 0)
    else:
        count = reached.to(v.dtype)
    if rule.reset == "zero":
        return count, torch.where(reached, 0, v)
    if rule.reset == "subtract":
        return count, v - count * threshold
    return count, v


def lif_step_torch(u: Tensor, v: Tensor, a_in: Tensor, du: Tensor | int, dv: Tensor | int, vth_mantissa: int,
                   rule: SpikeRule = LAVA_RULE,
                   last: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`lif_step` on int64 tensors (:func:`lif_update_torch`, :func:`carried_reset`, :func:`fire_torch`)."""
    import torch

    level = lif_level(vth_mantissa)
    u, v, overflowed = lif_update_torch(u, v, a_in, du, dv)
    if last is not None and rule.reset in NEXT_STEP_RESETS:
        carried = v - last * level if rule.reset == "subtract_next" else torch.where(last > 0, 0, v)
        v = carried.clamp(-LIF_V_LIMIT, LIF_V_LIMIT)
        overflowed = overflowed | (v != carried)
    spikes, v = fire_torch(v, level, rule)
    return u, v, spikes if rule.max_spikes > 1 else spikes.to(torch.bool), overflowed


class LavaLIFStepTorch:
    """:class:`LavaLIFStep` on int64 tensors of any device, in place (:func:`lif_step_torch` by Lava's rule);
    ``__call__`` returns the overflowed plus fired count as a 0-d tensor."""

    def __init__(self, du: np.ndarray | int, dv: np.ndarray | int, vth_mantissa: int,
                 device: str | torch.device = "cpu") -> None:
        import torch

        self.du, self.dv = (torch.as_tensor(np.asarray(d, np.int64), device=device) for d in (du, dv))
        self.vth_mantissa = vth_mantissa

    def __call__(self, u: Tensor, v: Tensor, a_in: Tensor) -> Tensor:
        new_u, new_v, fired, overflowed = lif_step_torch(u, v, a_in, self.du, self.dv, self.vth_mantissa)
        u.copy_(new_u)
        v.copy_(new_v)
        return overflowed.sum() + fired.sum()
