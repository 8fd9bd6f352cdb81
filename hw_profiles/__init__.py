"""Hardware profiles (``s5rf_deploy.hw_profiles``): TOML data files and their loader.

A profile is a TOML file; the shipped ones live next to this module and are
named by their stem (``loihi2``), any other is given as a path.  Every key is
required, unknown keys are errors, and each error names the key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from s5rf_deploy.errors import ConfigError
from s5rf_deploy.fixed.arithmetic import ROUNDING_RULES

SIGN_MODES = ("mixed", "excitatory", "inhibitory")
EXACT_BITS = 52  # float64 holds every integer below 2**53: the stepper's arithmetic is exact up to here

# section -> key -> (type, check, what the check means)
_SCHEMA: dict[str, dict[str, tuple[type, Any, str]]] = {
    "weights": {
        "mantissa_bits": (int, lambda v: 2 <= v <= 8, "between 2 and 8 (Lava's Dense holds 8-bit weights)"),
        "exponent_min": (int, lambda v: -16 <= v <= 0, "between -16 and 0"),
        "exponent_max": (int, lambda v: 0 <= v <= 16, "between 0 and 16"),
        "sign_modes": (list, lambda v: bool(v) and set(v) <= set(SIGN_MODES), f"a non-empty subset of {SIGN_MODES}"),
    },
    "state": {
        "bits": (int, lambda v: 8 <= v <= 48, "between 8 and 48"),
        "input_shift_max": (int, lambda v: 0 <= v <= 16, "between 0 and 16"),
        "default_headroom": (float, lambda v: 1 <= v < math.inf, "a finite number, at least 1"),
    },
    "decay": {
        "bits": (int, lambda v: 4 <= v <= 24, "between 4 and 24"),
        "rounding": (str, lambda v: v in ROUNDING_RULES, f"one of {ROUNDING_RULES}"),
    },
    "spikes": {
        "payload_bits": (int, lambda v: 1 <= v <= 32, "between 1 and 32"),
        "max_delay": (int, lambda v: 0 <= v <= 1024, "between 0 and 1024"),
    },
    "readout": {
        "leak_bits": (int, lambda v: 4 <= v <= 24, "between 4 and 24"),
        "input_shift": (int, lambda v: 0 <= v <= 16, "between 0 and 16"),
        "threshold_mantissa_bits": (int, lambda v: 1 <= v <= 32, "between 1 and 32"),
    },
    "resources": {
        "neurons_per_core": (int, lambda v: v >= 1, "positive"),
        "synaptic_memory_bytes_per_core": (int, lambda v: v >= 1, "positive"),
        "cores_per_chip": (int, lambda v: v >= 1, "positive"),
        "chips": (int, lambda v: v >= 1, "positive"),
        "max_fan_in": (int, lambda v: v >= 1, "positive"),
    },
}
_TOP = {"name": str, "description": str, "sources": list}


@dataclass(frozen=True)
class HardwareProfile:
    """The widths and sizes of one target, as read from its TOML file."""

    name: str
    description: str
    sources: tuple[str, ...]
    weights: dict[str, Any]
    state: dict[str, Any]
    decay: dict[str, Any]
    spikes: dict[str, Any]
    readout: dict[str, Any]
    resources: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = list(self.sources)
        return d

    @property
    def state_max(self) -> int:
        """Largest state magnitude: states saturate to [-state_max, state_max]."""
        return 2 ** (self.state["bits"] - 1) - 1


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(Path(str(p)).stem for p in resources.files(__package__).iterdir() if str(p).endswith(".toml"))


def profile_from_dict(raw: dict[str, Any], source: str) -> HardwareProfile:
    """Validate a parsed profile; every problem names its key."""
    unknown = set(raw) - set(_TOP) - set(_SCHEMA)
    if unknown:
        raise ConfigError(f"{source}: unknown key {sorted(unknown)[0]!r}")
    for key, typ in _TOP.items():
        if key not in raw:
            raise ConfigError(f"{source}: missing key {key!r}")
        if not isinstance(raw[key], typ):
            raise ConfigError(f"{source}: key {key!r} must be a {typ.__name__}")
    sections = {}
    for section, keys in _SCHEMA.items():
        if not isinstance(raw.get(section), dict):
            raise ConfigError(f"{source}: missing section [{section}]")
        values = raw[section]
        unknown = set(values) - set(keys)
        if unknown:
            raise ConfigError(f"{source}: unknown key {section}.{sorted(unknown)[0]}")
        for key, (typ, check, meaning) in keys.items():
            if key not in values:
                raise ConfigError(f"{source}: missing key {section}.{key}")
            value = values[key]
            if typ is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, typ) or isinstance(value, bool):
                raise ConfigError(f"{source}: key {section}.{key} must be a {typ.__name__}")
            if not check(value):
                raise ConfigError(f"{source}: key {section}.{key} = {value!r} must be {meaning}")
            values[key] = value
        sections[section] = dict(values)
    if sections["weights"]["exponent_min"] > sections["weights"]["exponent_max"]:
        raise ConfigError(f"{source}: key weights.exponent_min exceeds weights.exponent_max")
    if sections["decay"]["bits"] >= sections["state"]["bits"]:
        raise ConfigError(f"{source}: key decay.bits must be smaller than state.bits")
    if sections["state"]["bits"] - 1 + sections["decay"]["bits"] > EXACT_BITS:
        raise ConfigError(f"{source}: state.bits - 1 + decay.bits must be at most {EXACT_BITS}: a state times a decay "
                          f"coefficient must stay exact in the stepper's float64 arithmetic")
    if sections["state"]["default_headroom"] > 2 ** (sections["state"]["bits"] - 2):
        raise ConfigError(f"{source}: key state.default_headroom leaves a threshold no bits: it must be at most "
                          f"2^(state.bits - 2) = {2 ** (sections['state']['bits'] - 2)}")
    return HardwareProfile(name=raw["name"], description=raw["description"], sources=tuple(raw["sources"]),
                           **sections)


def load_profile(name_or_path: str) -> HardwareProfile:
    """A shipped profile by name, or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and name_or_path in builtin_profiles():
        text = (resources.files(__package__) / f"{name_or_path}.toml").read_text()
        source = name_or_path
    elif path.is_file():
        text = path.read_text()
        source = str(path)
    else:
        raise ConfigError(f"unknown profile {name_or_path!r}: not a file, and not one of {builtin_profiles()}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML ({exc})") from None
    return profile_from_dict(raw, source)
