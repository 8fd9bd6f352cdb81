"""The architecture of an S5-RF classifier (constructor arguments of the reference)."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy.errors import ConfigError

DISCRETIZATIONS = ("dirac", "zoh", "bilinear")
SPIKE_RULES = ("cartesian", "polar")
MAX_SPIKE_BITS = 8  # multi-bit outputs: an RF neuron sends a count 0 .. 2^spike_bits - 1 per step
_REFERENCE_ACTIVATIONS = {"cartesian_spike": "cartesian", "polar_spike": "polar"}


def spike_levels(spike_bits: int) -> int:
    """The largest output of a neuron with ``spike_bits``: 1 for binary spikes, ``2^spike_bits - 1`` else."""
    return (1 << spike_bits) - 1


def _integer(name: str, value: Any) -> int:
    """``value`` as an int; a bool, a fraction or a non-number is a config error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"config: {name} must be an integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of an S5-RF classifier.

    ``discretization`` applies to layer 0 only; later layers always use
    "dirac".  Skip connections (``apply_skip``) wrap layers 1 .. L-2.
    ``spike_bits`` > 1: every RF layer sends multi-bit outputs (Ponghiran & Roy 2021), the number of unit
    thresholds its drive exceeds, clipped to ``2^spike_bits - 1`` (1: binary spikes, the reference's).
    """

    input_dim: int
    output_dim: int
    num_neurons: tuple[int, ...]
    num_blocks: tuple[int, ...]
    discretization: str = "dirac"
    keep_imag: bool = True
    spike: str = "cartesian"
    apply_skip: bool = True
    spike_bits: int = 1
    eta_min: float = 0.004
    eta_max: float = 0.1
    dropout: float = 0.1
    dense_dropout: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in ("num_neurons", "num_blocks"):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise ConfigError(f"config: {name} must be a list of integers, got {values!r}")
            object.__setattr__(self, name, tuple(_integer(name, n) for n in values))
        self._check_types()
        self.validate()

    def _check_types(self) -> None:
        """Raise :class:`ConfigError` for a field of the wrong type (a bool is not a number here)."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "int":
                object.__setattr__(self, f.name, _integer(f.name, value))
            elif f.type == "bool" and not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"config: {f.name} must be true or false, got {value!r}")
            elif f.type == "str" and not isinstance(value, str):
                raise ConfigError(f"config: {f.name} must be a string, got {value!r}")
            elif f.type == "float" and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
                raise ConfigError(f"config: {f.name} must be a number, got {value!r}")

    @property
    def num_layers(self) -> int:
        return len(self.num_neurons)

    def layer_discretization(self, i: int) -> str:
        """The discretization rule of RF layer ``i``."""
        return self.discretization if i == 0 else "dirac"

    def has_skip(self, i: int) -> bool:
        """Whether RF layer ``i`` adds its input to its spikes."""
        return self.apply_skip and 0 < i < self.num_layers - 1

    def layer_input_dim(self, i: int) -> int:
        return self.input_dim if i == 0 else self.num_neurons[i - 1]

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if self.input_dim < 1 or self.output_dim < 1:
            raise ConfigError("config: input_dim and output_dim must be positive")
        if not self.num_neurons:
            raise ConfigError("config: num_neurons must list at least one layer")
        if len(self.num_blocks) != len(self.num_neurons):
            raise ConfigError("config: num_blocks and num_neurons must have the same length")
        for i, (p, b) in enumerate(zip(self.num_neurons, self.num_blocks, strict=True)):
            if p < 1 or b < 1 or p % b:
                raise ConfigError(
                    f"config: layer {i} has {p} neurons, not a positive multiple of {b} blocks"
                )
        if self.discretization not in DISCRETIZATIONS:
            raise ConfigError(
                f"config: discretization {self.discretization!r} is not one of {DISCRETIZATIONS}"
            )
        if self.spike not in SPIKE_RULES:
            raise ConfigError(f"config: spike {self.spike!r} is not one of {SPIKE_RULES}")
        if not 1 <= self.spike_bits <= MAX_SPIKE_BITS:
            raise ConfigError(f"config: spike_bits must be 1 to {MAX_SPIKE_BITS}, got {self.spike_bits}")
        for i in range(self.num_layers):
            if self.has_skip(i) and self.layer_input_dim(i) != self.num_neurons[i]:
                raise ConfigError(
                    f"config: layer {i} has a skip connection but its input width "
                    f"{self.layer_input_dim(i)} differs from its {self.num_neurons[i]} neurons"
                )
        if not 0 < self.eta_min <= self.eta_max < math.inf:
            raise ConfigError("config: need 0 < eta_min <= eta_max, both finite")
        if not 0 <= self.dropout < 1:
            raise ConfigError("config: dropout must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["num_neurons"] = list(self.num_neurons)
        d["num_blocks"] = list(self.num_blocks)
        if not d["extra"]:
            del d["extra"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from our own dict or from the reference ``Classifier`` kwargs."""
        if not isinstance(d, dict):
            raise ConfigError("config: expected a JSON object")
        d = dict(d)
        if "activation" in d:
            act = d.pop("activation")
            if act not in _REFERENCE_ACTIVATIONS:
                raise ConfigError(
                    f"config: activation {act!r} is not one of {tuple(_REFERENCE_ACTIVATIONS)}"
                )
            d["spike"] = _REFERENCE_ACTIVATIONS[act]
        names = {f.name for f in dataclasses.fields(cls)}
        extra = {**d.pop("extra", {}), **{k: d.pop(k) for k in list(d) if k not in names}}
        missing = [n for n in ("input_dim", "output_dim", "num_neurons", "num_blocks") if n not in d]
        if missing:
            raise ConfigError(f"config: missing key {missing[0]!r}")
        try:
            return cls(**d, extra=extra)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config: {exc}") from None
