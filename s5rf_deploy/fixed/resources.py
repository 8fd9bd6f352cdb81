"""Resources a fixed-point network needs on a hardware profile: neurons, synapses, memory, cores."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed.synapse import Synapse
from s5rf_deploy.fixed.weights import QuantizationReport
from s5rf_deploy.hw_profiles import HardwareProfile


def resource_table(populations: list[tuple[str, int, tuple[Synapse, ...]]], profile: HardwareProfile
                   ) -> dict[str, Any]:
    """Resources of (name, neurons, input synapses) populations on ``profile``: one core or more each."""
    res = profile.resources
    wbits = profile.weights["mantissa_bits"]
    rows, cores = [], 0
    for name, neurons, inputs in populations:
        synapses = sum(int(np.count_nonzero(s.weights)) for s in inputs)
        fan_in = sum(int(np.count_nonzero(s.weights, axis=1).max(initial=0)) for s in inputs)
        memory = math.ceil(synapses * wbits / 8)
        need = max(math.ceil(neurons / res["neurons_per_core"]),
                   math.ceil(memory / res["synaptic_memory_bytes_per_core"]), 1)
        cores += need
        rows.append({"population": name, "neurons": neurons, "synapses": synapses, "synaptic_memory_bytes": memory,
                     "fan_in": fan_in, "cores": need, "fan_in_ok": fan_in <= res["max_fan_in"]})
    available = res["cores_per_chip"] * res["chips"]
    return {"populations": rows, "neurons": sum(r["neurons"] for r in rows),
            "synapses": sum(r["synapses"] for r in rows), "cores": cores, "cores_available": available,
            "fits": cores <= available and all(r["fan_in_ok"] for r in rows)}


def check_fits(report: QuantizationReport, allow_overflow: bool) -> None:
    """Raise unless the network fits and nothing overflowed (or ``allow_overflow``)."""
    if report.overflow and not allow_overflow:
        raise S5RFError(f"{report.overflow[0]} (use --allow-overflow to proceed)")
