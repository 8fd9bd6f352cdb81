"""The fixed-point network artifact: integers + profile + provenance, in one file.

The stages run as a pipeline (one step of latency per synapse hop, as Lava's
``Dense``): a stage at depth d (synapse hops from the input) handles float time
step ``t`` at pipeline step ``t + d``.  Synapses from shallower sources carry
``delay`` extra steps so that every input of a stage belongs to the same float
step.  See docs/fixed-point.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError
from s5rf_deploy.fixed import synapse as fs
from s5rf_deploy.fixed.inputs import (
    BINARY,
    BINARY_INPUT,
    INPUT_KINDS,
    InputEncoding,
    encoding_from_dict,
    graded_payload_max,
    has_graded_spikes,
)
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.hw_profiles import HardwareProfile, profile_from_dict
from s5rf_deploy.s5rf.config import MAX_SPIKE_BITS, spike_levels

KIND = "s5rf-fxp-network"
VERSION = 1
SPIKE_RULES = ("cartesian", "polar", "graded")
UNSAVED = "<unsaved network>"  # how validation before saving names the network


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
    spike_bits: int = 1  # > 1: sends counts 0 .. 2^spike_bits - 1 as graded payloads (multi-bit outputs)

    @property
    def size(self) -> int:
        return self.decay_re.shape[0]

    @property
    def levels(self) -> int:
        """The largest count this stage sends as spikes (1: binary spikes)."""
        return spike_levels(self.spike_bits)


@dataclass(frozen=True)
class Readout:
    """Per-class Lava LIFs: current = leaky integrator, voltage = its running sum (never fires)."""

    inputs: tuple[Synapse, ...]
    du: np.ndarray  # int64 (C,)
    vth_mantissa: int
    scale: float  # u units per float readout unit


@dataclass(frozen=True)
class FxpNetwork:
    """An S5-RF network laid out as a pipeline: quantized for one hardware profile, or a float layout
    (``profile`` None, :func:`s5rf_deploy.s5rf.layout.float_pipeline`) for Lava's floating_pt models."""

    input_dim: int
    stages: tuple[Stage, ...]
    readout: Readout
    profile: HardwareProfile | None
    layer_stages: tuple[int, ...]  # stage whose spikes are float RF layer i's spikes
    state_stages: tuple[int, ...]  # stage whose state is float RF layer i's state z
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    input_encoding: InputEncoding = BINARY_INPUT  # binary spikes, or graded payloads of analog inputs

    @property
    def precision(self) -> str:
        """"fixed" for a quantized network, "float" for a float layout: what its hardware profile says."""
        return "float" if self.profile is None else "fixed"

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
    """Validate the network (as :func:`load_fxp` will), then write the artifact atomically (no float model
    needed to load it)."""
    validate_fxp(net, UNSAVED)
    arrays: dict[str, np.ndarray] = {}
    stages = fs.stage_records(net.stages, arrays, ("decay_re", "decay_im"),
                           ("threshold", "spike", "input_shift", "state_scale", "payload_shift",
                                                                 "spike_bits"))
    ro_meta: list = []
    fs.synapse_arrays("readout", net.readout.inputs, arrays, ro_meta)
    arrays["readout.du"] = net.readout.du
    meta = {"input_dim": net.input_dim, "stages": stages, "profile": net.profile.to_dict(),
            "readout": {"inputs": ro_meta, "vth_mantissa": net.readout.vth_mantissa, "scale": net.readout.scale},
            "layer_stages": list(net.layer_stages), "state_stages": list(net.state_stages),
            "provenance": net.provenance, "input": net.input_encoding.to_dict()}
    container.save(path, KIND, VERSION, meta, arrays)


def load_fxp(path: str | os.PathLike) -> FxpNetwork:
    """Read an artifact written by :func:`save_fxp`; name any problem in one line.

    Stored values keep their JSON types here: :func:`validate_fxp` checks them.
    """
    meta, arrays = container.load(path, KIND, VERSION)
    try:
        profile = profile_from_dict(meta["profile"], f"{path} (embedded profile)")
        stages = tuple(
            Stage(decay_re=fs.int_array(arrays, f"stage{k}.decay_re"),
                  decay_im=fs.int_array(arrays, f"stage{k}.decay_im"),
                  threshold=s["threshold"], spike=s["spike"], input_shift=s["input_shift"],
                  state_scale=s["state_scale"], payload_shift=s["payload_shift"], spike_bits=s.get("spike_bits", 1),
                  inputs=fs.read_synapses(f"stage{k}.in", s["inputs"], arrays))
            for k, s in enumerate(meta["stages"]))
        ro = meta["readout"]
        readout = Readout(fs.read_synapses("readout", ro["inputs"], arrays), fs.int_array(arrays, "readout.du"),
                          ro["vth_mantissa"], ro["scale"])
        net = FxpNetwork(meta["input_dim"], stages, readout, profile, fs.as_tuple(meta["layer_stages"]),
                         fs.as_tuple(meta["state_stages"]), meta.get("provenance", {}),
                         encoding_from_dict(meta.get("input"), profile, meta["input_dim"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: incomplete or malformed fixed-point network "
                          f"({type(exc).__name__}: {exc})") from None
    validate_fxp(net, str(path))
    return net


def validate_fxp(net: FxpNetwork, source: str) -> None:
    """Check every field the steppers and Lava builders rely on; raise a one-line :class:`FormatError` naming
    ``source`` and the field.

    Types, shapes and dtypes; every integer within the profile's widths; synapses from the input or earlier
    stages only, reading what their source sends ("spikes", or a graded stage's "re"/"im"), delayed by exactly
    the pipeline's alignment (docs/fixed-point.md, timing); and the stages recording each float layer.
    """
    fs.check_int(net.input_dim, 1, None, "input_dim", source)
    if not isinstance(net.provenance, dict):
        raise FormatError(f"{source}: provenance is not a mapping")
    _check_input_encoding(net, source)
    sends: dict[int, tuple[int, tuple[str, ...]]] = {INPUT: (net.input_dim, ("spikes",))}
    for k, st in enumerate(net.stages):
        _check_stage(net, k, source)
        for j, syn in enumerate(st.inputs):
            _check_pipeline_synapse(net, syn, k, f"stage{k}.in.{j}", 2 * st.size, sends, source)
        sends[k] = (st.size, ("re", "im") if st.spike == "graded" else ("spikes",))
    _check_readout(net, sends, source)
    _check_layers(net, source)


def _check_input_encoding(net: FxpNetwork, source: str) -> None:
    """The input's kind and scale: binary spikes, or graded payloads the profile can carry."""
    enc = net.input_encoding
    if enc.kind not in INPUT_KINDS:
        raise FormatError(f"{source}: input kind {enc.kind!r} is not one of {INPUT_KINDS}")
    if enc.kind == BINARY:
        if enc != BINARY_INPUT:
            raise FormatError(f"{source}: binary inputs have scale 0 and payloads of 1, not {enc}")
        return
    if not has_graded_spikes(net.profile):
        raise FormatError(f"{source}: graded (analog) inputs, but profile {net.profile.name!r} carries binary "
                          f"spikes only")
    fs.check_int(enc.scale_log2, -64, 64, "input scale_log2", source)
    expected = graded_payload_max(net.profile, net.input_dim)
    if enc.payload_max != expected:
        raise FormatError(f"{source}: graded input payloads up to {enc.payload_max}, the profile allows {expected}")


def _check_stage(net: FxpNetwork, k: int, source: str) -> None:
    """A stage's decays, spike rule, threshold, shifts and scale."""
    st, prof = net.stages[k], net.profile
    for name in ("decay_re", "decay_im"):
        decay = getattr(st, name)
        if not (isinstance(decay, np.ndarray) and decay.dtype.kind in "iu" and decay.ndim == 1 and decay.size):
            raise FormatError(f"{source}: stage {k} {name} (stage{k}.{name}) is not a non-empty 1-D integer array")
    if st.decay_im.shape != st.decay_re.shape:
        raise FormatError(f"{source}: stage {k} decay arrays differ in shape")
    dmax = (1 << prof.decay["bits"]) - 1
    if np.any(np.abs(st.decay_re) > dmax) or np.any(np.abs(st.decay_im) > dmax):
        raise FormatError(f"{source}: stage {k} decay coefficients exceed {prof.decay['bits']} bits")
    if not (isinstance(st.spike, str) and st.spike in SPIKE_RULES):
        raise FormatError(f"{source}: stage {k} has spike rule {st.spike!r}, not one of {SPIKE_RULES}")
    if st.spike == "graded" and not has_graded_spikes(prof):
        raise FormatError(f"{source}: stage {k} sends graded payloads, but profile {prof.name!r} carries binary "
                          f"spikes only")
    fs.check_int(st.threshold, 0, prof.state_max, f"stage {k} threshold", source)
    fs.check_int(st.input_shift, 0, prof.state["input_shift_max"], f"stage {k} input shift", source)
    fs.check_int(st.payload_shift, 0, prof.state["bits"] - 1, f"stage {k} payload shift", source)
    fs.check_positive(st.state_scale, f"stage {k} state scale", source)
    _check_spike_bits(st, k, prof, source)


def _check_spike_bits(st: Stage, k: int, prof: HardwareProfile, source: str) -> None:
    """Multi-bit outputs: counts of a spiking stage, above a positive threshold, in payloads the profile carries."""
    fs.check_int(st.spike_bits, 1, MAX_SPIKE_BITS, f"stage {k} spike_bits", source)
    if st.spike_bits == 1:
        return
    if st.spike == "graded":
        raise FormatError(f"{source}: stage {k} sends graded re/im payloads and cannot also send multi-bit spikes")
    if not has_graded_spikes(prof):
        raise FormatError(f"{source}: stage {k} sends {st.spike_bits}-bit outputs, but profile {prof.name!r} carries "
                          f"binary spikes only")
    if st.spike_bits >= prof.spikes["payload_bits"]:
        raise FormatError(f"{source}: stage {k} sends {st.spike_bits}-bit counts, beyond the profile's signed "
                          f"{prof.spikes['payload_bits']}-bit payloads")
    fs.check_int(st.threshold, 1, prof.state_max, f"stage {k} threshold (multi-bit outputs)", source)


def _check_pipeline_synapse(net: FxpNetwork, syn: Synapse, target: int, name: str, rows: int,
                            sends: dict[int, tuple[int, tuple[str, ...]]], source: str) -> None:
    """One synapse into stage ``target`` (the readout: ``len(net.stages)``), ``sends`` holding its possible
    sources: the shared checks, then the pipeline's alignment and Lava's undelayed graded payloads."""
    where = f"stage {target}" if target < len(net.stages) else "readout"
    fs.check_synapse(syn, where, name, rows, sends, "the network input or an earlier stage", net.profile, source)
    aligned = net.depth(target) - (0 if syn.source == INPUT else net.depth(syn.source)) - 1
    if syn.delay != aligned:
        raise FormatError(f"{source}: {where} synapse from {syn.source} ({name}) delay {syn.delay} breaks the "
                          f"pipeline's alignment, which needs {aligned}")
    if syn.part != "spikes" and syn.delay:
        raise FormatError(f"{source}: {where} synapse from {syn.source} ({name}) delays graded payloads; Lava's "
                          f"delayed ports carry spikes only")


def _check_readout(net: FxpNetwork, sends: dict[int, tuple[int, tuple[str, ...]]], source: str) -> None:
    """The readout's leaks (one per class), threshold, scale and synapses."""
    du, readout = net.readout.du, net.profile.readout
    if not (isinstance(du, np.ndarray) and du.dtype.kind in "iu" and du.ndim == 1 and du.size):
        raise FormatError(f"{source}: readout du (readout.du) is not a non-empty 1-D integer array of class leaks")
    for value in du.tolist():
        fs.check_int(value, 0, (1 << readout["leak_bits"]) - 1, "readout du", source)
    fs.check_int(net.readout.vth_mantissa, 0, (1 << readout["threshold_mantissa_bits"]) - 1,
              "readout threshold mantissa", source)
    fs.check_positive(net.readout.scale, "readout scale", source)
    for j, syn in enumerate(net.readout.inputs):
        _check_pipeline_synapse(net, syn, len(net.stages), f"readout.{j}", net.num_classes, sends, source)


def _check_layers(net: FxpNetwork, source: str) -> None:
    """``layer_stages``/``state_stages``: per float layer, the stage with its state (an RF stage, fed by spikes)
    and the one with its spikes (the same stage, or after a graded one the mixing stage that follows it)."""
    for what, stages in (("layer_stages", net.layer_stages), ("state_stages", net.state_stages)):
        if not isinstance(stages, tuple):
            raise FormatError(f"{source}: {what} {stages!r} is not a list of stages")
        for k in stages:
            if not (fs.is_int(k) and 0 <= k < len(net.stages)):
                raise FormatError(f"{source}: layer stage {k!r} is not one of the {len(net.stages)} stages ({what})")
    if len(net.layer_stages) != len(net.state_stages):
        raise FormatError(f"{source}: layer_stages and state_stages name {len(net.layer_stages)} and "
                          f"{len(net.state_stages)} layers")
    for i, (spiking, state) in enumerate(zip(net.layer_stages, net.state_stages, strict=True)):
        if any(syn.part != "spikes" for syn in net.stages[state].inputs):
            raise FormatError(f"{source}: state_stages[{i}] = {state} is a mixing stage, not an RF stage")
        expected = state + 1 if net.stages[state].spike == "graded" else state
        if spiking != expected or net.stages[spiking].spike == "graded":
            raise FormatError(f"{source}: layer_stages[{i}] = {spiking}, but layer {i}'s spikes come from stage "
                              f"{expected}")

