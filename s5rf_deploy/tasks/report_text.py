"""Plain-text tables of reports for the terminal."""

from __future__ import annotations

from s5rf_deploy.fixed.weights import QuantizationReport


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).rjust(w) for x, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    return "\n".join(lines)


def quantization_table(report: QuantizationReport, profile: str) -> str:
    """Per-layer scales and errors, readout, resources and (with calibration) agreement."""
    rows = []
    agree = report.calibration.get("agreement", {})
    spikes = agree.get("spike_agreement", {})
    for entry in report.layers:
        i = entry["layer"]
        rows.append([str(i), str(entry["neurons"]), f"2^{entry['state_scale_log2']}", str(entry["threshold"]),
                     str(entry["input_shift"]), ",".join(str(e) for e in entry["weight_exponents"]),
                     f"{entry['weight_error']['rel_rms']:.2e}", f"{entry['pole_error']['max_abs_magnitude']:.1e}",
                     f"{entry['pole_error']['max_abs_angle']:.1e}",
                     f"{spikes[f'layer {i}']:.4f}" if f"layer {i}" in spikes else "-"])
    out = [f"profile {profile}",
           text_table(["layer", "neurons", "scale", "threshold", "shift", "w_exp", "w_err(rms)", "|pole| err",
                   "angle err", "spike agr"], rows)]
    inputs = report.inputs
    if inputs["kind"] == "graded":
        err = inputs["error"]
        out.append(f"inputs: graded payloads round(x 2^{inputs['scale_log2']}), |payload| <= {inputs['payload_max']} "
                   f"(|x| <= {inputs['input_max']:.4g}); quantization error max {err['max_abs']:.2e}, "
                   f"rel rms {err['rel_rms']:.2e}")
    ro = report.readout
    out.append(f"readout: scale 2^{ro['scale_log2']} ({ro['scale_basis']}), weight_exp "
               f"{','.join(str(e) for e in ro['weight_exponents'])}, max leak error {ro['max_abs_leak_error']:.1e}")
    res = report.resources
    out.append(f"resources: {res['neurons']} neurons, {res['synapses']} synapses, {res['cores']} of "
               f"{res['cores_available']} cores: {'fits' if res['fits'] else 'DOES NOT FIT'}")
    return "\n".join(out + _calibration_lines(report))


def _calibration_lines(report: QuantizationReport) -> list[str]:
    """Agreement on the calibration data (when calibrated) and the quantizer's warnings."""
    out = []
    if report.digits:
        chosen = ", ".join(f"{name} {d}" for name, d in report.digits["chosen"].items())
        out.append(f"weight digits chosen by result (top-1 agreement >= {report.digits['target']}): {chosen} "
                   f"({len(report.digits['tried'])} choices tried)")
    agree = report.calibration.get("agreement")
    if agree:
        sat = sum(agree["saturation"].values())
        out.append(f"calibration ({report.calibration['samples']} samples): top-1 agreement "
                   f"{agree['top1_agreement']:.4f}, {sat} saturated updates")
    return out + [f"warning: {msg}" for msg in report.overflow]


def graph_quantization_table(report: QuantizationReport, profile: str) -> str:
    """Per-stage decays, thresholds and errors of a standard graph on Lava LIFs, resources, agreement."""
    agree = report.calibration.get("agreement", {}).get("spike_agreement", {})
    rows = []
    for entry in report.layers:
        for st in entry["stages"]:
            rows.append([entry["node"], str(st["neurons"]), str(entry["offset"]), str(st["du"]), str(st["dv"]),
                         str(st["vth_mantissa"]), f"{st['pole_error']['u']:.1e}", f"{st['pole_error']['v']:.1e}",
                         f"{st['weight_rel_error']:.1e}",
                         f"{agree[entry['node']]:.4f}" if entry["node"] in agree else "-"])
    out = [f"profile {profile}",
           text_table(["node", "neurons", "offset", "du", "dv", "vth", "u pole err", "v pole err", "w err(max)",
                   "spike agr"], rows)]
    res = report.resources
    out.append(f"resources: {res['neurons']} neurons, {res['synapses']} synapses, {res['cores']} of "
               f"{res['cores_available']} cores: {'fits' if res['fits'] else 'DOES NOT FIT'}")
    return "\n".join(out + _calibration_lines(report))


def quantization_text(report: QuantizationReport, profile: str) -> str:
    """The quantization table of either family (graph reports list LIF stages per node)."""
    graph = bool(report.layers) and "stages" in report.layers[0]
    return (graph_quantization_table if graph else quantization_table)(report, profile)
