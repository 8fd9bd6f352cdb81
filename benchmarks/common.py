"""Shared pieces of the benchmark scripts: the SSC-size network, activity-calibrated networks, the environment,
output."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

SSC = dict(input_dim=140, output_dim=35, num_neurons=(512,) * 4, num_blocks=(16,) * 4,
           discretization="dirac", keep_imag=True)
RESULTS = Path(__file__).parent / "results"


def environment() -> dict:
    """What the numbers depend on: network, torch build, threads, machine."""
    return {"network": {k: list(v) if isinstance(v, tuple) else v for k, v in SSC.items()},
            "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine()}


def print_table(header: list[str], rows: list[list]) -> None:
    """A right-aligned table; floats with 3 decimals, large numbers with separators."""
    def fmt(x) -> str:
        if x is None:  # a case that did not run
            return "-"
        if isinstance(x, float):
            return f"{x:,.0f}" if x >= 1000 else f"{x:.3f}"
        return str(x)

    cells = [header] + [[fmt(x) for x in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        print(r[0].ljust(widths[0]) + "".join(c.rjust(w + 2) for c, w in zip(r[1:], widths[1:], strict=True)))


def time_call(fn, repeats: int) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def write_results(results: dict, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


INPUT_GAIN = 8.0  # random input weights scaled so that every layer fires (a silent network flatters timings)
INPUT_RATE = 0.05


def firing_network(config: dict, samples: int, steps: int, seed: int = 0):
    """A random S5-RF network that fires, random input spikes, and its loihi2 quantization.

    Returns ``(network, inputs, fxp, report)``; calibration uses the first 16 samples.
    """
    import numpy as np

    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.s5rf.config import ModelConfig
    from s5rf_deploy.s5rf.model import S5RFModel
    from s5rf_deploy.s5rf.network import network_from_model
    from s5rf_deploy.s5rf.quantize import quantize

    torch.manual_seed(seed)
    model = S5RFModel(ModelConfig(**config))
    with torch.no_grad():
        for layer in model.layers:
            layer.B.mul_(INPUT_GAIN)
    net = network_from_model(model)
    rng = np.random.default_rng(seed)
    inputs = (rng.random((samples, steps, config["input_dim"])) < INPUT_RATE).astype(np.float32)
    fxp, report = quantize(net, load_profile("loihi2"), inputs[:16])
    return net, inputs, fxp, report


def with_activity(fxp, inputs, rate: float):
    """``fxp`` with each spiking stage's threshold set, layer by layer, so that it fires at about ``rate`` on
    ``inputs`` (a quantile of its states); returns ``(network, per-layer spike rates on inputs)``."""
    import dataclasses

    import numpy as np

    from s5rf_deploy.s5rf.stepper import Stepper

    stages = list(fxp.stages)
    for k, st in enumerate(stages):
        if st.spike == "graded":
            continue
        net = dataclasses.replace(fxp, stages=tuple(stages), state_stages=tuple(range(len(stages))))
        states = Stepper(net).run(inputs, record={"states"}).states[k]
        level = states[..., 0] if st.spike == "cartesian" else np.hypot(states[..., 0], states[..., 1])
        threshold = int(min(max(np.quantile(level, 1 - rate), 1), fxp.profile.state_max))
        stages[k] = dataclasses.replace(st, threshold=threshold)
    net = dataclasses.replace(fxp, stages=tuple(stages))
    spikes = Stepper(net).run(inputs, record={"spikes"}).spikes
    return net, [float(s.mean()) for s in spikes]
