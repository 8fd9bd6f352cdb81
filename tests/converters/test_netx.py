"""lava-dl netx HDF5: our reader and writer against lava-dl's own export and netx's Lava network.

Tests that need lava-dl skip where it is absent; ``make test`` installs it (docs/netx.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from click.testing import CliRunner

from netx_helpers import compare_within_rounding, export_slayer, lava_dl, random_net, run_netx_lava, same_integers
from s5rf_deploy.cli.main import main
from s5rf_deploy.converters.netx import (
    S5RF_UNSUPPORTED,
    NetxError,
    NetxNetwork,
    from_graph,
    read_netx,
    simulate_netx,
    to_graph,
    write_netx,
)
from s5rf_deploy.errors import FormatError
from s5rf_deploy.graphs.exact_sim import GraphSimulator
from s5rf_deploy.graphs.network import from_nir, to_nir
from s5rf_deploy.tasks.convert import to_netx

STEPS = 60
# slayer neuron parameters of the three dense layers: CUBA, current-free LIF (iDecay 4096), CUBA.
MIXED = [{"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.25},
         {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1},
         {"threshold": 1.25, "current_decay": 0.5, "voltage_decay": 0.05}]
IF = {"threshold": 1.25, "current_decay": 1.0, "voltage_decay": 0.0}


def spikes(steps: int, width: int, seed: int, rate: float = 0.4) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, width)) < rate).astype(np.float32)


def float_run(net: NetxNetwork, inputs: np.ndarray, dt: float = 1.0) -> tuple[list, list]:
    """Spikes and voltages (T, n) per layer of the exact simulation of ``to_graph(net)``."""
    names = tuple(f"layer{i}" for i in range(len(net.layers)))
    res = GraphSimulator(to_graph(net, dt)).run(inputs[None].astype(np.float64), names)
    return [res[f"out_{n}"][0] for n in names], [res[f"v_{n}"][0] for n in names]


def assert_same_run(a, b) -> None:
    for name in ("spikes", "u", "v"):
        for i, (x, y) in enumerate(zip(getattr(a, name), getattr(b, name), strict=True)):
            np.testing.assert_array_equal(x, y, err_msg=f"{name} of layer {i}")


# -- without lava-dl -------------------------------------------------------------------------------
def test_write_read_and_graph_round_trips_are_identical(tmp_path):
    net = random_net([5, 7, 4, 3], [(1024, 1024), (4096, 300), (4096, 0)])
    write_netx(net, tmp_path / "a.net")
    assert same_integers(read_netx(tmp_path / "a.net"), net)
    nir.write(tmp_path / "a.nir", to_nir(to_graph(net, 1e-3)))
    back = from_graph(from_nir(nir.read(tmp_path / "a.nir")))
    assert back.time_shift == 0 and all(f.exact and f.scale_exp == 0 for f in back.fits)
    assert same_integers(back.network, net)


def test_graph_is_the_integer_network_in_real_arithmetic():
    """No rounding (IF layers): bit-exact; with decays: within the derived rounding bound."""
    inputs = spikes(STEPS, 6, seed=1)
    exact = random_net([6, 8, 5], [(4096, 0), (4096, 0)])
    fixed = simulate_netx(exact, inputs[None])
    f_spikes, f_v = float_run(exact, inputs, dt=2.0**-10)
    for i in range(2):
        np.testing.assert_array_equal(f_spikes[i], fixed.spikes[i][0])
        np.testing.assert_array_equal(f_v[i] * 64, fixed.v[i][0])
    assert all(s.mean() > 0.02 for s in fixed.spikes)
    leaky = random_net([6, 8, 5, 4], [(1024, 1024), (4096, 410), (2048, 205)], seed=2)
    fixed = simulate_netx(leaky, inputs[None])
    windows = compare_within_rounding(leaky, *float_run(leaky, inputs), fixed)
    assert min(windows) >= STEPS // 2 and all(s.mean() > 0.02 for s in fixed.spikes), windows


def test_imported_graph_flows_into_the_fixed_point_graph_path():
    """The imported graph through s5rf-deploy's own graph quantizer and stepper (its integers differ
    from netx's: scales at the profile's headroom, weights with exponents); export of that is refused."""
    from s5rf_deploy.graphs.quantize import lif_graph
    from s5rf_deploy.graphs.stepper import GraphStepper
    from s5rf_deploy.hw_profiles import load_profile

    net = random_net([6, 8, 5, 4], [(1024, 1024), (4096, 410), (2048, 205)], seed=2)
    quantized, _ = lif_graph(to_graph(net), load_profile("loihi2"))
    inputs = spikes(STEPS, 6, seed=1)
    ours = GraphStepper(quantized).run(inputs[None], record=("spikes",)).spikes
    netx = simulate_netx(net, inputs[None])
    agreement = [float((ours[f"layer{i}"][0] == netx.spikes[i][0]).mean()) for i in range(3)]
    assert min(agreement) >= 0.9, agreement  # measured 1.0: quantization, not a derived bound
    with pytest.raises(NetxError, match="fixed-point graph"):
        to_netx(quantized)


def edit(path: Path, change) -> Path:
    with h5py.File(path, "r+") as f:
        change(f)
    return path


def retype(f: h5py.File, kind: str) -> None:
    del f["layer/1/neuron/type"]
    f["layer/1/neuron/type"] = kind


REFUSED_FILES = {
    "RF_PHASE neurons": lambda f: retype(f, "RF_PHASE"),
    "neuron type 'SDNN'": lambda f: retype(f, "SDNN"),
    "with a bias": lambda f: f.create_dataset("layer/1/bias", data=np.ones(4)),
    "layer type 'conv'": lambda f: (f["layer/1"].pop("type"), f["layer/1"].create_dataset(
        "type", data=np.array([b"conv"], "S10"))),
    "graded spikes": lambda f: (f["layer/1/neuron"].pop("gradedSpike"), f.create_dataset(
        "layer/1/neuron/gradedSpike", data=True)),
    "differs between neurons": lambda f: (f["layer/1/neuron"].pop("vDecay"), f.create_dataset(
        "layer/1/neuron/vDecay", data=np.arange(4))),
    "no positive weight": lambda f: f["layer/1/weight"].write_direct(-np.abs(f["layer/1/weight"][()])),
    "must be integers": lambda f: f["layer/1/weight"].write_direct(f["layer/1/weight"][()] + 0.5),
    "missing 'vThMant'": lambda f: f["layer/1/neuron"].pop("vThMant"),
    "no 'layer' group": lambda f: f.pop("layer"),
}


@pytest.mark.parametrize("message", sorted(REFUSED_FILES))
def test_reader_refuses_what_it_cannot_map(tmp_path, message):
    path = tmp_path / "bad.net"
    write_netx(random_net([3, 4, 2], [(1024, 1024), (1024, 1024)]), path)
    with pytest.raises((NetxError, FormatError), match=re.escape(message)) as info:
        read_netx(edit(path, REFUSED_FILES[message]))
    assert "\n" not in str(info.value)


def test_reader_and_mapping_errors_are_one_line(tmp_path):
    (tmp_path / "text.net").write_text("not hdf5")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        read_netx(tmp_path / "text.net")
    with pytest.raises(FormatError, match="no such file"):
        read_netx(tmp_path / "missing.net")
    with pytest.raises(NetxError, match="iDecay 0 with vDecay 100 has no NIR neuron"):
        to_graph(random_net([3, 2], [(0, 100)]))


def chain(*nodes: nir.NIRNode, dt: float = 1e-3, delay: bool = False) -> nir.NIRGraph:
    """Input -> nodes... -> Output as a NIR graph (widths from the first Linear)."""
    width = np.atleast_2d(nodes[0].weight).shape[1]
    names = [f"n{i}" for i in range(len(nodes))]
    out = np.atleast_2d(next(n for n in reversed(nodes) if hasattr(n, "weight")).weight).shape[0]
    graph = dict(zip(names, nodes, strict=True))
    graph.update(input=nir.Input(input_type=np.array([width])), output=nir.Output(output_type=np.array([out])))
    path = ["input", *names, "output"]
    return nir.NIRGraph(nodes=graph, edges=list(zip(path, path[1:], strict=False)),
                        metadata={"dt": dt, "input_convention": "impulse"})


def lif(n: int, tau: float = 8e-3, dt: float = 1e-3, threshold: float = 1.0, **extra) -> nir.LIF:
    values = dict(tau=np.full(n, tau), r=np.full(n, tau / dt), v_leak=np.zeros(n), v_threshold=np.full(n, threshold),
                  v_reset=np.zeros(n))
    values.update({k: np.full(n, v) for k, v in extra.items()})
    return nir.LIF(**values)


def cuba(n: int, dt: float = 1e-3) -> nir.CubaLIF:
    return nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.full(n, 1e-2 / dt),
                       v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n), w_in=np.full(n, 5e-3 / dt))


def float_graph(seed: int = 3) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)
    return chain(nir.Linear(weight=rng.normal(0.15, 0.6, (7, 6))), cuba(7),
                 nir.Linear(weight=rng.normal(0.3, 0.8, (4, 7))), lif(4))


def test_writer_fits_floats_and_reports_the_time_shift():
    result = from_graph(from_nir(float_graph()))
    assert result.time_shift == 1  # the LIF layer reacts in its step on NIR, one step later on netx
    for fit, layer in zip(result.fits, result.network.layers, strict=True):
        assert not fit.exact and np.abs(layer.weight).max() >= 127  # the largest scale that fits
        assert fit.weight_error <= 0.5 / np.abs(layer.weight).max() and fit.decay_error <= 0.5 / 4096
    assert result.network.layers[1].i_decay == 4096
    delayed = chain(nir.Linear(weight=np.ones((2, 2))), nir.Delay(delay=np.full(2, 1e-3)), lif(2))
    assert from_graph(from_nir(delayed)).time_shift == 0


REFUSED_GRAPHS = {
    "has no netx equivalent (netx layers": chain(nir.Linear(weight=np.ones((2, 2))),
                                                  nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2))),
    "an Affine bias": chain(nir.Affine(weight=np.ones((2, 2)), bias=np.ones(2)), lif(2)),
    "nonzero v_reset": chain(nir.Linear(weight=np.ones((2, 2))), lif(2, v_reset=0.5)),
    "differs between neurons": chain(nir.Linear(weight=np.ones((2, 2))),
                                     nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2),
                                             v_threshold=np.ones(2))),
    "no power-of-two scale fits": chain(nir.Linear(weight=-np.ones((2, 2))), lif(2)),
}


@pytest.mark.parametrize("message", sorted(REFUSED_GRAPHS))
def test_writer_refuses_what_netx_cannot_express(message):
    with pytest.raises(NetxError, match=re.escape(message)):
        from_graph(from_nir(REFUSED_GRAPHS[message]))


def test_writer_refuses_s5rf_networks_and_branches():
    from s5rf_deploy.converters.nir.export import to_nir as s5rf_to_nir
    from s5rf_deploy.demo import model_path
    from s5rf_deploy.hw_profiles import load_profile
    from s5rf_deploy.s5rf.checkpoint import load_checkpoint
    from s5rf_deploy.s5rf.network import network_from_model
    from s5rf_deploy.s5rf.quantize import quantize

    net = network_from_model(load_checkpoint(model_path()))
    for model in (net, quantize(net, load_profile("loihi2"))[0]):
        with pytest.raises(NetxError) as info:
            to_netx(model)
        assert str(info.value) == S5RF_UNSUPPORTED
    with pytest.raises(NetxError, match="chains of layers"):
        to_netx(from_nir(s5rf_to_nir(net)))


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_import_then_export_reproduces_the_file(tmp_path):
    net = random_net([5, 6, 3], [(1024, 2048), (4096, 0)])
    write_netx(net, tmp_path / "a.net")
    result = run("import-netx", str(tmp_path / "a.net"), "-o", str(tmp_path / "a.nir"))
    assert result.exit_code == 0 and "2 dense CUBA layers [6, 3], 5 inputs" in result.output, result.output
    result = run("--json", "export-netx", str(tmp_path / "a.nir"), "-o", str(tmp_path / "b.net"))
    assert result.exit_code == 0 and '"time_shift": 0' in result.output, result.output
    assert same_integers(read_netx(tmp_path / "b.net"), net)


@pytest.mark.parametrize("command", ["import-netx", "export-netx"])
def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, command):
    from s5rf_deploy.demo import model_path

    path = tmp_path / "bad.net"
    write_netx(random_net([3, 4], [(1024, 1024)]), path)
    model = edit(path, lambda f: retype(f, "RF_PHASE")) if command == "import-netx" else model_path()
    result = run(command, str(model), "-o", str(tmp_path / "out"))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output, result.output
    assert ("RF_PHASE" if command == "import-netx" else "cannot express S5-RF") in lines[0]
    assert not (tmp_path / "out").exists()


# -- against lava-dl ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slayer_files(tmp_path_factory) -> dict[str, Path]:
    """Networks written by lava-dl's slayer ``export_hdf5``."""
    lava_dl()
    folder = tmp_path_factory.mktemp("slayer")
    export_slayer(folder / "mixed.net", [8, 12, 10, 4], MIXED, seed=0)
    export_slayer(folder / "if.net", [8, 12, 6], [IF, IF], seed=1)
    return {"mixed": folder / "mixed.net", "if": folder / "if.net"}


@pytest.mark.lava
def test_slayer_export_reads_bit_exact_and_maps_to_nir_within_rounding(slayer_files):
    net = read_netx(slayer_files["mixed"])
    assert [(x.i_decay, x.v_decay) for x in net.layers] == [(1024, 1024), (4096, 410), (2048, 205)]
    inputs = spikes(STEPS, 8, seed=4)
    lava = run_netx_lava(slayer_files["mixed"], inputs)
    assert_same_run(simulate_netx(net, inputs[None]), lava)
    assert all(s.mean() > 0.02 for s in lava.spikes)
    windows = compare_within_rounding(net, *float_run(net, inputs), lava)
    assert min(windows) >= STEPS // 2, windows


@pytest.mark.lava
def test_slayer_if_export_is_bit_exact_in_the_float_graph(slayer_files):
    net = read_netx(slayer_files["if"])
    inputs = spikes(STEPS, 8, seed=5)
    lava = run_netx_lava(slayer_files["if"], inputs)
    f_spikes, f_v = float_run(net, inputs, dt=2.0**-10)
    for i in range(2):
        np.testing.assert_array_equal(f_spikes[i], lava.spikes[i][0])
        np.testing.assert_array_equal(f_v[i] * 64, lava.v[i][0])
    assert all(s.mean() > 0.02 for s in lava.spikes)


@pytest.mark.lava
def test_slayer_rf_export_is_refused(tmp_path):
    import h5py
    import torch

    _, slayer = lava_dl()
    block = slayer.block.rf.Dense({"threshold": 1.0, "period": 10, "decay": 0.1}, 4, 3)
    block(torch.rand(1, 4, 5))
    with h5py.File(tmp_path / "rf.net", "w") as f:
        block.export_hdf5(f.create_group("layer/0"))
    with pytest.raises(NetxError, match="RF_PHASE neurons"):
        read_netx(tmp_path / "rf.net")


@pytest.mark.lava
def test_our_export_runs_in_netx_as_we_run_it(tmp_path):
    result = from_graph(from_nir(float_graph()))
    write_netx(result.network, tmp_path / "ours.net")
    inputs = spikes(STEPS, 6, seed=6)
    lava = run_netx_lava(tmp_path / "ours.net", inputs)
    assert_same_run(simulate_netx(result.network, inputs[None]), lava)
    windows = compare_within_rounding(result.network, *float_run(result.network, inputs, 1e-3), lava)
    assert min(windows) >= STEPS // 2 and all(s.mean() > 0.02 for s in lava.spikes), windows


@pytest.mark.lava
def test_exactly_representable_graph_is_bit_exact_on_netx(tmp_path):
    """IF layers with weights in quarters: the exported integers are the graph's values x 4, no rounding."""
    rng = np.random.default_rng(7)
    dt = 2.0**-10
    graph = from_nir(chain(nir.Linear(weight=rng.integers(-20, 40, (6, 5)) / 4),
                           nir.IF(r=np.full(6, 1 / dt), v_threshold=np.full(6, 10.0)),
                           nir.Linear(weight=rng.integers(-20, 40, (3, 6)) / 4),
                           nir.IF(r=np.full(3, 1 / dt), v_threshold=np.full(3, 10.0)), dt=dt))
    result = from_graph(graph)
    assert result.time_shift == 2 and all(f.exact for f in result.fits)
    write_netx(result.network, tmp_path / "if.net")
    inputs = spikes(STEPS, 5, seed=8)
    lava = run_netx_lava(tmp_path / "if.net", inputs)
    names = ("n1", "n3")
    ours = GraphSimulator(graph).run(inputs[None].astype(np.float64), names)
    for i, (name, fit) in enumerate(zip(names, result.fits, strict=True)):
        shift = i + 1  # each IF layer: one step of netx's Dense latency
        np.testing.assert_array_equal(ours[f"out_{name}"][0, :-shift], lava.spikes[i][0, shift:])
        np.testing.assert_array_equal(ours[f"v_{name}"][0, :-shift] * 2.0**fit.scale_exp * 64, lava.v[i][0, shift:])
    assert all(s.mean() > 0.02 for s in lava.spikes)
