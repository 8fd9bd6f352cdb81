"""Synapses as both network families store and run them: one Lava ``Dense`` each.

A synapse reads one source (a population index, or :data:`INPUT`), holds
integer weights in Lava's 8-bit range with one exponent, and may carry extra
delay beyond the one-step latency of a Lava ``Dense``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def int_array(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The integer array ``name`` as int64; any other dtype is a corrupted artifact."""
    value = arrays[name]
    if value.dtype.kind not in "iu":
        raise ValueError(f"array {name!r} holds {value.dtype} values, expected integers")
    return value.astype(np.int64)


def read_synapses(prefix: str, metas: list, arrays: dict) -> tuple[Synapse, ...]:
    """The synapses written by :func:`synapse_arrays` (integer weights)."""
    return tuple(Synapse(source=int(m["source"]), weights=int_array(arrays, f"{prefix}.{j}.weights"),
                         weight_exp=int(m["weight_exp"]), delay=int(m["delay"]), part=str(m["part"]))
                 for j, m in enumerate(metas))
