"""Lava's CPU backend against the reference stepper, and our RF graph against Lava's built-in RF.

One run, side by side, on one network (default: the SSC size, 4 x 512 RF
neurons, 140 inputs, 35 classes, random weights scaled so that layers fire,
5 % input spikes), quantized for loihi2:

1. per-step time (inside Lava's ``run``; compile, state resets and reads
   excluded) of our Lava graph (fixed_pt) and of a graph of the same
   layer sizes built from Lava's built-in ``RF`` process with one ``Dense``
   per real/imaginary input (what the built-in process can express),
2. sample-steps per second of our Lava graph (stepping only) and of the
   stepper (batch 1 and batch 256, everything included) on the same network.

Prints a table and writes ``benchmarks/results/lava.json``.
Usage: ``python benchmarks/lava.py [--neurons 512] [--steps 50]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, SSC, environment, firing_network, print_table, write_results

# This script is named lava.py: drop its folder from the path so that "lava" means Lava.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


import s5rf_deploy  # noqa: E402, F401  (Lava compatibility hook)
from s5rf_deploy.s5rf.lava import LavaRunner  # noqa: E402
from s5rf_deploy.s5rf.stepper import Stepper  # noqa: E402


def builtin_rf_seconds_per_step(sizes: list[int], inputs: int, classes: int, steps: int) -> float:
    """Per-step time of a chain of Lava built-in RF layers with real/imaginary Dense inputs."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.rf.process import RF

    rng = np.random.default_rng(0)
    source = RingBuffer(data=(rng.random((inputs, steps)) < 0.05).astype(np.int32))
    port, width = source.s_out, inputs
    for size in sizes:
        rf = RF(shape=(size,), period=10, alpha=0.07, state_exp=6, decay_bits=12, vth=100)
        for target in (rf.a_real_in, rf.a_imag_in):
            dense = Dense(weights=rng.integers(-20, 20, (size, width)))
            port.connect(dense.s_in)
            dense.a_out.connect(target)
        port, width = rf.s_out, size
    readout = Dense(weights=rng.integers(-20, 20, (classes, width)))
    lif = LIF(shape=(classes,), du=409, dv=0, vth=2**17 - 1)
    port.connect(readout.s_in)
    readout.a_out.connect(lif.a_in)
    try:
        source.run(condition=RunSteps(num_steps=1), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))  # compile, start
        start = time.perf_counter()
        source.run(condition=RunSteps(num_steps=steps - 1))
        return (time.perf_counter() - start) / (steps - 1)
    finally:
        source.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", default=str(RESULTS / "lava.json"))
    args = parser.parse_args()
    cfg = dict(SSC, num_neurons=(args.neurons,) * 4, num_blocks=(max(args.neurons // 32, 1),) * 4)
    _, inputs, fxp, _ = firing_network(cfg, 256, args.steps)
    start = time.perf_counter()
    runner = LavaRunner(fxp, args.steps)
    lava_result = runner.run(inputs[:3])
    wall = time.perf_counter() - start
    lava_steps = args.steps + fxp.latency
    per_step = runner.stepping_seconds / (3 * lava_steps)  # inside run(): no compile, resets or reads
    stepper = Stepper(fxp)
    exact = np.array_equal(stepper.run(inputs[:3]).readout, lava_result.readout)
    builtin = builtin_rf_seconds_per_step(list(cfg["num_neurons"]), cfg["input_dim"], cfg["output_dim"],
                                          lava_steps)
    t1 = time.perf_counter()
    stepper.run(inputs[:4], batch_size=1)
    stepper_1 = 4 * args.steps / (time.perf_counter() - t1)
    t2 = time.perf_counter()
    stepper.run(inputs, batch_size=256)
    stepper_256 = 256 * args.steps / (time.perf_counter() - t2)
    lava_rate = 1 / per_step * args.steps / lava_steps
    processes = len(runner.graph.stages) + len(runner.graph.lifs) + len(runner.graph.synapses) + 1
    cases = {
        "our Lava graph, fixed_pt": {"seconds_per_step": per_step, "sample_steps_per_s": lava_rate,
                                     "processes": processes, "wall_seconds_3_samples": wall, "vs_our_lava": 1.0},
        "built-in RF Lava graph, fixed_pt": {"seconds_per_step": builtin, "sample_steps_per_s": 1 / builtin,
                                             "vs_our_lava": 1 / builtin / lava_rate},
        "stepper, batch 1": {"sample_steps_per_s": stepper_1, "vs_our_lava": stepper_1 / lava_rate},
        "stepper, batch 256": {"sample_steps_per_s": stepper_256, "vs_our_lava": stepper_256 / lava_rate},
    }
    results = {**environment(), "neurons": args.neurons, "steps": args.steps, "lava_equals_stepper": bool(exact),
               "cases": cases}
    print(f"S5-RF 4 x {args.neurons}, T = {args.steps}, loihi2; Lava readout equals stepper: {exact}")
    print_table(["case", "s/step", "sample-steps/s", "x our Lava"],
                [[name, c.get("seconds_per_step", ""), c["sample_steps_per_s"], c["vs_our_lava"]]
                 for name, c in cases.items()])
    write_results(results, args.out)


if __name__ == "__main__":
    main()
