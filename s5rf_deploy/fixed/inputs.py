"""How a network's inputs reach its first synapses: binary spikes, or graded spikes that carry analog values.

Binary inputs (every value 0 or 1) are sent as spikes, as always.  Analog inputs
are sent as graded spikes (Loihi 2's graded messages; Lava's ``Dense`` with
``num_message_bits > 0`` multiplies the weights by the payload): each value ``x``
becomes the integer payload ``round(x 2^scale_log2)`` (round half to even), whose
magnitude may not exceed ``payload_max``.  The scale is a power of two, so the
quantizer folds it exactly into the first synapses' weight exponents (they
implement ``W / 2^scale_log2``).  The stepper and the Lava runner both encode with
:meth:`InputEncoding.encode`, so they see the same integers.  See
docs/fixed-point.md, "Graded (analog) inputs".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from s5rf_deploy.errors import S5RFError, SampleError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.hw_profiles import HardwareProfile

BINARY, GRADED = "binary", "graded"
INPUT_KINDS = (BINARY, GRADED)
INPUT_MARGIN = 2.0  # a calibrated input scale leaves this factor above the largest |x| seen (then rounds to 2^k)


def check_shape(inputs: np.ndarray, width: int) -> None:
    """Raise unless ``inputs`` is (N, T, ``width``)."""
    if inputs.ndim != 3 or inputs.shape[2] != width:
        raise S5RFError(f"inputs must have shape (N, T, {width}), got {inputs.shape}")


def check_spike_inputs(inputs: np.ndarray, width: int) -> np.ndarray:
    """Binary spike inputs as float32; raise on anything else, naming the first offending sample."""
    check_shape(inputs, width)
    _refuse((inputs != 0) & (inputs != 1), lambda w: (
        f"fixed-point backends take binary spike inputs (0/1); found {float(inputs[w]):g} at step {w[1]}, "
        f"channel {w[2]} (S5-RF artifacts quantized with --calibrate on analog data take analog inputs)"))
    return inputs.astype(np.float32)


def _refuse(bad: np.ndarray, message: Callable[[tuple[int, ...]], str]) -> None:
    """Raise a :class:`SampleError` for the first (sample, step, channel) where ``bad`` holds, if any, with
    ``message(where)``."""
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise SampleError(where[0], message(where))


def is_binary(inputs: np.ndarray) -> bool:
    """Whether every input is 0 or 1 (then a network takes them as binary spikes)."""
    return bool(np.all((inputs == 0) | (inputs == 1)))


def has_graded_spikes(profile: HardwareProfile) -> bool:
    """Whether the profile's messages carry more than a 1-bit spike."""
    return profile.spikes["payload_bits"] >= 2


def require_graded(profile: HardwareProfile, what: str) -> None:
    """Raise a one-line error naming ``what`` unless the profile has graded spikes."""
    if not has_graded_spikes(profile):
        raise S5RFError(f"profile {profile.name!r} carries binary spikes only (spikes.payload_bits = "
                        f"{profile.spikes['payload_bits']}); {what} need graded spikes (e.g. profile loihi2)")


def payload_limit_bits(profile: HardwareProfile, fan_in: int) -> int:
    """Magnitude bits a graded payload may use so that each synapse's ``sum_j |W_ij| p_j`` of ``fan_in``
    payloads fits Lava's 32-bit accumulator (and the profile's signed payload width)."""
    return min(profile.spikes["payload_bits"] - 1,
               fx.ACCUMULATOR_BITS - profile.weights["mantissa_bits"] - 1 - math.ceil(math.log2(2 * max(fan_in, 1))))


@dataclass(frozen=True)
class InputEncoding:
    """Binary spikes, or graded payloads ``round(x 2^scale_log2)`` with ``|payload| <= payload_max``."""

    kind: str = BINARY
    scale_log2: int = 0
    payload_max: int = 1  # largest |value| sent: 1 for spikes

    @property
    def graded(self) -> bool:
        return self.kind == GRADED

    @property
    def input_max(self) -> float:
        """Largest |x| a graded input may have."""
        return (self.payload_max + 0.5) * 2.0**-self.scale_log2

    def encode(self, inputs: np.ndarray, width: int) -> np.ndarray:
        """What the first synapses receive (exact integers in float32); one-line errors name the sample."""
        inputs = np.asarray(inputs)
        if not self.graded:
            return check_spike_inputs(inputs, width)
        check_shape(inputs, width)
        _refuse(~np.isfinite(inputs), lambda w: (
            f"analog input at step {w[1]}, channel {w[2]} is {float(inputs[w])}, not a finite number"))
        payload = np.rint(inputs.astype(np.float64) * 2.0**self.scale_log2)
        _refuse(np.abs(payload) > self.payload_max, lambda w: (
            f"analog input {float(inputs[w]):g} at step {w[1]}, channel {w[2]} is outside the range "
            f"+-{self.input_max:g} that the network was calibrated for (graded payloads of at most "
            f"{self.payload_max}); quantize again with --calibrate on data like it"))
        return payload.astype(np.float32)

    def decode(self, payloads: np.ndarray) -> np.ndarray:
        """The float values the payloads stand for."""
        return np.asarray(payloads, np.float64) * 2.0**-self.scale_log2

    def error(self, inputs: np.ndarray) -> dict[str, float]:
        """Input quantization error on ``inputs``: largest and RMS |x - decoded payload|, and the RMS relative to
        the inputs' RMS."""
        x = np.asarray(inputs, np.float64)
        err = x - self.decode(self.encode(x, x.shape[2]))
        rms = float(np.sqrt(np.mean(err**2)))
        return {"max_abs": float(np.abs(err).max()), "rms": rms,
                "rel_rms": rms / max(float(np.sqrt(np.mean(x**2))), 1e-300)}

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "scale_log2": self.scale_log2}


BINARY_INPUT = InputEncoding()


def graded_payload_max(profile: HardwareProfile, width: int) -> int:
    """Largest graded input payload: what the accumulator allows with ``width`` inputs per synapse."""
    return (1 << payload_limit_bits(profile, width)) - 1


def calibrated_encoding(inputs: np.ndarray, profile: HardwareProfile, scale_cap: int | None = None) -> InputEncoding:
    """Binary spikes if every input is 0/1; else graded payloads whose scale puts :data:`INPUT_MARGIN` times the
    largest |x| at or below the largest payload (at most ``2^scale_cap``, what the first weights can take)."""
    if is_binary(inputs):
        return BINARY_INPUT
    if not np.all(np.isfinite(inputs)):
        raise S5RFError("calibration inputs hold NaN or Inf: an input scale needs finite values")
    require_graded(profile, "analog (non-0/1) inputs")
    payload_max = graded_payload_max(profile, inputs.shape[2])
    scale = math.floor(math.log2(payload_max / (INPUT_MARGIN * float(np.abs(inputs).max()))))
    return InputEncoding(GRADED, scale if scale_cap is None else min(scale, scale_cap), payload_max)


def encoding_from_dict(meta: dict | None, profile: HardwareProfile, width: int) -> InputEncoding:
    """The encoding an artifact recorded (None: written before graded inputs existed, so binary)."""
    if meta is None:
        return BINARY_INPUT
    kind, scale = meta["kind"], meta["scale_log2"]
    return InputEncoding(kind, scale, graded_payload_max(profile, width) if kind == GRADED else 1)
