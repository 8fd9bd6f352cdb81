"""Synapses as both network families store and run them: one Lava ``Dense`` each.

A synapse reads one source (a population index, or :data:`INPUT`), holds
integer weights in Lava's 8-bit range with one exponent, and may carry extra
delay beyond the one-step latency of a Lava ``Dense``.  Both artifact
validators check synapses, and their own integer fields, with the helpers here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from s5rf_deploy.errors import FormatError
from s5rf_deploy.hw_profiles import HardwareProfile

INPUT = -1  # synapse source index of the network input
PARTS = ("spikes", "re", "im")  # what a source sends: spikes, or a graded stage's real / imaginary payload
WEIGHT_MIN, WEIGHT_MAX = -256, 255  # Lava Dense weights: 8-bit mantissa and sign (docs/fixed-point.md)


@dataclass(frozen=True)
class Synapse:
    """One Lava ``Dense``: integer weights (Lava values), exponent, and extra delay for skip alignment."""

    source: int  # population index, or INPUT (a family may add sources of its own)
    weights: np.ndarray  # int64 (out, in)
    weight_exp: int
    delay: int = 0  # extra steps beyond the one-step Dense latency
    part: str = "spikes"  # what the source sends: "spikes", or for graded stages "re" / "im"


def weights_fit(weights: np.ndarray) -> bool:
    """Whether every weight is in Lava's 8-bit range."""
    return not (np.any(weights < WEIGHT_MIN) or np.any(weights > WEIGHT_MAX))


def synapse_arrays(prefix: str, syns: tuple[Synapse, ...], arrays: dict, meta: list) -> None:
    """Store ``syns`` as arrays ``<prefix>.<j>.weights`` and one metadata entry each (shared by every artifact)."""
    for j, syn in enumerate(syns):
        arrays[f"{prefix}.{j}.weights"] = syn.weights
        meta.append({"source": syn.source, "weight_exp": syn.weight_exp, "delay": syn.delay, "part": syn.part})


def stage_records(stages, arrays: dict, array_fields: tuple[str, ...], meta_fields: tuple[str, ...]) -> list[dict]:
    """Store each stage's ``array_fields`` as arrays ``stage<k>.<field>`` and its input synapses with
    :func:`synapse_arrays`; return one metadata record per stage (``meta_fields`` and ``inputs``)."""
    records = []
    for k, st in enumerate(stages):
        for name in array_fields:
            arrays[f"stage{k}.{name}"] = getattr(st, name)
        syns: list = []
        synapse_arrays(f"stage{k}.in", st.inputs, arrays, syns)
        records.append({name: getattr(st, name) for name in meta_fields} | {"inputs": syns})
    return records


def int_array(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The integer array ``name`` as int64; any other dtype is a corrupted artifact."""
    value = arrays[name]
    if value.dtype.kind not in "iu":
        raise ValueError(f"array {name!r} holds {value.dtype} values, expected integers")
    return value.astype(np.int64)


def read_synapses(prefix: str, metas: list, arrays: dict) -> tuple[Synapse, ...]:
    """The synapses written by :func:`synapse_arrays` (integer weights; other fields as stored, for
    :func:`check_synapse` to check)."""
    return tuple(Synapse(source=m["source"], weights=int_array(arrays, f"{prefix}.{j}.weights"),
                         weight_exp=m["weight_exp"], delay=m["delay"], part=m["part"])
                 for j, m in enumerate(metas))


def as_tuple(value: Any) -> Any:
    """A stored JSON list as a tuple; any other value unchanged, for a validator to name."""
    return tuple(value) if isinstance(value, list) else value


def is_int(value: Any) -> bool:
    """Whether ``value`` is a Python integer (not a bool: JSON keeps the two apart)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: Any, low: int, high: int | None, what: str, origin: str) -> None:
    """Raise a one-line :class:`FormatError` unless ``value`` is an integer from ``low`` up to the profile's limit
    ``high`` (None: no upper limit)."""
    if not is_int(value):
        raise FormatError(f"{origin}: {what} {value!r} is not an integer")
    if high is None and value < low:
        raise FormatError(f"{origin}: {what} {value} is below {low}")
    if high is not None and not low <= value <= high:
        raise FormatError(f"{origin}: {what} {value} outside the profile's range {low}..{high}")


def check_positive(value: Any, what: str, origin: str) -> None:
    """Raise a one-line :class:`FormatError` unless ``value`` is a positive finite number (a scale, a step)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise FormatError(f"{origin}: {what} {value!r} is not a positive finite number")


def check_synapse(syn: Synapse, where: str, name: str, rows: int, sources: dict[int, tuple[int, tuple[str, ...]]],
                  allowed: str, profile: HardwareProfile, origin: str) -> None:
    """Check one synapse into a population of ``rows`` inputs (``where``; ``name`` its artifact prefix, such as
    ``stage0.in.1``).  ``sources`` maps each source it may read to (width, parts it sends); ``allowed`` says which
    these are.  Checks field types, source, part, the weights' dtype, shape and 8-bit range, the exponent and the
    delay against ``profile``."""
    for field in ("source", "weight_exp", "delay"):
        if not is_int(getattr(syn, field)):
            raise FormatError(f"{origin}: {where} synapse {name} {field} {getattr(syn, field)!r} is not an integer")
    label = f"{where} synapse from {syn.source}"
    if syn.source not in sources:
        raise FormatError(f"{origin}: {label} ({name}): the source must be {allowed}")
    width, parts = sources[syn.source]
    if not (isinstance(syn.part, str) and syn.part in parts):
        sent = " and ".join(repr(part) for part in parts)
        raise FormatError(f"{origin}: {label} ({name}) reads part {syn.part!r}; source {syn.source} sends only {sent}")
    if not (isinstance(syn.weights, np.ndarray) and syn.weights.dtype.kind in "iu"):
        raise FormatError(f"{origin}: {label} ({name}) weights are not an integer array")
    if syn.weights.shape != (rows, width):
        raise FormatError(f"{origin}: {label} has shape {syn.weights.shape}, expected {(rows, width)} ({name})")
    if not weights_fit(syn.weights):
        raise FormatError(f"{origin}: {label} ({name}) weights exceed 8 bits")
    w = profile.weights
    check_int(syn.weight_exp, w["exponent_min"], w["exponent_max"], f"{label} ({name}) weight exponent", origin)
    check_int(syn.delay, 0, profile.spikes["max_delay"], f"{label} ({name}) delay", origin)
