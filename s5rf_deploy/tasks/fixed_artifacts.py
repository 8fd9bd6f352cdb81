"""The fixed-point counterpart of a float network: a given artifact (checked to match) or a fresh quantization."""

from __future__ import annotations

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.graphs.artifact import LifGraph
from s5rf_deploy.graphs.network import GraphNetwork
from s5rf_deploy.s5rf.artifact import FxpNetwork
from s5rf_deploy.s5rf.network import S5RFNetwork


def check_matches(net: S5RFNetwork | GraphNetwork, fxp: FxpNetwork | LifGraph, source: str) -> None:
    """Refuse an artifact whose shapes differ from the float network's."""
    if isinstance(net, S5RFNetwork):
        if not isinstance(fxp, FxpNetwork):
            raise S5RFError(f"{source}: holds a quantized standard graph, the model is an S5-RF network")
        sizes = [fxp.stages[k].size for k in fxp.layer_stages]
        expected = [layer.num_neurons for layer in net.layers]
        if (fxp.input_dim, sizes, fxp.num_classes) != (net.input_dim, expected, net.num_classes):
            raise S5RFError(f"{source}: artifact has {fxp.input_dim} inputs, layers {sizes}, {fxp.num_classes} "
                            f"classes; the model has {net.input_dim}, {expected}, {net.num_classes}")
        return
    if not isinstance(fxp, LifGraph):
        raise S5RFError(f"{source}: holds a quantized S5-RF network, the model is a standard graph")
    if fxp.input_dim != net.input_dim or fxp.num_classes != net.output_dim:
        raise S5RFError(f"{source}: artifact has {fxp.input_dim} inputs and {fxp.num_classes} outputs; the graph "
                        f"has {net.input_dim} and {net.output_dim}")


def fixed_point_for(net: S5RFNetwork | GraphNetwork, fxp_path: str | None, profile: str,
                    calibrate: str | None = None, dt: float | None = None) -> tuple[FxpNetwork | LifGraph, str]:
    """The artifact at ``fxp_path`` (checked against ``net``), else ``net`` quantized for ``profile``
    (calibrated on the inputs of ``calibrate`` for S5-RF networks).  Returns it and a description."""
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.tasks.loading import load_any

    if fxp_path:
        fxp = load_any(fxp_path)
        if not isinstance(fxp, (FxpNetwork, LifGraph)):
            raise S5RFError(f"{fxp_path}: not a fixed-point artifact")
        check_matches(net, fxp, fxp_path)
        return fxp, f"artifact {fxp_path} ({fxp.profile.name})"
    prof = load_profile(profile)
    if isinstance(net, S5RFNetwork):
        from s5rf_deploy.dataset import load_dataset
        from s5rf_deploy.s5rf.quantize import quantize

        calib = None
        if calibrate:
            data = load_dataset(calibrate).head(256)
            data.check_width(net.input_dim, calibrate)
            calib = np.asarray(data.inputs)
        fxp, _ = quantize(net, prof, calib)
        return fxp, f"quantized for {prof.name}" + (f", calibrated on {calibrate}" if calibrate else "")
    from s5rf_deploy.graphs.quantize import lif_graph

    graph, _ = lif_graph(net, prof, "fixed", dt)
    return graph, f"quantized for {prof.name}"
