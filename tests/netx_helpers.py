"""lava-dl for the netx tests: import it (or skip), export slayer networks, run netx's Lava network.

lava-dl 0.6.0's ``lava.lib.dl.slayer/__init__`` imports its object-detection
subpackage, which alone needs torchvision and OpenCV (nothing in netx, the
blocks or the neurons uses it; PyPI's torchvision cannot load beside the CPU
build of torch).  :func:`lava_dl` registers an empty module under that one name
first, then imports the real netx and slayer.  See docs/netx.md.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from s5rf_deploy.converters.netx import DECAY_UNITY, NetxLayer, NetxNetwork, NetxRun

OBJECT_DETECTION = "lava.lib.dl.slayer.object_detection"
STATE_UNIT = 64  # Loihi's << 6 between weights and the voltage
FLOAT_SLACK = 1e-9  # float64 error of the exact graph simulator, in voltage units


def lava_dl() -> tuple[types.ModuleType, types.ModuleType]:
    """``(netx.hdf5, slayer)`` from the installed lava-dl; skip the test where it is absent."""
    try:
        found = importlib.util.find_spec("lava.lib.dl") is not None
    except ModuleNotFoundError:  # no lava.lib package at all
        found = False
    if not found:
        pytest.skip("lava-dl is not installed (make test installs it, see docs/netx.md)")
    sys.modules.setdefault(OBJECT_DETECTION, types.ModuleType(OBJECT_DETECTION, "not loaded: needs torchvision"))
    import lava.lib.dl.slayer as slayer
    from lava.lib.dl.netx import hdf5

    return hdf5, slayer


def export_slayer(path: Path, sizes: list[int], params: list[dict], seed: int) -> None:
    """A slayer network (input block, dense CUBA blocks with 8-bit weights) written by its own export."""
    import h5py
    import torch

    _, slayer = lava_dl()
    torch.manual_seed(seed)
    blocks = [slayer.block.cuba.Input(None, delay_shift=False)]
    blocks += [slayer.block.cuba.Dense(p, a, b, weight_scale=4) for p, a, b in zip(params, sizes, sizes[1:],
                                                                                  strict=False)]
    x = torch.rand(1, sizes[0], 4)
    with torch.no_grad():
        for block in blocks:  # a forward pass fixes the shapes the export writes
            x = block(x)
    with h5py.File(path, "w") as f:
        for i, block in enumerate(blocks):
            block.export_hdf5(f.create_group(f"layer/{i}"))


def run_netx_lava(path: Path, inputs: np.ndarray) -> NetxRun:
    """``hdf5.Network(path)`` on Lava's fixed-point CPU models, fed ``inputs`` (T, H) by a RingBuffer;
    spikes from sinks, ``u``/``v`` read after every step (arrays (1, T, n), like :func:`simulate_netx`)."""
    hdf5, _ = lava_dl()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    steps = inputs.shape[0]
    net = hdf5.Network(net_config=str(path))
    Source(data=inputs.T.astype(np.int32)).s_out.connect(net.inp)
    sinks = []
    for layer in net.layers:
        sinks.append(Sink(shape=layer.out.shape, buffer=steps))
        layer.out.connect(sinks[-1].a_in)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    u: list[list[np.ndarray]] = [[] for _ in net.layers]
    v: list[list[np.ndarray]] = [[] for _ in net.layers]
    try:
        for _ in range(steps):
            net.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
            for i, layer in enumerate(net.layers):
                u[i].append(layer.neuron.u.get())
                v[i].append(layer.neuron.v.get())
        spikes = [s.data.get().T for s in sinks]
    finally:
        net.stop()
    return NetxRun(tuple(s.astype(np.uint8)[None] for s in spikes),
                   tuple(np.stack(r).astype(np.int64)[None] for r in u),
                   tuple(np.stack(r).astype(np.int64)[None] for r in v))


def rounding_bound(i_decay: int, v_decay: int, steps: int) -> np.ndarray:
    """Per step, the largest ``|v_lava - 64 v_float|`` (integer units) while spikes agree.

    Lava rounds each decay product toward zero (error < 1, none for the exact
    factors 0 and 4096/4096): ``|e_u[t]| <= beta |e_u[t-1]| + 1`` and
    ``|e_v[t]| <= alpha |e_v[t-1]| + |e_u[t]| + 1``; a common reset only shrinks ``e_v``.
    """
    beta, alpha = 1 - i_decay / DECAY_UNITY, 1 - v_decay / DECAY_UNITY
    step_u, step_v = float(0 < i_decay < DECAY_UNITY), float(0 < v_decay < DECAY_UNITY)
    bound, e_u, e_v = np.zeros(steps), 0.0, 0.0
    for t in range(steps):
        e_u = beta * e_u + step_u
        e_v = alpha * e_v + e_u + step_v
        bound[t] = e_v
    return bound


def compare_within_rounding(net: NetxNetwork, float_spikes: list[np.ndarray], float_v: list[np.ndarray],
                            lava: NetxRun) -> list[int]:
    """Assert that a float run ((T, n) per layer, voltages in units of 64) is Lava's up to rounding.

    Layer by layer, while its input spikes agree: where neither run spiked the
    voltages differ by at most :func:`rounding_bound`; at the first step where
    the spikes differ, the side that did not spike lay within the bound of the
    threshold.  Returns, per layer, how many steps agreed.
    """
    steps = float_spikes[0].shape[0]
    agreed, windows = steps, []
    for i, layer in enumerate(net.layers):
        bound = rounding_bound(layer.i_decay, layer.v_decay, steps)[:, None] / STATE_UNIT + FLOAT_SLACK
        f_s, l_s = float_spikes[i].astype(bool), lava.spikes[i][0].astype(bool)
        f_v, l_v = float_v[i], lava.v[i][0] / STATE_UNIT
        usable = min(agreed + 1, steps)  # step t of layer i reads layer i-1's spikes of step t-1
        differ = np.flatnonzero(np.any(f_s[:usable] != l_s[:usable], axis=1))
        agreed = int(differ[0]) if differ.size else usable
        quiet = ~f_s[:agreed]
        assert np.all(np.abs(f_v[:agreed] - l_v[:agreed])[quiet] <= np.broadcast_to(bound[:agreed], quiet.shape)[quiet])
        if differ.size:
            t, theta = agreed, layer.v_th_mant
            assert np.all(l_v[t][f_s[t] & ~l_s[t]] >= theta - bound[t]), f"layer {i} step {t}"
            assert np.all(f_v[t][l_s[t] & ~f_s[t]] >= theta - bound[t]), f"layer {i} step {t}"
        windows.append(agreed)
    return windows


def random_net(sizes: list[int], decays: list[tuple[int, int]], seed: int = 0) -> NetxNetwork:
    rng = np.random.default_rng(seed)
    layers = tuple(NetxLayer(rng.integers(-60, 100, (b, a)), i, v, 80)
                   for a, b, (i, v) in zip(sizes, sizes[1:], decays, strict=False))
    return NetxNetwork(sizes[0], layers)


def same_integers(a: NetxNetwork, b: NetxNetwork) -> bool:
    return a.input_dim == b.input_dim and len(a.layers) == len(b.layers) and all(
        np.array_equal(x.weight, y.weight) and (x.i_decay, x.v_decay, x.v_th_mant) == (y.i_decay, y.v_decay,
                                                                                     y.v_th_mant)
        for x, y in zip(a.layers, b.layers, strict=True))
