"""Weights and scales in Lava's number formats, shared by both network families' quantizers.

Lava weights are 8-bit mantissas with a per-synapse exponent; a connection may
use several synapses ("weight digits") for more precision.  Scales are powers
of two.  :class:`QuantizationReport` is what every quantizer reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy.hw_profiles import HardwareProfile

CALIBRATION_MARGIN = 1.5  # calibrated scales leave 50 % above the largest value seen
CALIBRATION_SAMPLES = 256  # calibration uses at most this many samples unless told otherwise


@dataclass
class QuantizationReport:
    """What the quantizer chose and what it costs, per layer."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    readout: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    overflow: list[str] = field(default_factory=list)
    digits: dict[str, Any] = field(default_factory=dict)  # weight digits chosen by result (``--digits auto``)
    warnings: list[str] = field(default_factory=list)  # lossy choices, one line each: cause and fix
    inputs: dict[str, Any] = field(default_factory=lambda: {"kind": "binary"})  # input encoding and its error


def quantize_weights(values: np.ndarray, profile: HardwareProfile,
                     exp_min: int | None = None) -> tuple[np.ndarray, int]:
    """Lava weight values ``W`` and exponent ``E`` with ``W 2^E ~= values`` (the largest maps to the top).

    Sign mode follows Lava's ``determine_sign_mode``: non-negative -> excitatory
    (0..2^b - 1), non-positive -> inhibitory, else mixed (even values in
    [-2^b, 2^b - 2], Lava truncates one bit).  ``b`` = mantissa bits.  ``E`` is
    at least ``exp_min``: values too small for it round on that grid (possibly
    to zero) rather than take an exponent the hardware lacks.
    """
    bits = profile.weights["mantissa_bits"]
    top = float(np.abs(values).max(initial=0.0))
    if top == 0:
        return np.zeros(values.shape, np.int64), 0
    mixed = values.min() < 0 < values.max()
    wmax = (1 << bits) - 2 if mixed else (1 << bits) - 1
    exp = math.ceil(math.log2(top / wmax))
    if exp_min is not None:
        exp = max(exp, exp_min)
    scaled = values / 2.0**exp
    if mixed:
        w = 2 * np.clip(np.rint(scaled / 2), -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    elif values.max() > 0:
        w = np.clip(np.rint(scaled), 0, wmax)
    else:
        w = np.clip(np.rint(scaled), -wmax, 0)
    return w.astype(np.int64), exp


def weight_digits(values: np.ndarray, profile: HardwareProfile, digits: int,
                  exp_min: int | None = None) -> list[tuple[np.ndarray, int]]:
    """``values ~= sum_d W_d 2^E_d``: each digit quantizes what the previous ones left.

    Each digit is one more synapse between the same neurons (one more Dense in
    Lava) with its own exponent: ``digits`` = 2 gives ~14-bit weights for twice
    the synaptic memory.  No ``E_d`` goes below ``exp_min`` (the lowest the
    target can apply), so a later digit never claims a precision it cannot
    deliver.  All-zero digits are dropped (at least one is kept).
    """
    out: list[tuple[np.ndarray, int]] = []
    rest = np.asarray(values, np.float64)
    for _ in range(digits):
        w, e = quantize_weights(rest, profile, exp_min)
        if out and not np.any(w):
            break
        out.append((w, e))
        rest = rest - w * 2.0**e
    return out


def input_shift(exponents: list[int], shift_max: int, profile: HardwareProfile) -> int:
    """Compartment input shift: as large as possible while every synapse exponent stays >= 0 and in range."""
    if not exponents:
        return 0
    low = max(0, max(exponents) - profile.weights["exponent_max"])
    return int(np.clip(min(exponents), low, shift_max))


def pow2_scale(limit: float, largest: float) -> int:
    """Largest s with ``largest * 2^s <= limit``."""
    return math.floor(math.log2(limit / largest)) if largest > 0 else 0
