"""Peak memory and throughput of ``simulate`` on an SHD-layout event file, streamed into a folder, against the
dense in-memory path (the same inputs binned into an ``.npz``, results in an ``.npz``), side by side.

A 2 x 128 S5-RF network (140 inputs: 700 channels pooled by 5, T = 100), fixed point on the stepper, with
``--record spikes``.  Each run is a child process under ``/usr/bin/time -v`` (peak resident memory, wall
time); runs of the two paths alternate, so machine load hits both alike.  The event file comes from
``tools/synthetic_shd.py`` (real layout and sizes; see its docstring for the statistics and their sources).

    python benchmarks/streaming.py --samples 1000,5000,20000 --workdir /tmp/streaming
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
from common import RESULTS, firing_network, print_table, write_results

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "s5rf-deploy"
CONFIG = dict(input_dim=140, output_dim=20, num_neurons=(128, 128), num_blocks=(16, 16), discretization="dirac",
              keep_imag=True)
STEPS, POOL = 100, 5


def prepare(workdir: Path, samples: int, counts: list[int], spikes: int) -> tuple[Path, Path, dict[int, Path]]:
    """The model artifact, the event file of ``samples`` samples and dense binned copies of its first
    ``counts`` samples (made once per workdir)."""
    from s5rf_deploy.dataset import Dataset, save_dataset
    from s5rf_deploy.s5rf.artifact import save_fxp
    from s5rf_deploy.samples import Binning, open_samples

    workdir.mkdir(parents=True, exist_ok=True)
    model, events = workdir / "model.fxp", workdir / "shd.h5"
    dense = {n: workdir / f"dense_{n}.npz" for n in counts}
    if not model.exists():
        save_fxp(firing_network(CONFIG, 16, STEPS)[2], model)
    if not events.exists():
        write_shd = runpy.run_path(str(ROOT / "tools" / "synthetic_shd.py"))["write_shd"]
        write_shd(str(events), samples, classes=20, spikes=spikes)
    data = open_samples(events, Binning(STEPS, None, POOL))
    for n, path in dense.items():
        if not path.exists():
            save_dataset(Dataset(data.read(0, n), data.labels[:n]), path)
    return model, events, dense


def identical(folder: Path, npz: Path) -> bool:
    """Whether the streamed folder holds the arrays of the dense run's ``.npz``, spikes unpacked."""
    packed = json.loads((folder / "layout.json").read_text())["packed_spikes"]
    with np.load(npz) as whole:
        for key in whole.files:
            value = np.load(folder / f"{key}.npy")
            if key in packed:
                value = np.unpackbits(value, axis=-1, count=packed[key], bitorder="little")
            if not np.array_equal(value, whole[key]):
                return False
    return True


def measured(args: list[str]) -> dict:
    """Peak resident memory (MB) and wall seconds of the CLI run with ``args``."""
    proc = subprocess.run(["/usr/bin/time", "-v", str(CLI), "--quiet", *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr).group(1)
    seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    return {"peak_mb": rss / 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="1000,5000,20000", help="sample counts N to measure streamed")
    parser.add_argument("--dense", default="1000,5000", help="those also measured dense (side by side)")
    parser.add_argument("--spikes", type=int, default=8000, help="mean spikes per sample of the synthetic file")
    parser.add_argument("--workdir", default="/tmp/s5rf-streaming")
    parser.add_argument("--out", default=str(RESULTS / "streaming.json"))
    args = parser.parse_args()
    counts, dense_counts = ([int(n) for n in text.split(",")] for text in (args.samples, args.dense))
    model, events, dense = prepare(Path(args.workdir), max(counts), dense_counts, args.spikes)
    common = ["simulate", str(model), "--record", "spikes", "--batch-size", "256", "--force"]
    rows, results = [], {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "steps": STEPS, "pool": POOL,
                         "spikes_per_sample": args.spikes, "network": CONFIG, "runs": []}
    header = ["samples", "peak MB streamed", "peak MB dense", "samples/s streamed", "samples/s dense",
              "speed streamed/dense", "identical"]
    for n in counts:
        run = {"samples": n, "load": os.getloadavg()}
        run["streamed"] = measured([*common, "--input", str(events), "--steps", str(STEPS), "--pool", str(POOL),
                                    "--samples", str(n), "-o", f"{args.workdir}/run_{n}/"])
        row = [n, run["streamed"]["peak_mb"], "-", n / run["streamed"]["seconds"], "-", "-", "-"]
        if n in dense:
            run["dense"] = measured([*common, "--input", str(dense[n]), "-o", f"{args.workdir}/run_{n}.npz"])
            run["identical"] = identical(Path(f"{args.workdir}/run_{n}"), Path(f"{args.workdir}/run_{n}.npz"))
            row[2:] = [run["dense"]["peak_mb"], n / run["streamed"]["seconds"], n / run["dense"]["seconds"],
                       run["dense"]["seconds"] / run["streamed"]["seconds"], str(run["identical"])]
        print(dict(zip(header, row, strict=True)), flush=True)
        results["runs"].append(run)
        rows.append(row)
    results["load_after"] = os.getloadavg()
    print_table(header, rows)
    print(f"load average before {results['load_before']}, after {results['load_after']}")
    write_results(results, args.out)


if __name__ == "__main__":
    main()
