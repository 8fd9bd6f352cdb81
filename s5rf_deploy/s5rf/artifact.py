"""The fixed-point network artifact: integers + profile + provenance, in one file.

The stages run as a pipeline (one step of latency per synapse hop, as Lava's
``Dense``): a stage at depth d (synapse hops from the input) handles float time
step ``t`` at pipeline step ``t + d``.  Synapses from shallower sources carry
``delay`` extra steps so that every input of a stage belongs to the same float
step.  See docs/fixed-point.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError
from s5rf_deploy.fixed.synapse import INPUT, PARTS, Synapse, int_array, read_synapses, synapse_arrays, weights_fit
from s5rf_deploy.hw_profiles import HardwareProfile, profile_from_dict

KIND = "s5rf-fxp-network"
VERSION = 1
SPIKE_RULES = ("cartesian", "polar", "graded")


@dataclass(frozen=True)
class Stage:
    """A population of RF compartments and its synapses.

    Every synapse drives both inputs at once: its weights are ``(2P, in)``,
    rows ``:P`` into the real input and rows ``P:`` into the imaginary one, so
    one Lava ``Dense`` serves both (one shared exponent).
    """

    decay_re: np.ndarray  # int64 (P,): round(Re lambda_bar * 2^decay_bits)
    decay_im: np.ndarray  # int64 (P,)
    threshold: int  # in state units
    spike: str  # "cartesian" | "polar" | "graded" (sends re/im payloads, no spikes)
    input_shift: int
    inputs: tuple[Synapse, ...]
    state_scale: float  # state units per float unit
    payload_shift: int = 0  # graded stages: payload = state >> payload_shift

    @property
    def size(self) -> int:
        return self.decay_re.shape[0]


@dataclass(frozen=True)
class Readout:
    """Per-class Lava LIFs: current = leaky integrator, voltage = its running sum (never fires)."""

    inputs: tuple[Synapse, ...]
    du: np.ndarray  # int64 (C,)
    vth_mantissa: int
    scale: float  # u units per float readout unit


@dataclass(frozen=True)
class FxpNetwork:
    """A quantized S5-RF network for one hardware profile."""

    input_dim: int
    stages: tuple[Stage, ...]
    readout: Readout
    profile: HardwareProfile
    layer_stages: tuple[int, ...]  # stage whose spikes are float RF layer i's spikes
    state_stages: tuple[int, ...]  # stage whose state is float RF layer i's state z
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def depth(self, stage: int) -> int:
        """Synapse hops from the network input to ``stage`` (the readout is ``len(stages)``)."""
        return stage + 1

    @property
    def latency(self) -> int:
        """Pipeline steps between an input sample and its readout update."""
        return len(self.stages) + 1

    @property
    def num_classes(self) -> int:
        return self.readout.du.shape[0]


def save_fxp(net: FxpNetwork, path: str | os.PathLike) -> None:
    """Write the artifact atomically (no float model needed to load it)."""
    arrays: dict[str, np.ndarray] = {}
    stages = []
    for k, st in enumerate(net.stages):
        arrays[f"stage{k}.decay_re"] = st.decay_re
        arrays[f"stage{k}.decay_im"] = st.decay_im
        in_meta: list = []
        synapse_arrays(f"stage{k}.in", st.inputs, arrays, in_meta)
        stages.append({"threshold": st.threshold, "spike": st.spike, "input_shift": st.input_shift,
                       "state_scale": st.state_scale, "payload_shift": st.payload_shift,
                       "inputs": in_meta})
    ro_meta: list = []
    synapse_arrays("readout", net.readout.inputs, arrays, ro_meta)
    arrays["readout.du"] = net.readout.du
    meta = {"input_dim": net.input_dim, "stages": stages, "profile": net.profile.to_dict(),
            "readout": {"inputs": ro_meta, "vth_mantissa": net.readout.vth_mantissa, "scale": net.readout.scale},
            "layer_stages": list(net.layer_stages), "state_stages": list(net.state_stages),
            "provenance": net.provenance}
    container.save(path, KIND, VERSION, meta, arrays)


def load_fxp(path: str | os.PathLike) -> FxpNetwork:
    """Read an artifact written by :func:`save_fxp`; name any problem in one line."""
    meta, arrays = container.load(path, KIND, VERSION)
    try:
        profile = profile_from_dict(meta["profile"], f"{path} (embedded profile)")
        stages = tuple(
            Stage(decay_re=int_array(arrays, f"stage{k}.decay_re"), decay_im=int_array(arrays, f"stage{k}.decay_im"),
                  threshold=int(s["threshold"]), spike=str(s["spike"]), input_shift=int(s["input_shift"]),
                  state_scale=float(s["state_scale"]), payload_shift=int(s["payload_shift"]),
                  inputs=read_synapses(f"stage{k}.in", s["inputs"], arrays))
            for k, s in enumerate(meta["stages"]))
        ro = meta["readout"]
        readout = Readout(read_synapses("readout", ro["inputs"], arrays), int_array(arrays, "readout.du"),
                          int(ro["vth_mantissa"]), float(ro["scale"]))
        net = FxpNetwork(int(meta["input_dim"]), stages, readout, profile, tuple(meta["layer_stages"]),
                         tuple(meta["state_stages"]), meta.get("provenance", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: incomplete or malformed fixed-point network "
                          f"({type(exc).__name__}: {exc})") from None
    validate_fxp(net, str(path))
    return net


def validate_fxp(net: FxpNetwork, source: str) -> None:
    """Check shapes, stage references, rules and that every stored integer fits the profile."""
    widths = {INPUT: net.input_dim}
    limit = net.profile.state_max
    for k in net.layer_stages + net.state_stages:
        if not (isinstance(k, int) and 0 <= k < len(net.stages)):
            raise FormatError(f"{source}: layer stage {k!r} is not one of the {len(net.stages)} stages")
    for k, st in enumerate(net.stages):
        if st.spike not in SPIKE_RULES:
            raise FormatError(f"{source}: stage {k} has spike rule {st.spike!r}, not one of {SPIKE_RULES}")
        if st.decay_im.shape != st.decay_re.shape:
            raise FormatError(f"{source}: stage {k} decay arrays differ in shape")
        dmax = (1 << net.profile.decay["bits"]) - 1
        if np.any(np.abs(st.decay_re) > dmax) or np.any(np.abs(st.decay_im) > dmax):
            raise FormatError(f"{source}: stage {k} decay coefficients exceed {net.profile.decay['bits']} bits")
        if not 0 <= st.threshold <= limit:
            raise FormatError(f"{source}: stage {k} threshold {st.threshold} outside the {limit} state range")
        _check_scale(st.state_scale, f"stage {k} state scale", source)
        _check_range(st.input_shift, 0, net.profile.state["input_shift_max"], f"stage {k} input shift", source)
        _check_range(st.payload_shift, 0, net.profile.state["bits"] - 1, f"stage {k} payload shift", source)
        for syn in st.inputs:
            _check_synapse(syn, f"stage {k}", 2 * st.size, widths, net, source)
        widths[k] = st.size
    for syn in net.readout.inputs:
        _check_synapse(syn, "readout", net.num_classes, widths, net, source)
    _check_scale(net.readout.scale, "readout scale", source)
    readout = net.profile.readout
    for du in net.readout.du:
        _check_range(int(du), 0, (1 << readout["leak_bits"]) - 1, "readout du", source)
    _check_range(net.readout.vth_mantissa, 0, (1 << readout["threshold_mantissa_bits"]) - 1,
                 "readout threshold mantissa", source)


def _check_range(value: int, low: int, high: int, what: str, source: str) -> None:
    if not low <= value <= high:
        raise FormatError(f"{source}: {what} {value} outside the profile's range {low}..{high}")


def _check_scale(value: float, what: str, source: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise FormatError(f"{source}: {what} {value} is not a positive finite number")


def _check_synapse(syn: Synapse, where: str, size: int, widths: dict, net: FxpNetwork, source: str) -> None:
    if syn.source not in widths:
        raise FormatError(f"{source}: {where} has a synapse from unknown stage {syn.source}")
    if syn.part not in PARTS:
        raise FormatError(f"{source}: {where} synapse from {syn.source} carries {syn.part!r}, not one of {PARTS}")
    if syn.weights.shape != (size, widths[syn.source]):
        raise FormatError(f"{source}: {where} synapse from {syn.source} has shape {syn.weights.shape}, "
                          f"expected {(size, widths[syn.source])}")
    if not weights_fit(syn.weights):
        raise FormatError(f"{source}: {where} synapse weights exceed 8 bits")
    w = net.profile.weights
    if not w["exponent_min"] <= syn.weight_exp <= w["exponent_max"]:
        raise FormatError(f"{source}: {where} weight exponent {syn.weight_exp} outside the profile range")
    if not 0 <= syn.delay <= net.profile.spikes["max_delay"]:
        raise FormatError(f"{source}: {where} synapse delay {syn.delay} outside the profile range")
