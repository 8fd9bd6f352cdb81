"""Record framework ground truth for framework-faithful NIR import (issue #16).

For every case below this script builds a small two-layer network with the
framework's own classes, runs the framework's own simulation on one fixed
binary spike input, exports the network with the framework's own NIR exporter
at its default settings and writes

    tests/data/interop/<case>.nir   the exporter's graph, as written by nir.write
    tests/data/interop/<case>.npz   input (N,T,10) float32, spikes_<i> (N,T,n),
                                    v_<i> (N,T,n) where the API exposes it
    tests/data/interop/manifest.json

It must run in a separate environment holding the frameworks (never the
project's own venv); see tests/data/interop/README.md:

    .venv-interop/bin/python tools/interop/record.py [--only CASE,...]   (make interop)

Weights are seeded; one gain per layer is searched (geometric steps) so that
each layer's neurons fire in 6-20 % of (neuron, step) entries.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

N, T, H, H1, H2 = 4, 60, 10, 16, 6
INPUT_SEED = 16
RATE_LO, RATE_HI = 0.06, 0.2


def make_input() -> np.ndarray:
    rng = np.random.default_rng(INPUT_SEED)
    return (rng.random((N, T, H)) < 0.15).astype(np.float32)


def base_weights(seed: int):
    """Seeded (out, in) weights with a positive mean, and small biases."""
    rng = np.random.default_rng(seed)
    w0 = ((rng.normal(0.0, 1.0, (H1, H)) + 0.6) / np.sqrt(H)).astype(np.float32)
    b0 = rng.normal(0.0, 0.05, H1).astype(np.float32)
    w1 = ((rng.normal(0.0, 1.0, (H2, H1)) + 0.6) / np.sqrt(H1)).astype(np.float32)
    b1 = rng.normal(0.0, 0.05, H2).astype(np.float32)
    wr = (rng.normal(0.0, 1.0, (H1, H1)) / np.sqrt(H1)).astype(np.float32)
    br = rng.normal(0.0, 0.02, H1).astype(np.float32)
    return dict(w0=w0, b0=b0, w1=w1, b1=b1, wr=wr, br=br)


def torch_linears(g0: float, g1: float, w: dict):
    """The two torch ``Linear`` layers of a case, holding its weights and biases scaled by the layer gains."""
    import torch

    fc1, fc2 = torch.nn.Linear(H, H1), torch.nn.Linear(H1, H2)
    with torch.no_grad():
        fc1.weight[:] = torch.from_numpy(g0 * w["w0"])
        fc1.bias[:] = torch.from_numpy(g0 * w["b0"])
        fc2.weight[:] = torch.from_numpy(g1 * w["w1"])
        fc2.bias[:] = torch.from_numpy(g1 * w["b1"])
    return fc1, fc2


def rate(s: np.ndarray) -> float:
    return float((np.asarray(s) > 0).mean())


def version(dist: str) -> str:
    return md.version(dist)


# --------------------------------------------------------------------------
# snnTorch
# --------------------------------------------------------------------------


def snntorch_case(neuron: str, reset: str | None, recurrent: bool):
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    def build(g0, g1, w):
        torch.manual_seed(0)
        kw = {} if reset is None else {"reset_mechanism": reset}
        thr = lambda n: dict(threshold=torch.ones(n))  # noqa: E731
        fc1, fc2 = torch_linears(g0, g1, w)
        if neuron == "Leaky":
            mk = lambda n, rec: (  # noqa: E731
                snn.RLeaky(beta=torch.full((n,), 0.9), linear_features=n, init_hidden=True, **thr(n), **kw)
                if rec
                else snn.Leaky(beta=torch.full((n,), 0.9), init_hidden=True, **thr(n), **kw)
            )
        else:
            mk = lambda n, rec: (  # noqa: E731
                snn.RSynaptic(
                    alpha=torch.full((n,), 0.8),
                    beta=torch.full((n,), 0.9),
                    linear_features=n,
                    init_hidden=True,
                    **thr(n),
                    **kw,
                )
                if rec
                else snn.Synaptic(
                    alpha=torch.full((n,), 0.8), beta=torch.full((n,), 0.9), init_hidden=True, **thr(n), **kw
                )
            )
        lif1, lif2 = mk(H1, recurrent), mk(H2, False)
        if recurrent:
            with torch.no_grad():
                lif1.recurrent.weight[:] = torch.from_numpy(g0 * w["wr"])
                lif1.recurrent.bias[:] = torch.from_numpy(g0 * w["br"])
        return torch.nn.Sequential(fc1, lif1, fc2, lif2), (fc1, lif1, fc2, lif2)

    def run(g0, g1, w, x):
        net, (fc1, lif1, fc2, lif2) = build(g0, g1, w)
        xs = torch.from_numpy(x)
        s0, s1, v0, v1 = [], [], [], []
        with torch.no_grad():
            for t in range(T):
                a = lif1(fc1(xs[:, t]))
                b = lif2(fc2(a))
                s0.append(a.numpy().copy())
                s1.append(b.numpy().copy())
                v0.append(lif1.mem.numpy().copy())
                v1.append(lif2.mem.numpy().copy())
        st = lambda L: np.stack(L, 1).astype(np.float32)  # noqa: E731
        return dict(spikes_0=st(s0), spikes_1=st(s1), v_0=st(v0), v_1=st(v1))

    def export(g0, g1, w):
        net, _ = build(g0, g1, w)
        return export_to_nir(net, torch.zeros(H))

    name = ("R" if recurrent else "") + neuron
    info = dict(
        framework="snntorch",
        semantics="snntorch-zero" if reset == "zero" else "snntorch",
        version=version("snntorch"),
        classes=["torch.nn.Linear", f"snntorch.{name}", "torch.nn.Linear", f"snntorch.{neuron}"],
        settings=dict(
            beta="torch.full((n,), 0.9) (a per-neuron tensor: with a scalar beta the exporter "
            "writes 0-d tau and nir 1.0.8 infer_types fails)",
            **({"alpha": "torch.full((n,), 0.8)"} if neuron == "Synaptic" else {}),
            threshold="torch.ones(n) (per-neuron, for the same reason)",
            reset_mechanism=reset or "subtract (default)",
            reset_delay="True (default)",
            init_hidden=True,
            **({"recurrent": "all_to_all=True, linear_features=16 (nn.Linear with bias)"} if recurrent else {}),
        ),
        dt_framework="none (discrete steps)",
        dt_written="not written; exporter hard-codes dt=1e-4 in tau = dt/(1-beta)",
        export_call="snntorch.export_nir.export_to_nir(net, torch.zeros(10)); "
        "a (1, 10) sample fails in nir 1.0.8 infer_types (batch axis)",
        v_meaning="mem returned by the layer at step t (before the delayed reset of a spike at t)",
    )
    return run, export, info


# --------------------------------------------------------------------------
# norse
# --------------------------------------------------------------------------


def norse_case(kind: str):
    import norse.torch as nt
    import torch
    from norse.torch.functional.iaf import IAFParameters
    from norse.torch.functional.leaky_integrator_box import LIBoxParameters
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lif_box import LIFBoxParameters
    from norse.torch.module.iaf import IAFCell
    from norse.torch.module.leaky_integrator_box import LIBoxCell
    from norse.torch.module.lif import LIFCell
    from norse.torch.module.lif_box import LIFBoxCell

    # Default values, but as per-neuron tensors: with the 0-d defaults the
    # exporter writes 0-d torch tensors that nir.write cannot store (h5py
    # "Scalar datasets don't support chunk/filter options").
    full = lambda n, v: torch.full((n,), float(v))  # noqa: E731

    def lifbox(n):
        return LIFBoxCell(LIFBoxParameters(full(n, 100.0), full(n, 0.0), full(n, 1.0), full(n, 0.0)))

    def lif(n):
        return LIFCell(LIFParameters(full(n, 200.0), full(n, 100.0), full(n, 0.0), full(n, 1.0), full(n, 0.0)))

    def cells():
        if kind == "lifbox":
            return lifbox(H1), lifbox(H2)
        if kind == "lif":
            return lif(H1), lif(H2)
        if kind == "iaf":
            return IAFCell(IAFParameters(full(H1, 1.0), full(H1, 0.0))), IAFCell(
                IAFParameters(full(H2, 1.0), full(H2, 0.0))
            )
        if kind == "lifbox_li":
            return lifbox(H1), LIBoxCell(LIBoxParameters(full(H2, 100.0), full(H2, 0.0)))
        raise ValueError(kind)

    def build(g0, g1, w):
        fc1, fc2 = torch_linears(g0, g1, w)
        c1, c2 = cells()
        return nt.SequentialState(fc1, c1, fc2, c2), (fc1, c1, fc2, c2)

    def run(g0, g1, w, x):
        net, (fc1, c1, fc2, c2) = build(g0, g1, w)
        xs = torch.from_numpy(x)
        st1 = st2 = None
        s0, s1, v0, v1 = [], [], [], []
        with torch.no_grad():
            for t in range(T):
                a, st1 = c1(fc1(xs[:, t]), st1)
                b, st2 = c2(fc2(a), st2)
                s0.append(a.numpy().copy())
                v0.append(st1.v.numpy().copy())
                v1.append(st2.v.numpy().copy())
                if kind != "lifbox_li":
                    s1.append(b.numpy().copy())
        st = lambda L: np.stack(L, 1).astype(np.float32)  # noqa: E731
        out = dict(spikes_0=st(s0), v_0=st(v0), v_1=st(v1))
        if s1:
            out["spikes_1"] = st(s1)
        return out

    def export(g0, g1, w):
        net, _ = build(g0, g1, w)
        return nt.to_nir(net, torch.zeros(1, H))

    names = dict(
        lifbox=("LIFBoxCell", "LIFBoxCell"),
        lif=("LIFCell", "LIFCell"),
        iaf=("IAFCell", "IAFCell"),
        lifbox_li=("LIFBoxCell", "LIBoxCell"),
    )[kind]
    settings = dict(
        lifbox=dict(tau_mem_inv=100.0, v_th=1.0, v_reset=0.0, v_leak=0.0, dt=1e-3),
        lif=dict(tau_syn_inv=200.0, tau_mem_inv=100.0, v_th=1.0, v_reset=0.0, v_leak=0.0, dt=1e-3),
        iaf=dict(v_th=1.0, v_reset=0.0),
        lifbox_li=dict(tau_mem_inv=100.0, v_th=1.0, readout="LIBoxCell tau_mem_inv=100", dt=1e-3),
    )[kind]
    info = dict(
        framework="norse",
        semantics="norse",
        version=version("norse"),
        classes=["torch.nn.Linear", f"norse.torch.{names[0]}", "torch.nn.Linear", f"norse.torch.{names[1]}"],
        settings=dict(
            defaults="framework default values, given as per-neuron tensors "
            "(0-d defaults cannot be written by nir.write)",
            **settings,
        ),
        dt_framework="1e-3 (cell default)" if kind != "iaf" else "unused by IAF",
        dt_written="not written; exporter writes tau = dt * tau_true with its dt=1e-3",
        export_call="norse.torch.to_nir(net, torch.zeros(1, 10))",
        v_meaning="state.v after the step (after reset)",
    )
    return run, export, info


# --------------------------------------------------------------------------
# sinabs
# --------------------------------------------------------------------------


def sinabs_case(kind: str, spike: str):
    import sinabs
    import sinabs.layers as sl
    import torch
    from sinabs.activation import MultiSpike, SingleSpike

    spike_fn = MultiSpike if spike == "multi" else SingleSpike

    def neuron(n):
        if kind == "iaf":
            return sl.IAF(spike_fn=spike_fn, record_states=True)
        # per-neuron tau_mem / threshold: with 0-d values the exporter writes a
        # 0-d LIF that nir.write cannot store (h5py scalar dataset + filters)
        return sl.LIF(
            tau_mem=torch.full((n,), 10.0),
            spike_threshold=torch.ones(n),
            spike_fn=spike_fn,
            record_states=True,
        )

    def build(g0, g1, w):
        fc1, fc2 = torch_linears(g0, g1, w)
        n1, n2 = neuron(H1), neuron(H2)
        return torch.nn.Sequential(fc1, n1, fc2, n2), (n1, n2)

    def run(g0, g1, w, x):
        net, (n1, n2) = build(g0, g1, w)
        with torch.no_grad():
            a = n1(net[0](torch.from_numpy(x)))
            v0 = n1.recordings["v_mem"].numpy().copy()
            b = n2(net[2](a))
            v1 = n2.recordings["v_mem"].numpy().copy()
        return dict(
            spikes_0=a.numpy().astype(np.int32),
            spikes_1=b.numpy().astype(np.int32),
            v_0=v0.astype(np.float32),
            v_1=v1.astype(np.float32),
        )

    def export(g0, g1, w):
        net, _ = build(g0, g1, w)
        with torch.no_grad():
            net(torch.zeros(1, 1, H))
        return sinabs.to_nir(net, torch.zeros(1, 1, H))

    cls = "IAF" if kind == "iaf" else "LIF"
    info = dict(
        framework="sinabs",
        semantics="sinabs-single" if spike == "single" else "sinabs",
        version=version("sinabs"),
        classes=["torch.nn.Linear", f"sinabs.layers.{cls}", "torch.nn.Linear", f"sinabs.layers.{cls}"],
        settings=dict(
            spike_fn="MultiSpike (default)" if spike == "multi" else "SingleSpike",
            reset_fn="MembraneSubtract() (default)",
            spike_threshold=(
                "torch.ones(n) (per-neuron so that nir.write can store the LIF)" if kind == "lif" else 1.0
            ),
            min_v_mem="None (default)",
            **(
                {
                    "tau_mem": "torch.full((n,), 10.0) (steps)",
                    "norm_input": "True (default)",
                }
                if kind == "lif"
                else {}
            ),
        ),
        dt_framework="none (discrete steps; tau_mem in steps)",
        dt_written="not written",
        export_call="sinabs.to_nir(net, torch.zeros(1, 1, 10)) after one forward pass",
        v_meaning="recordings['v_mem'] after the step (after reset)",
        spikes_dtype="int32 spike counts per step" if spike == "multi" else "0/1",
    )
    return run, export, info


# --------------------------------------------------------------------------
# rockpool
# --------------------------------------------------------------------------


def rockpool_case(kind: str, dt: float = 1e-3, tau: float = 0.02):
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFNeuronTorch, LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    Neuron = LIFTorch if kind == "LIFTorch" else LIFNeuronTorch

    def build(g0, g1, w):
        torch.manual_seed(0)
        l1 = LinearTorch((H, H1), weight=torch.from_numpy(g0 * w["w0"].T.copy()))
        l2 = LinearTorch((H1, H2), weight=torch.from_numpy(g1 * w["w1"].T.copy()))
        taus = dict(tau_mem=tau, **({"tau_syn": tau / 2} if Neuron is LIFTorch else {}))
        return Sequential(l1, Neuron(H1, dt=dt, **taus), l2, Neuron(H2, dt=dt, **taus))

    def run(g0, g1, w, x):
        net = build(g0, g1, w)
        with torch.no_grad():
            _, _, rec = net(torch.from_numpy(x), record=True)
        keys = list(rec.keys())
        neuron_keys = [k for k in keys if not k.endswith("_output") and ("LIF" in k)]
        assert len(neuron_keys) == 2, keys
        out = {}
        for i, k in enumerate(neuron_keys):
            out[f"spikes_{i}"] = rec[k]["spikes"].numpy().astype(np.int32)
            out[f"v_{i}"] = rec[k]["vmem"].numpy().astype(np.float32)
        return out

    def export(g0, g1, w):
        return to_nir(build(g0, g1, w), torch.zeros(1, H))

    info = dict(
        framework="rockpool",
        semantics="rockpool",
        version=version("rockpool"),
        classes=["rockpool LinearTorch", f"rockpool {kind}", "rockpool LinearTorch", f"rockpool {kind}"],
        settings=dict(
            defaults="all framework defaults",
            tau_mem=tau,
            **({"tau_syn": tau / 2} if kind == "LIFTorch" else {}),
            threshold=1.0,
            bias=0.0,
            dt=dt,
            spike_generation_fn="StepPWL (multi-spike, max_spikes_per_dt=2**16)",
            has_bias="False (LinearTorch default)",
        ),
        dt_framework=f"{dt} (module dt)",
        dt_written="not written; r = tau*exp(-dt/tau)/dt encodes it",
        export_call="rockpool.nn.modules.torch.nir.to_nir(net, torch.zeros(1, 10))",
        v_meaning="record['vmem'] after the step (after reset)",
        spikes_dtype="int32 spike counts per step",
    )
    return run, export, info


# --------------------------------------------------------------------------
# spyx
# --------------------------------------------------------------------------


def spyx_case(kind: str):
    import jax
    import jax.numpy as jnp
    import spyx
    import spyx.nir
    from flax import nnx

    jax.config.update("jax_platforms", "cpu")

    def build(g0, g1, w):
        rngs = nnx.Rngs(0)
        l1 = nnx.Linear(H, H1, rngs=rngs)
        l2 = nnx.Linear(H1, H2, rngs=rngs)
        l1.kernel[...] = jnp.asarray(g0 * w["w0"].T)
        l1.bias[...] = jnp.asarray(g0 * w["b0"])
        l2.kernel[...] = jnp.asarray(g1 * w["w1"].T)
        l2.bias[...] = jnp.asarray(g1 * w["b1"])
        if kind == "LIF":
            n1, n2 = spyx.nn.LIF((H1,), rngs=rngs), spyx.nn.LIF((H2,), rngs=rngs)
        else:
            n1, n2 = spyx.nn.CuBaLIF((H1,), rngs=rngs), spyx.nn.CuBaLIF((H2,), rngs=rngs)
        return spyx.nn.Sequential(l1, n1, l2, n2)

    def run(g0, g1, w, x):
        net = build(g0, g1, w)
        state = net.initial_state(N)
        s0, s1, v0, v1 = [], [], [], []
        l1, n1, l2, n2 = net.layers
        st1, st2 = state[1], state[3]
        for t in range(T):
            a, st1 = n1(l1(jnp.asarray(x[:, t])), st1)
            b, st2 = n2(l2(a), st2)
            s0.append(np.asarray(a))
            s1.append(np.asarray(b))
            v0.append(np.asarray(st1)[:, :H1])
            v1.append(np.asarray(st2)[:, :H2])
        # cross-check the hand loop against spyx's own scan runner
        out_scan, _ = spyx.nn.run(net, jnp.asarray(x), batch_major=True)
        assert np.array_equal(np.asarray(out_scan), np.stack(s1, 1)), "spyx.nn.run differs"
        st = lambda L: np.stack(L, 1).astype(np.float32)  # noqa: E731
        return dict(spikes_0=st(s0), spikes_1=st(s1), v_0=st(v0), v_1=st(v1))

    def export(g0, g1, w):
        net = build(g0, g1, w)
        return spyx.nir.to_nir(net, {"input": np.array([H])}, {"output": np.array([H2])})

    info = dict(
        framework="spyx",
        semantics="spyx",
        version=version("spyx"),
        classes=["flax.nnx.Linear", f"spyx.nn.{kind}", "flax.nnx.Linear", f"spyx.nn.{kind}"],
        settings=dict(
            defaults="all framework defaults: per-neuron beta"
            + (" and alpha" if kind == "CuBaLIF" else "")
            + " ~ 0.5 + truncated_normal(0.25), nnx.Rngs(0)",
            threshold=1.0,
            activation="superspike (heaviside forward)",
        ),
        dt_framework="none (discrete steps)",
        dt_written="not written; to_nir(dt=1) default used in tau = dt/(1-beta)",
        export_call="spyx.nir.to_nir(net, {'input': [10]}, {'output': [6]})",
        v_meaning="V state after the step (the reset of a spike emitted at t is applied at t)",
    )
    return run, export, info


CASES = {
    "snntorch_leaky": lambda: snntorch_case("Leaky", None, False),
    "snntorch_leaky_zero": lambda: snntorch_case("Leaky", "zero", False),
    "snntorch_rleaky": lambda: snntorch_case("Leaky", None, True),
    "snntorch_synaptic": lambda: snntorch_case("Synaptic", None, False),
    "snntorch_synaptic_zero": lambda: snntorch_case("Synaptic", "zero", False),
    "snntorch_rsynaptic": lambda: snntorch_case("Synaptic", None, True),
    "norse_lifbox": lambda: norse_case("lifbox"),
    "norse_lif": lambda: norse_case("lif"),
    "norse_iaf": lambda: norse_case("iaf"),
    "norse_lifbox_li": lambda: norse_case("lifbox_li"),
    "sinabs_iaf": lambda: sinabs_case("iaf", "multi"),
    "sinabs_iaf_single": lambda: sinabs_case("iaf", "single"),
    "sinabs_lif": lambda: sinabs_case("lif", "multi"),
    "sinabs_lif_single": lambda: sinabs_case("lif", "single"),
    "rockpool_liftorch": lambda: rockpool_case("LIFTorch"),
    "rockpool_lifneurontorch": lambda: rockpool_case("LIFNeuronTorch"),
    "spyx_lif": lambda: spyx_case("LIF"),
    "spyx_cubalif": lambda: spyx_case("CuBaLIF"),
    # added later (weight seeds follow the order here, so new cases go last)
    "snntorch_rleaky_zero": lambda: snntorch_case("Leaky", "zero", True),
    "snntorch_rsynaptic_zero": lambda: snntorch_case("Synaptic", "zero", True),
    "rockpool_liftorch_dt1e-4": lambda: rockpool_case("LIFTorch", dt=1e-4, tau=0.002),
}


def tune(run, w, x):
    """Find per-layer gains so that each spiking layer fires RATE_LO..RATE_HI."""

    def search(get_rate, g):
        for _ in range(80):
            r = get_rate(g)
            if RATE_LO <= r <= RATE_HI:
                return g
            g = g * (1.15 if r < RATE_LO else 1 / 1.12)
        raise RuntimeError(f"no gain found (last rate {r:.3f})")

    g0 = search(lambda g: rate(run(g, 1.0, w, x)["spikes_0"]), 1.0)
    if "spikes_1" not in run(g0, 1.0, w, x):
        return g0, 1.0
    g1 = search(lambda g: rate(run(g0, g, w, x)["spikes_1"]), 1.0)
    return g0, g1


def main(argv=None) -> int:
    import nir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "tests/data/interop"))
    ap.add_argument("--only", default="", help="comma-separated case names")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    man_path = out / "manifest.json"
    manifest = json.loads(man_path.read_text()) if man_path.exists() else {}
    manifest.setdefault("_common", {})
    manifest["_common"].update(
        dict(
            script="tools/interop/record.py",
            command="make interop (.venv-interop/bin/python tools/interop/record.py)",
            input=f"numpy default_rng({INPUT_SEED}).random((4, 60, 10)) < 0.15, float32",
            network="Linear(10->16) -> neuron -> Linear(16->6) -> neuron",
            weights="base_weights(seed) in record.py, layer i scaled by gains[i]",
            python=sys.version.split()[0],
            torch=version("torch"),
            nir=version("nir"),
            nirtorch=version("nirtorch"),
            jax=version("jax"),
            flax=version("flax"),
            numpy=version("numpy"),
        )
    )
    x = make_input()
    names = [c for c in args.only.split(",") if c] or list(CASES)
    for name in names:
        seed = list(CASES).index(name) + 100
        w = base_weights(seed)
        run, export, info = CASES[name]()
        g0, g1 = tune(run, w, x)
        rec = run(g0, g1, w, x)
        graph = export(g0, g1, w)
        # uncompressed: gzip-chunked HDF5 datasets are 2-3x larger for these tiny arrays
        nir.write(str(out / f"{name}.nir"), graph, compression=None)
        nir.read(str(out / f"{name}.nir"), type_check=False)  # must be readable back
        try:
            nir.read(str(out / f"{name}.nir"))
            info["plain_nir_read"] = "ok"
        except Exception as e:  # the exporter's Input may carry a batch axis
            info["plain_nir_read"] = f"fails: {type(e).__name__}: {e}"
        np.savez_compressed(out / f"{name}.npz", input=x, **rec)
        old = manifest.get(name, {})
        info.update(
            weight_seed=seed,
            gains=[float(g0), float(g1)],
            firing_rates={k: rate(v) for k, v in rec.items() if k.startswith("spikes_")},
            max_spikes_per_step={k: float(np.max(v)) for k, v in rec.items() if k.startswith("spikes_")},
            arrays={k: [list(v.shape), str(v.dtype)] for k, v in rec.items()},
        )
        for field in ("nir_semantics_mismatch", "framework_semantics_mismatch"):  # baseline.py's
            if field in old:
                info[field] = old[field]
        manifest[name] = info
        print(f"{name}: gains {g0:.3g} {g1:.3g} rates {info['firing_rates']}", flush=True)
    man_path.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
