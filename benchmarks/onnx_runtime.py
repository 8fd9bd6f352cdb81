"""onnxruntime against PyTorch: float throughput of the SSC-size S5-RF network, side by side in one run.

Network: 4 x 512 RF neurons (16 blocks), 140 inputs, 35 classes, dirac,
keep_imag, random input spikes at 5 %.  Cases: PyTorch forward (float32 and
float64, parallel scan over time), the ONNX sequence form in onnxruntime
(float32, float64), and the streaming form stepped sample by sample (batch 1,
as on an edge CPU).  Prints a table and writes ``benchmarks/results/onnx.json``.
Usage: ``python benchmarks/onnx_runtime.py``.
"""

from __future__ import annotations

import argparse

import numpy as np
import onnxruntime as ort
import torch
from common import RESULTS, SSC, environment, print_table, time_call, write_results

from s5rf_deploy.converters.onnx import sequence_model, streaming_model
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel
from s5rf_deploy.s5rf.network import model_from_network, network_from_model


def best_of(fn, repeats: int) -> float:
    """Median wall time of ``fn``."""
    return float(np.median(time_call(fn, repeats)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "onnx.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    net = network_from_model(S5RFModel(ModelConfig(**SSC)).eval())
    u = (np.random.default_rng(0).random((args.batch, args.steps, SSC["input_dim"])) < 0.05)
    cases: dict[str, float] = {}
    for dtype, tdtype in (("float32", torch.float32), ("float64", torch.float64)):
        model = model_from_network(net, tdtype)
        x = torch.from_numpy(u.astype(dtype))
        with torch.no_grad():
            cases[f"torch {dtype}, batch {args.batch}"] = best_of(lambda m=model, x=x: m(x), args.repeats)
        session = ort.InferenceSession(sequence_model(net, dtype).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        feed = {"u": u.astype(dtype)}
        cases[f"onnxruntime sequence {dtype}, batch {args.batch}"] = best_of(lambda s=session, f=feed: s.run(None, f),
                                                                             args.repeats)
    step = ort.InferenceSession(streaming_model(net, "float32").SerializeToString(), providers=["CPUExecutionProvider"])
    zeros = {i.name: np.zeros((1, i.shape[1]), np.float32) for i in step.get_inputs() if i.name != "u"}
    names = [o.name for o in step.get_outputs()]
    sample = u[0].astype(np.float32)

    def stream() -> None:
        states = dict(zeros)
        for t in range(args.steps):
            out = dict(zip(names, step.run(None, {"u": sample[t:t + 1], **states}), strict=True))
            states = {n: out[f"{n}_next"] for n in states}

    streaming_s = best_of(stream, args.repeats)
    work = args.batch * args.steps
    results = {**environment(), "batch": args.batch, "steps": args.steps, "onnxruntime": ort.__version__,
               "cases": {}}
    rows = []
    for name, seconds in cases.items():
        results["cases"][name] = {"median_s": seconds, "sample_steps_per_s": work / seconds}
        rows.append([name, seconds, work / seconds])
    results["cases"]["onnxruntime streaming float32, batch 1"] = {"median_s": streaming_s,
                                                                   "sample_steps_per_s": args.steps / streaming_s,
                                                                   "ms_per_step": 1e3 * streaming_s / args.steps}
    rows.append(["onnxruntime streaming float32, batch 1", streaming_s, args.steps / streaming_s])
    print(f"SSC-size S5-RF, T = {args.steps}, torch {torch.__version__}, onnxruntime {ort.__version__}")
    print_table(["case", "median s", "sample-steps/s"], rows)
    write_results(results, args.out)


if __name__ == "__main__":
    main()
