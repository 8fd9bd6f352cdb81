"""The integer arithmetic of every fixed-point compartment, defined once.

Used by the batched reference stepper and by the Lava fixed-point
ProcessModels alike.  All functions take and return numpy integer arrays
(int64 internally) and work elementwise, so any leading batch dimension is
fine.  Where a function mirrors a Lava 0.10.0 bit-accurate model (Dense,
LIF), its docstring says which, and tests run both side by side.
"""

from __future__ import annotations

import numpy as np

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


def shift_by_exponent(x: np.ndarray, exponent: int) -> np.ndarray:
    """``x * 2**exponent``: left shift, or numpy's floor right shift (Lava ``Dense`` weight_exp)."""
    x = np.asarray(x, dtype=np.int64)
    return np.left_shift(x, exponent) if exponent > 0 else np.right_shift(x, -exponent)


def saturate(x: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip to ``[-limit, limit]``; also return where clipping happened."""
    clipped = np.clip(x, -limit, limit)
    return clipped, clipped != x


def wrap(x: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Two's-complement wrap as Lava's LIF does for ``u``: values beyond +-2**(bits-1) wrap once."""
    half = 1 << (bits - 1)
    out = np.where(x > half, x - 2 * half, x)
    out = np.where(out <= -half, out + 2 * half, out)
    return out, out != x


def dense_output(accumulated: np.ndarray, weight_exp: int) -> np.ndarray:
    """Output of Lava's bit-accurate ``Dense`` for an accumulated ``W @ s`` (int)."""
    return shift_by_exponent(accumulated, weight_exp)


def rf_update(re: np.ndarray, im: np.ndarray, decay_re: np.ndarray, decay_im: np.ndarray,
              in_re: np.ndarray, in_im: np.ndarray, input_shift: int, decay_bits: int, rounding: str,
              limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of the S5-RF compartment: rotate-and-decay, add input, saturate.

    ``re' = R(c_re re) - R(c_im im) + (in_re << input_shift)``,
    ``im' = R(c_im re) + R(c_re im) + (in_im << input_shift)``, each product
    shifted right by ``decay_bits`` with ``rounding`` (as Lava's built-in RF
    does, per product), then both clipped to ``[-limit, limit]``.
    Returns ``(re', im', saturated)`` with ``saturated`` true where either part clipped.
    """
    re = np.asarray(re, np.int64)
    im = np.asarray(im, np.int64)
    new_re = (shift_right(decay_re * re, decay_bits, rounding) - shift_right(decay_im * im, decay_bits, rounding)
              + np.left_shift(np.asarray(in_re, np.int64), input_shift))
    new_im = (shift_right(decay_im * re, decay_bits, rounding) + shift_right(decay_re * im, decay_bits, rounding)
              + np.left_shift(np.asarray(in_im, np.int64), input_shift))
    new_re, sat_re = saturate(new_re, limit)
    new_im, sat_im = saturate(new_im, limit)
    return new_re, new_im, sat_re | sat_im


def rf_spikes(re: np.ndarray, im: np.ndarray, threshold: int, rule: str) -> np.ndarray:
    """Spikes of an RF compartment: ``re > thr`` (cartesian) or ``re^2 + im^2 > thr^2`` (polar)."""
    if rule == "cartesian":
        return re > threshold
    if rule == "polar":
        return re * re + im * im > threshold * threshold
    raise ValueError(f"unknown spike rule {rule!r}")


def graded_payload(x: np.ndarray, shift: int, payload_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """A state sent as a graded spike: shifted right (toward zero) and clipped to the payload width."""
    return saturate(shift_right(x, shift, "toward_zero"), (1 << (payload_bits - 1)) - 1)


# Lava 0.10.0 LIF (PyLifModelBitAcc): ds_offset = 1, dm_offset = 0, 12-bit decays, 24-bit u and v.
LIF_DECAY_BITS = 12
LIF_DS_OFFSET = 1
LIF_DM_OFFSET = 0
LIF_STATE_BITS = 24
LIF_INPUT_SHIFT = 6


def lif_update(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, du: np.ndarray | int,
               dv: np.ndarray | int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One subthreshold step of Lava's bit-accurate LIF (no bias); returns ``(u', v', overflowed)``.

    ``u' = wrap24(R0(u (4096 - du - 1)) + (a_in << 6))``,
    ``v' = clip24(R0(v (4096 - dv)) + u')``, with ``R0`` the right shift by
    12 rounding toward zero (Lava's ``sign * (|x| >> 12)``).  ``overflowed`` marks
    a wrapped ``u`` or a clipped ``v``.
    """
    unity = 1 << LIF_DECAY_BITS
    u = shift_right(np.asarray(u, np.int64) * (unity - du - LIF_DS_OFFSET), LIF_DECAY_BITS, "toward_zero")
    u, wrapped = wrap(u + np.left_shift(np.asarray(a_in, np.int64), LIF_INPUT_SHIFT), LIF_STATE_BITS)
    v = shift_right(np.asarray(v, np.int64) * (unity - dv - LIF_DM_OFFSET), LIF_DECAY_BITS, "toward_zero")
    v, clipped = saturate(v + u, (1 << (LIF_STATE_BITS - 1)) - 1)
    return u, v, wrapped | clipped


def lif_spikes(v: np.ndarray, vth_mantissa: int) -> np.ndarray:
    """Lava's bit-accurate LIF spike condition ``v > vth << 6``."""
    return v > np.left_shift(np.asarray(vth_mantissa, np.int64), LIF_INPUT_SHIFT)


def lif_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, du: np.ndarray | int, dv: np.ndarray | int,
             vth_mantissa: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A whole step of Lava's bit-accurate LIF: update, spike, reset ``v`` to 0 where it spiked.

    Returns ``(u', v', spikes, overflowed)``.
    """
    u, v, overflowed = lif_update(u, v, a_in, du, dv)
    spikes = lif_spikes(v, vth_mantissa)
    return u, np.where(spikes, 0, v), spikes, overflowed
