"""The stepper against an earlier version of itself on the benchmark networks: every integer equal?

Builds the networks of ``benchmarks/stepper.py`` (same sizes, seeds and activity calibration; ``--samples``
inputs of T = ``--steps``), runs them through this checkout's stepper and through the stepper of ``--ref`` (a
git revision, checked out into a temporary worktree and imported from there in a subprocess), at batch 1 and
at batch ``--samples``, recording spikes and states, and compares readouts, spikes, states and saturation
counts.  Prints a table and writes ``benchmarks/results/stepper_versions.json``; exits 1 on any difference.
Usage: ``python benchmarks/stepper_versions.py [--ref b9c7da4] [--sizes 2x128,4x256] [--rates 0.01,0.2]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def run_stepper(networks: str, out: str) -> None:
    """Run the pickled ``[(name, fxp, inputs)]`` with whichever s5rf_deploy this process imports; pickle the
    results ``{(name, batch): (readout, spikes, states, saturation)}``."""
    import s5rf_deploy
    from s5rf_deploy.s5rf.stepper import Stepper

    results = {}
    for name, fxp, inputs in pickle.loads(Path(networks).read_bytes()):
        for batch in (1, inputs.shape[0]):
            r = Stepper(fxp).run(inputs, record=("spikes", "states"), batch_size=batch)
            results[(name, batch)] = (r.readout, r.spikes, r.states, r.saturation)
    Path(out).write_bytes(pickle.dumps(results))
    print(f"ran {len(results)} cases with {Path(s5rf_deploy.__file__).parent}")


def build(sizes: str, rates: str, samples: int, steps: int) -> list:
    """The benchmark networks, activity-calibrated as in benchmarks/stepper.py, with their first inputs."""
    from common import SSC, firing_network, with_activity

    networks = []
    for size in sizes.split(","):
        layers, neurons = (int(x) for x in size.split("x"))
        cfg = dict(SSC, num_neurons=(neurons,) * layers, num_blocks=(max(neurons // 32, 1),) * layers)
        _, inputs, fxp, _ = firing_network(cfg, max(samples, 8), steps)
        for target in (float(r) for r in rates.split(",")):
            net, layer_rates = with_activity(fxp, inputs[:8], target)
            networks.append((f"{size} at {target:.0%} ({', '.join(f'{r:.1%}' for r in layer_rates)})", net,
                             inputs[:samples]))
    return networks


def same(a: tuple, b: tuple) -> dict[str, bool]:
    return {"readout": np.array_equal(a[0], b[0]),
            "spikes": all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True)),
            "states": all(np.array_equal(x, y) for x, y in zip(a[2], b[2], strict=True)),
            "saturation": a[3] == b[3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="b9c7da4", help="git revision of the earlier stepper")
    parser.add_argument("--sizes", default="2x128,4x256,4x512,4x1024")
    parser.add_argument("--rates", default="0.01,0.05,0.2")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "stepper_versions.json"))
    parser.add_argument("--run", nargs=2, metavar=("NETWORKS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return run_stepper(*args.run)
    import json

    with tempfile.TemporaryDirectory() as tmp:
        nets = Path(tmp, "networks.pkl")
        nets.write_bytes(pickle.dumps(build(args.sizes, args.rates, args.samples, args.steps)))
        ref = Path(tmp, "ref")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(ref), args.ref], check=True)
        try:
            for name, path in (("current", ROOT), ("ref", ref)):
                env = dict(os.environ, PYTHONPATH=str(path))
                subprocess.run([sys.executable, __file__, "--run", str(nets), str(Path(tmp, f"{name}.pkl"))], env=env,
                               check=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref)], check=True)
        current, earlier = (pickle.loads(Path(tmp, f"{name}.pkl").read_bytes()) for name in ("current", "ref"))
    rows = [{"network": name, "batch": batch, **same(current[(name, batch)], earlier[(name, batch)])}
            for name, batch in current]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True, capture_output=True)
    print(f"stepper at {head.stdout.strip()} against {args.ref}")
    for row in rows:
        print(f"{row['network']:<40} batch {row['batch']:>3}: " + ", ".join(
            f"{k} {'equal' if row[k] else 'DIFFERENT'}" for k in ("readout", "spikes", "states", "saturation")))
    Path(args.out).write_text(json.dumps({"ref": args.ref, "samples": args.samples, "steps": args.steps,
                                          "cases": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    sys.exit(0 if all(all(v for k, v in r.items() if k not in ("network", "batch")) for r in rows) else 1)


if __name__ == "__main__":
    main()
