"""The two network families, one record each: the only place that tells them apart by type.

S5-RF networks (``s5rf/``) and standard NIR graphs (``graphs/``) pass through
the same stages (quantize, save, stepper, Lava, float reference, agreement);
every task looks the stages up here with :func:`family_of` instead of testing
types itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.inputs import BINARY_INPUT, InputEncoding
from s5rf_deploy.fixed.weights import QuantizationReport
from s5rf_deploy.graphs.artifact import LifGraph, save_lif_graph
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.progress import Progress
from s5rf_deploy.s5rf.artifact import FxpNetwork, save_fxp
from s5rf_deploy.s5rf.network import S5RFNetwork
from s5rf_deploy.timing import stage


@dataclass(frozen=True)
class Family:
    """What a network family does at each stage (heavy modules are imported when a stage runs)."""

    name: str
    noun: str  # the kind of network, in words
    outputs: str  # what its outputs are called
    float_type: type
    fixed_type: type
    quantize: Callable[..., tuple[Any, QuantizationReport]]  # (net, profile, digits, max_steps, dt, calibration)
    save_fixed: Callable[[Any, str | os.PathLike], None]
    stepper: Callable[..., Any]  # (fixed, device="cpu") -> object with run(inputs, record, batch_size, progress)
    lava: Callable[[Any, int], Any]  # (fixed, steps) -> object with run(inputs, record, progress)
    agreement: Callable[[Any, Any, np.ndarray, Progress | None], dict[str, Any]]  # fixed vs float on inputs
    shapes: Callable[[Any], tuple]  # inputs, per-layer sizes, classes of a float network or its artifact
    resources: Callable[[Any], dict[str, Any]]  # of a fixed network

    @property
    def describe(self) -> str:
        return f"a{'n' if self.noun[0] in 'S' else ''} {self.noun}"


def _s5rf_quantize(net, profile, digits=2, max_steps=1000, dt=None, calibration=None):
    from s5rf_deploy.s5rf.quantize import quantize

    return quantize(net, profile, calibration, max_steps=max_steps, digits=digits)


def _graph_quantize(net, profile, digits=2, max_steps=1000, dt=None, calibration=None):
    from s5rf_deploy.graphs.quantize import lif_graph

    return lif_graph(net, profile, dt, digits, max_steps, calibration)


def _s5rf_stepper(fxp, device: str = "cpu"):
    from s5rf_deploy.s5rf.stepper import Stepper

    return Stepper(fxp, device)


def _graph_stepper(graph, device: str = "cpu"):
    from s5rf_deploy.graphs.stepper import GraphStepper

    return GraphStepper(graph, device)


def _s5rf_lava(fxp, steps, states=False):
    from s5rf_deploy.s5rf.lava import LavaRunner

    return LavaRunner(fxp, steps)  # records states whenever it records


def _graph_lava(graph, steps, states=False):
    from s5rf_deploy.graphs.lava import LavaGraphRunner

    return LavaGraphRunner(graph, steps, states)


def _s5rf_agreement(net, fxp, inputs, progress=None):
    from s5rf_deploy.s5rf.quantize import agreement

    return agreement(net, fxp, inputs, progress)


def _graph_agreement(net, graph, inputs, progress=None):
    from s5rf_deploy.graphs.quantize import graph_agreement

    result = graph_agreement(net, graph, inputs)
    if progress:
        progress(len(inputs))  # all at once: the graph agreement reports no progress of its own
    return result


def _s5rf_shapes(net) -> tuple:
    if isinstance(net, FxpNetwork):
        return net.input_dim, [net.stages[k].size for k in net.layer_stages], net.num_classes
    return net.input_dim, [layer.num_neurons for layer in net.layers], net.num_classes


def _graph_shapes(net) -> tuple:
    if isinstance(net, LifGraph):
        return net.input_dim, [], net.num_classes
    return net.input_dim, [], net.output_dim


def _s5rf_resources(fxp):
    from s5rf_deploy.s5rf.quantize import estimate_resources

    return estimate_resources(fxp)


def _graph_resources(graph):
    from s5rf_deploy.graphs.quantize import estimate_graph_resources

    return estimate_graph_resources(graph)


S5RF = Family("s5rf", "S5-RF network", "classes", S5RFNetwork, FxpNetwork, _s5rf_quantize, save_fxp, _s5rf_stepper,
              _s5rf_lava, _s5rf_agreement, _s5rf_shapes, _s5rf_resources)
GRAPH = Family("graph", "standard graph", "outputs", GraphNetwork, LifGraph, _graph_quantize, save_lif_graph,
               _graph_stepper, _graph_lava, _graph_agreement, _graph_shapes, _graph_resources)
FAMILIES = (S5RF, GRAPH)


def family_of(net: object) -> Family:
    """The family of a float network or of a fixed-point artifact."""
    for family in FAMILIES:
        if isinstance(net, (family.float_type, family.fixed_type)):
            return family
    raise S5RFError(f"not a network this tool handles: {type(net).__name__}")


def is_fixed(net: object) -> bool:
    """Whether ``net`` is a fixed-point artifact (not a float network)."""
    return isinstance(net, family_of(net).fixed_type) and net.profile is not None


def input_encoding_of(net: object) -> InputEncoding:
    """How the fixed-point form of ``net`` takes inputs: an S5-RF artifact's recorded encoding, else binary spikes
    (standard graphs; float networks quantized without calibration data)."""
    return net.input_encoding if isinstance(net, FxpNetwork) else BINARY_INPUT


def takes_analog_inputs(net: object) -> bool:
    """Whether calibration on analog (non-0/1) inputs gives ``net`` graded inputs (S5-RF) rather than a refusal."""
    return family_of(net) is S5RF


def quantize_network(net, profile, calibration: np.ndarray | None = None, digits: int | str = 2,
                     max_steps: int = 1000, dt: float | None = None, source: str | None = None,
                     target: float = 0.995, progress: Progress | None = None) -> tuple[Any, QuantizationReport]:
    """Quantize a float network of either family for ``profile``.

    With ``calibration`` inputs (N, T, H; from the file ``source``) the scales follow
    what the float network does on them, and ``report.calibration`` records the
    samples and the fixed-point agreement on them, with the same keys for both
    families; the artifact's provenance keeps the same record (``calibrated``
    true or false).  ``digits`` "auto" (S5-RF, calibrated) picks the fewest weight
    digits per connection that keep calibration top-1 agreement >= ``target``.  ``progress`` is told the
    calibration samples checked in fixed point.
    """
    family = family_of(net)
    if digits == "auto":
        if family is not S5RF:
            raise S5RFError("--digits auto chooses digits for S5-RF networks; give a number for standard graphs")
        if calibration is None:
            raise S5RFError("--digits auto chooses by result on calibration data: give --calibrate FILE")
        from s5rf_deploy.s5rf.quantize import quantize_auto

        with stage(f"quantize for {profile.name}, weight digits chosen on the calibration samples"):
            fixed, report = quantize_auto(net, profile, calibration, target, max_steps=max_steps)
    else:
        with stage(f"quantize for {profile.name}"):
            fixed, report = family.quantize(net, profile, int(digits), max_steps, dt, calibration)
    report.calibration["calibrated"] = calibration is not None
    if calibration is not None:
        with stage(f"fixed point against float on the {len(calibration)} calibration samples"):
            agreement = family.agreement(net, fixed, calibration, progress)
        report.calibration.update({"samples": int(len(calibration)), "steps": int(np.shape(calibration)[1]),
                                   "agreement": agreement} | ({"source": str(source)} if source else {}))
    fixed.provenance["calibration"] = report.calibration
    return fixed, report


def check_matches(net, fxp, source: str) -> None:
    """Refuse an artifact whose family or shapes differ from the float network's."""
    family, other = family_of(net), family_of(fxp)
    if other is not family or not is_fixed(fxp):
        raise S5RFError(f"{source}: holds a quantized {other.noun}, the model is {family.describe}")
    (n_in, sizes, classes), want = family.shapes(fxp), family.shapes(net)
    if (n_in, sizes, classes) != want:
        layers = f", layers {sizes}," if sizes or want[1] else " and"
        wanted = f"{want[0]}, {want[1]}, {want[2]}" if sizes or want[1] else f"{want[0]} and {want[2]}"
        raise S5RFError(f"{source}: artifact has {n_in} inputs{layers} {classes} {family.outputs}; the model has "
                        f"{wanted}")
