"""Measure how far the project's NIR readings are from each framework's own run.

Runs ``s5rf-deploy simulate CASE.nir --record spikes`` on every recorded case
of tests/data/interop and compares its per-layer spikes with the framework's
recorded ``spikes_<i>`` (fraction of (sample, step, neuron) entries that
differ; multi-spike counts are compared as counts).  Writes into manifest.json:

- ``nir_semantics_mismatch``: the plain reading (exact ODEs of docs/nir.md;
  ``--semantics nir`` where the CLI has that option), with ``--dt`` the time
  step each framework implies (snnTorch's exporter 1e-4, norse and rockpool
  1e-3, sinabs and spyx 1 step; norse IAF 1, see DT_CASE), the most
  favourable choice for that reading: the files carry no dt;
- ``framework_semantics_mismatch`` (only where the CLI has ``--semantics``):
  ``--semantics`` with the case's ``semantics`` (the framework, or
  ``snntorch-zero`` / ``sinabs-single`` for cases recorded with those settings).

Needs only numpy and the project's CLI:

    .venv/bin/python tools/interop/baseline.py [--cli .venv/bin/s5rf-deploy]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DT = {"snntorch": 1e-4, "norse": 1e-3, "rockpool": 1e-3, "sinabs": 1.0, "spyx": 1.0}
# norse's IAFCell ignores dt; under the impulse reading an IF jumps by r * w * dt,
# so only dt = 1 gives the jump w that norse applies (dt = 1e-3: silent network)
DT_CASE = {"norse_iaf": 1.0}


def layer_spikes(result) -> list[tuple[str, np.ndarray]]:
    """The CLI writes spikes_<node name>; order the spiking nodes by the first
    integer in their name (nirtorch "1", "1.lif", rockpool "1_LIFTorch", spyx
    "layer_1": all number the layers in order)."""
    keys = [k for k in result.files if k.startswith("spikes_")]
    keys.sort(key=lambda k: int(re.search(r"\d+", k[len("spikes_"):]).group()))
    return [(k, result[k]) for k in keys]


def compare(cli: str, data: Path, name: str, ref, tmp: Path, extra: list[str]) -> dict:
    cmd = [cli, "simulate", str(data / f"{name}.nir"), "--input", str(tmp / "in.npz"),
           "--record", "spikes", "-o", str(tmp / "out.npz"), "--force", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    entry: dict = {"command": " ".join(["s5rf-deploy", "simulate", f"{name}.nir", "--record", "spikes", *extra])}
    if proc.returncode != 0:
        entry["error"] = (proc.stderr or proc.stdout).strip().splitlines()[-1]
        return entry
    result = np.load(tmp / "out.npz")
    for i, (node_key, g) in enumerate(layer_spikes(result)):
        key = f"spikes_{i}"
        if key not in ref.files:
            continue
        r = ref[key]
        diff = int((np.rint(g) != r).sum())
        entry[key] = {
            "cli_key": node_key,
            "fraction": round(diff / r.size, 5),
            "entries_differing": diff,
            "of": int(r.size),
            "rate_cli": round(float((g > 0).mean()), 5),
            "rate_framework": round(float((r > 0).mean()), 5),
        }
    if "spikes_1" not in ref.files and "v_1" in ref.files:  # LI readout: compare the output trace
        out = result["outputs"]
        entry["v_1"] = {
            "max_abs_diff_outputs_vs_framework_v": float(np.abs(out - ref["v_1"]).max()),
            "max_abs_framework_v": float(np.abs(ref["v_1"]).max()),
        }
    return entry


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "tests/data/interop"))
    ap.add_argument("--cli", default=str(ROOT / ".venv/bin/s5rf-deploy"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    man_path = data / "manifest.json"
    manifest = json.loads(man_path.read_text())
    help_text = subprocess.run([args.cli, "simulate", "--help"], capture_output=True, text=True).stdout
    has_semantics = "--semantics" in help_text
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, info in manifest.items():
            if name.startswith("_"):
                continue
            ref = np.load(data / f"{name}.npz")
            np.savez(tmp / "in.npz", inputs=ref["input"])
            dt = DT_CASE.get(name, DT[info["framework"]])
            # the plain reading; once the CLI has --semantics its default is the
            # detected framework, so ask for nir explicitly
            runs = {"nir_semantics_mismatch": ["--dt", repr(dt)] + (["--semantics", "nir"] if has_semantics else [])}
            if has_semantics:
                runs["framework_semantics_mismatch"] = ["--semantics", info["semantics"]]
            for field, extra in runs.items():
                entry = compare(args.cli, data, name, ref, tmp, extra)
                if field == "nir_semantics_mismatch":
                    entry["dt"] = dt
                info[field] = entry
                print(name, field, json.dumps(entry))
    man_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
