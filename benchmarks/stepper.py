"""The fixed-point stepper against our Lava graph and the float PyTorch forward, across sizes and activity.

One run, side by side: for each size (layers x neurons; 140 inputs, 35 classes, dirac, keep_imag, random
weights, 5 % input spikes, loihi2) and each target activity, the thresholds are set layer by layer so that
every layer fires at about that rate (the measured per-layer rates are printed and stored), then

- the stepper at batch 256 and batch 1 (T = 250, everything included) on ``--device`` (default cpu: numpy and
  the compiled kernels; torch-cpu: the torch path on the CPU), and at batch 256 with dense products only
  (``Port.method = "dense"``, numpy path: what the event-driven path and the timed choice save),
- the stepper on CUDA (``device="cuda"``) at batch 256 and batch 1, after a warm-up, with its readout compared
  to the CPU stepper's: where no CUDA GPU is present these are recorded as not run (null, an empty cell),
- our Lava graph (fixed_pt, a few samples, short T; time inside Lava's ``run()`` per sample-step), with its
  readout compared to the stepper's on those samples,
- the stepper at batch 32 on the first size and rate with the input repeated to T x 1, 4, 16 (cost in T),
- the PyTorch float32 forward and onnxruntime's float32 sequence form at batch 256 (per size: their cost
  does not depend on activity).

Prints a table and writes ``benchmarks/results/stepper.json``.
Ratios against a backend that did not run (Lava in ``--quick``) are left empty, not ``nan``.
Usage: ``python benchmarks/stepper.py [--sizes 2x128,4x512] [--rates 0.01,0.05,0.2] [--device cpu] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from common import RESULTS, SSC, environment, firing_network, print_table, with_activity, write_results

# This folder holds lava.py: drop it from the path so that "lava" means Lava.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import s5rf_deploy  # noqa: E402, F401  (Lava compatibility hook)
from s5rf_deploy.converters.onnx import sequence_model  # noqa: E402
from s5rf_deploy.fixed.engine import Port  # noqa: E402
from s5rf_deploy.s5rf.lava import LavaRunner  # noqa: E402
from s5rf_deploy.s5rf.network import model_from_network  # noqa: E402
from s5rf_deploy.s5rf.stepper import Stepper  # noqa: E402


def rate(sample_steps: int, fn, *args, **kwargs) -> float:
    """Sample-steps per second of one call ``fn(*args, **kwargs)``."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return sample_steps / (time.perf_counter() - start)


def lava_rate(fxp, inputs, steps: int) -> tuple[float, bool]:
    """Our Lava graph's sample-steps per second (stepping only) on ``inputs`` cut to ``steps``, and whether its
    readout equals the stepper's."""
    inputs = inputs[:, :steps]
    runner = LavaRunner(fxp, steps)
    readout = runner.run(inputs).readout
    per_step = runner.stepping_seconds / (inputs.shape[0] * (steps + fxp.latency))
    exact = bool((Stepper(fxp).run(inputs).readout == readout).all())
    return steps / (steps + fxp.latency) / per_step, exact


def cuda_rates(fxp, inputs, big: int, single: int, steps: int) -> tuple[float | None, float | None, bool | None]:
    """The stepper on CUDA: sample-steps per second at batch ``big`` and at batch 1 (``single`` samples), and
    whether its readout equals the CPU stepper's; all None without a CUDA GPU."""
    if not torch.cuda.is_available():
        return None, None, None
    stepper = Stepper(fxp, "cuda")
    stepper.run(inputs[:2], batch_size=2)  # warm-up: CUDA context, cuBLAS
    start = time.perf_counter()
    readout = stepper.run(inputs, batch_size=big).readout  # the results come back to the host: synchronised
    batch_rate = big * steps / (time.perf_counter() - start)
    single_rate = rate(single * steps, stepper.run, inputs[:single], batch_size=1)
    return batch_rate, single_rate, bool((Stepper(fxp).run(inputs, batch_size=big).readout == readout).all())


def ratio(a: float, b: float | None) -> float | None:
    """``a / b``, or None where ``b`` did not run."""
    return None if b is None else a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2x128,4x256,4x512,4x1024", help="layers x neurons, comma-separated")
    parser.add_argument("--rates", default="0.01,0.05,0.2", help="target per-layer spike rates")
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--single", type=int, default=2, help="samples run at batch 1")
    parser.add_argument("--lava-samples", type=int, default=2)
    parser.add_argument("--lava-steps", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="the stepper's device: cpu, torch-cpu, cuda, cuda:N")
    parser.add_argument("--quick", action="store_true", help="T = 50, batch 32, no Lava (a smoke run)")
    parser.add_argument("--out", default=str(RESULTS / "stepper.json"))
    args = parser.parse_args()
    steps, big = (50, 32) if args.quick else (args.steps, args.batch)
    load_start = os.getloadavg()
    cases, in_time = [], {}
    for size in args.sizes.split(","):
        layers, neurons = (int(x) for x in size.split("x"))
        cfg = dict(SSC, num_neurons=(neurons,) * layers, num_blocks=(max(neurons // 32, 1),) * layers)
        net, inputs, fxp, _ = firing_network(cfg, big, steps)
        model = model_from_network(net, torch.float32)
        with torch.no_grad():
            model(torch.from_numpy(inputs[:2]))  # warm-up
            torch_rate = rate(big * steps, model, torch.from_numpy(inputs))
        session = ort.InferenceSession(sequence_model(net, "float32").SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        session.run(None, {"u": inputs[:2]})  # warm-up
        onnx_rate = rate(big * steps, session.run, None, {"u": inputs})
        for target in (float(r) for r in args.rates.split(",")):
            fx_net, rates = with_activity(fxp, inputs[:8], target)
            stepper = Stepper(fx_net, args.device)
            batch_rate = rate(big * steps, stepper.run, inputs, batch_size=big)
            single = rate(args.single * steps, stepper.run, inputs[:args.single], batch_size=1)
            Port.method = "dense"
            dense_rate = rate(big * steps, Stepper(fx_net).run, inputs, batch_size=big)
            Port.method = "auto"
            cuda_batch, cuda_single, cuda_exact = cuda_rates(fx_net, inputs, big, args.single, steps)
            lava, exact = (None, None) if args.quick else \
                lava_rate(fx_net, inputs[:args.lava_samples], args.lava_steps)
            case = {"size": size, "target_rate": target, "layer_rates": rates,
                    f"stepper_batch{big}": batch_rate, "stepper_batch1": single,
                    f"stepper_dense_batch{big}": dense_rate, f"stepper_cuda_batch{big}": cuda_batch,
                    "stepper_cuda_batch1": cuda_single, "cuda_equals_stepper": cuda_exact,
                    "our_lava": lava, "lava_equals_stepper": exact, f"torch_float32_batch{big}": torch_rate,
                    f"onnxruntime_float32_batch{big}": onnx_rate,
                    f"x_lava_batch{big}": ratio(batch_rate, lava), "x_lava_batch1": ratio(single, lava),
                    "x_torch": batch_rate / torch_rate, "x_onnxruntime": batch_rate / onnx_rate,
                    "x_dense": batch_rate / dense_rate}
            cases.append(case)
            if not in_time:
                for repeat in (1, 4, 16):
                    longer = np.tile(inputs[:32], (1, repeat, 1))
                    in_time[longer.shape[1]] = rate(longer.size // longer.shape[2], stepper.run, longer, batch_size=32)
            print(f"{size} target {target:.0%}: layer rates {', '.join(f'{r:.1%}' for r in rates)}; "
                  f"Lava readout equals stepper: {exact}", flush=True)
    results = {**environment(), "load_average_start": load_start, "load_average_end": os.getloadavg(),
               "steps_scaling": {"size": cases[0]["size"], "target_rate": cases[0]["target_rate"],
                                 "batch": 32, "sample_steps_per_s_by_T": in_time},
               "device": args.device, "steps": steps, "batch": big, "lava_steps": args.lava_steps,
               "lava_samples": args.lava_samples,
               "unit": "sample-steps per second", "cases": cases}
    print(f"S5-RF, T = {steps}, loihi2, {torch.get_num_threads()} threads, stepper on {args.device}; sample-steps/s")
    print_table(["size", "rate", f"step. b{big}", "step. b1", f"dense b{big}", f"cuda b{big}", "cuda b1", "our Lava",
                 f"torch b{big}", f"onnx b{big}", f"x Lava b{big}", "x Lava b1", "x torch", "x onnx", "x dense"],
                [[c["size"], f"{sum(c['layer_rates']) / len(c['layer_rates']):.1%}", c[f"stepper_batch{big}"],
                  c["stepper_batch1"], c[f"stepper_dense_batch{big}"], c[f"stepper_cuda_batch{big}"],
                  c["stepper_cuda_batch1"], c["our_lava"], c[f"torch_float32_batch{big}"],
                  c[f"onnxruntime_float32_batch{big}"], c[f"x_lava_batch{big}"], c["x_lava_batch1"], c["x_torch"],
                  c["x_onnxruntime"], c["x_dense"]] for c in cases])
    print(f"{cases[0]['size']} at {cases[0]['target_rate']:.0%}, sample-steps/s by T: "
          + ", ".join(f"T = {t}: {r:,.0f}" for t, r in in_time.items()))
    print(f"load average (1, 5, 15 min): start {load_start}, end {results['load_average_end']}")
    write_results(results, args.out)


if __name__ == "__main__":
    main()
