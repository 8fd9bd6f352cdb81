"""Bad inputs through the CLI (issue #8): each is refused with exit code 2 and one stderr line naming the
problem, without a traceback, and leaves no output file (nor a temporary ``.part`` file) behind.

Option values that click itself validates (ranges, finite numbers) are click usage errors: exit code 2,
click's usage hint, then one ``Error:`` line.  docs/reliability.md lists every case and its test.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from click.testing import CliRunner, Result

from helpers import DATA_DIR, REPO, make_model, random_spikes
from s5rf_deploy import container
from s5rf_deploy.cli.main import main
from s5rf_deploy.converters.nir.export import to_nir, write_nir
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf import artifact as fxp_network
from s5rf_deploy.s5rf import checkpoint
from s5rf_deploy.s5rf.network import StabilityWarning, model_from_network
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.tasks.loading import load_network

PROFILE = REPO / "hw_profiles" / "loihi2.toml"
CONTAINER_KINDS = {".s5rf": checkpoint.KIND, ".fxp": fxp_network.KIND}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """Valid files: a small checkpoint, its NIR export and fixed-point artifact, spike data, a LIF graph."""
    folder = tmp_path_factory.mktemp("good")
    files = {name: folder / name for name in ("model.s5rf", "model.nir", "model.fxp", "data.npz", "lif.nir")}
    checkpoint.save_checkpoint(make_model("dirac_keepimag"), files["model.s5rf"])
    net = load_network(files["model.s5rf"])
    write_nir(to_nir(net), files["model.nir"])
    fxp_network.save_fxp(quantize(net, load_profile("loihi2"))[0], files["model.fxp"])
    save_dataset(Dataset(random_spikes(3, 8, 5, rate=0.5), np.array([0, 1, 2])), files["data.npz"])
    lif_graph(files["lif.nir"])
    return files


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output folder of the command under test."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def cli(*args) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_refused(result: Result, out: Path, *names: str, usage: bool = False, existing: tuple[Path, ...] = ()
                   ) -> None:
    """Exit 2 with an error line holding every one of ``names``, no traceback, nothing new in ``out``.

    The error is the only stderr line, or with ``usage`` the last one after click's usage hint.
    """
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert lines[0].startswith("Usage:") if usage else len(lines) == 1, result.stderr
    for name in names:
        assert name in lines[-1], lines[-1]
    assert sorted(out.iterdir()) == sorted(existing)


def lif_graph(path: Path, weight: np.ndarray | None = None, tau: np.ndarray | None = None,
              metadata: dict | None = None) -> Path:
    """A NIR graph input (5) -> Linear -> LIF (3) -> output, with the given weight, taus and metadata."""
    weight = np.full((3, 5), 0.5) if weight is None else weight
    tau = np.full(3, 0.01) if tau is None else tau
    n = tau.size
    nodes = {"input": nir.Input(input_type=np.array([5])), "w": nir.Linear(weight=weight),
             "lif": nir.LIF(tau=tau, r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)),
             "output": nir.Output(output_type=np.array([n]))}
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
                         metadata={"dt": 1e-3} if metadata is None else metadata, type_check=False)
    nir.write(path, graph)
    return path


def edit_container(src: Path, dst: Path, arrays: Callable[[dict], None] | None = None,
                   meta: Callable[[dict], None] | None = None, version: int = 1) -> Path:
    """Copy of a checkpoint or artifact with its arrays and metadata edited in place by the callbacks."""
    kind = CONTAINER_KINDS[src.suffix]
    header, values = container.load(src, kind, 1)
    fields = {k: v for k, v in header.items() if k not in ("format", "kind", "version")}
    if arrays:
        arrays(values)
    if meta:
        meta(fields)
    container.save(dst, kind, version, fields, values)
    return dst


def edit_nir(src: Path, dst: Path, edit: Callable[[nir.NIRGraph], None]) -> Path:
    graph = nir.read(src)
    edit(graph)
    nir.write(dst, graph)
    return dst


def profile_file(path: Path, edit: Callable[[str], str]) -> Path:
    path.write_text(edit(PROFILE.read_text()))
    return path


def set_item(key: str, index: int, value: float) -> Callable[[dict], None]:
    """An edit that sets ``arrays[key][index] = value``."""
    def edit(arrays: dict) -> None:
        arrays[key] = arrays[key].copy()
        arrays[key][index] = value
    return edit


def simulate(model: Path, data: Path, out: Path, *extra: str) -> Result:
    return cli("simulate", model, "--input", data, *extra, "-o", out / "run.npz")


# --- truncated and corrupted files ---------------------------------------------------------------------------


def _flip(raw: bytes, start: int, count: int = 16) -> bytes:
    return raw[:start] + bytes(b ^ 0xFF for b in raw[start:start + count]) + raw[start + count:]


def _flip_stored_array(path: Path, raw: bytes) -> bytes:
    """Flip bytes in the middle of the largest stored array (a zip member, or a NIR file's gzip chunk)."""
    if path.suffix == ".nir":
        with h5py.File(path) as f:
            chunk = f["node/nodes/rf1/nodes/w_re/weight"].id.get_chunk_info(0)
        return _flip(raw, chunk.byte_offset + chunk.size // 2)
    with zipfile.ZipFile(path) as archive:
        member = max(archive.infolist(), key=lambda info: info.compress_size)
    header = member.header_offset  # local header: 30 bytes, then the name and the extra field
    data = header + 30 + int.from_bytes(raw[header + 26:header + 28], "little") + int.from_bytes(
        raw[header + 28:header + 30], "little")
    return _flip(raw, data + member.compress_size // 2)


DAMAGE = {"empty": lambda path, raw: b"", "truncated": lambda path, raw: raw[: len(raw) // 2],
          "flipped": _flip_stored_array}
ZIP_TRUNCATED = "truncated or corrupted (the zip directory at its end is missing)"


DAMAGED = [
    *((name, "empty", f"not a readable {what} (empty file)") for name, what in (
        ("model.s5rf", "s5rf-deploy file"), ("model.fxp", "s5rf-deploy file"), ("model.nir", "NIR file"),
        ("data.npz", "dataset .npz file"))),
    ("model.s5rf", "truncated", f"not a readable s5rf-deploy file: {ZIP_TRUNCATED}"),
    ("model.fxp", "truncated", f"not a readable s5rf-deploy file: {ZIP_TRUNCATED}"),
    ("data.npz", "truncated", f"not a readable dataset .npz file: {ZIP_TRUNCATED}"),
    ("model.nir", "truncated", "not a readable NIR file (OSError: Unable to synchronously open file (truncated file"),
    ("model.s5rf", "flipped", "not a readable s5rf-deploy file: truncated or corrupted (Bad CRC-32 for file "),
    ("model.fxp", "flipped", "not a readable s5rf-deploy file: truncated or corrupted (Bad CRC-32 for file "),
    ("data.npz", "flipped", "not a readable dataset .npz file: truncated or corrupted (Error -3 while decompressing"),
    ("model.nir", "flipped", "not a readable NIR file (OSError: Can't synchronously read data (filter returned"),
]


@pytest.mark.parametrize("name, damage, message", DAMAGED, ids=[f"{name}-{damage}" for name, damage, _ in DAMAGED])
def test_damaged_file(good, tmp_path, out, name, damage, message):
    damaged = tmp_path / f"damaged{Path(name).suffix}"
    damaged.write_bytes(DAMAGE[damage](good[name], good[name].read_bytes()))
    model, data = (good["model.s5rf"], damaged) if name == "data.npz" else (damaged, good["data.npz"])
    assert_refused(simulate(model, data, out), out, f"{damaged}: {message}")


# --- wrong shapes and dtypes -----------------------------------------------------------------------------------

INPUTS = random_spikes(3, 8, 5)


@pytest.mark.parametrize("arrays, message", [
    ({"inputs": INPUTS[0]}, "'inputs' must have shape (N, T, H), got (8, 5)"),
    ({"inputs": INPUTS[None]}, "'inputs' must have shape (N, T, H), got (1, 3, 8, 5)"),
    ({"inputs": INPUTS, "labels": np.zeros((3, 2))}, "'labels' must have shape (3,), got (3, 2)"),
    ({"inputs": INPUTS.astype(str)}, "'inputs' must be real numbers, got <U"),
    ({"inputs": INPUTS + 0j}, "'inputs' must be real numbers, got complex"),
    ({"inputs": INPUTS > 0}, "'inputs' must be real numbers, got bool"),
    ({"inputs": INPUTS, "labels": np.array([0.5, 1, 2])}, "'labels' must be non-negative integers"),
    ({"inputs": INPUTS, "labels": np.array([-1, 1, 2])}, "'labels' must be non-negative integers"),
    ({"data": INPUTS}, "no 'inputs' array (found ['data'])"),
], ids=["2d", "4d", "labels-shape", "strings", "complex", "bool", "labels-float", "labels-negative", "no-inputs"])
def test_bad_dataset_arrays(good, tmp_path, out, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert_refused(simulate(good["model.s5rf"], tmp_path / "bad.npz", out), out, "bad.npz", message)


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.__setitem__("layers.0.B", a["layers.0.B"][:, :3]), "'layers.0.B' has shape (12, 3, 2), config needs"),
    (lambda a: a.__setitem__("layers.0.imag", a["layers.0.imag"].astype(str)), "'layers.0.imag' holds <U"),
    (lambda a: a.__setitem__("layers.0.imag", a["layers.0.imag"].astype(np.int64)), "'layers.0.imag' holds int64"),
    (lambda a: a.__setitem__("layers.1.log_step", a["layers.1.log_step"] + 0j), "'layers.1.log_step' holds complex"),
    (lambda a: a.pop("readout_weight"), "missing tensor 'readout_weight'"),
], ids=["shape", "strings", "integers", "complex", "missing"])
def test_bad_checkpoint_tensors(good, tmp_path, out, edit, message):
    model = edit_container(good["model.s5rf"], tmp_path / "bad.s5rf", edit)
    assert_refused(cli("export-nir", model, "-o", out / "m.nir"), out, "bad.s5rf", message)


@pytest.mark.parametrize("arrays, meta, message", [
    (lambda a: a.__setitem__("stage0.in.0.weights", a["stage0.in.0.weights"][:, :2]), None,
     "stage 0 synapse from -1 has shape (24, 2), expected (24, 5)"),
    (lambda a: a.__setitem__("stage0.in.0.weights", a["stage0.in.0.weights"] + 0.5), None,
     "'stage0.in.0.weights' holds float64 values, expected integers"),
    (lambda a: a.pop("stage1.decay_re"), None, "incomplete or malformed fixed-point network"),
    (None, lambda m: m.__setitem__("layer_stages", [7, 9]), "layer stage 7 is not one of the 2 stages"),
    (None, lambda m: m["stages"][0].__setitem__("spike", "sideways"), "spike rule 'sideways'"),
    (None, lambda m: m["stages"][0].__setitem__("threshold", -5), "stage 0 threshold -5 outside"),
    (None, lambda m: m["stages"][1].__setitem__("input_shift", -1), "stage 1 input shift -1 outside the profile's"),
    (lambda a: a.__setitem__("readout.du", np.full_like(a["readout.du"], 5000)), None,
     "readout du 5000 outside the profile's range 0..4095"),
], ids=["weight-shape", "float-weights", "missing-array", "stage-index", "spike-rule", "threshold", "input-shift",
        "readout-decay"])
def test_bad_fixed_point_artifacts(good, tmp_path, out, arrays, meta, message):
    model = edit_container(good["model.fxp"], tmp_path / "bad.fxp", arrays, meta)
    assert_refused(simulate(model, good["data.npz"], out), out, "bad.fxp", message)


def test_nir_graph_with_mismatched_shapes(good, tmp_path, out):
    graph = lif_graph(tmp_path / "bad.nir", weight=np.ones((4, 5)))
    assert_refused(cli("quantize", graph, "-o", out / "m.fxp"), out, "bad.nir",
                   "edge 'w' -> 'lif': 4 values into a node expecting 3")


def test_nir_export_with_mismatched_metadata(good, tmp_path, out):
    graph = edit_nir(good["model.nir"], tmp_path / "bad.nir",
                     lambda g: g.nodes["rf0"].metadata.__setitem__("B_re", np.zeros((3, 2))))
    assert_refused(simulate(graph, good["data.npz"], out), out, "bad.nir", "malformed NIR graph")


# --- NaN and Inf -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("layers.0.imag", np.nan), ("layers.1.log_step", np.inf),
                                        ("readout_weight", -np.inf)])
def test_non_finite_checkpoint_parameters(good, tmp_path, out, key, value):
    model = edit_container(good["model.s5rf"], tmp_path / "bad.s5rf", set_item(key, 0, value))
    assert_refused(cli("quantize", model, "-o", out / "m.fxp"), out, "bad.s5rf", f"{key!r} contains NaN or Inf")


def test_checkpoint_values_beyond_float32(good, tmp_path, out):
    model = edit_container(good["model.s5rf"], tmp_path / "bad.s5rf",
                           lambda a: a.__setitem__("layers.0.B", a["layers.0.B"].astype(np.float64) * 1e300))
    assert_refused(cli("quantize", model, "-o", out / "m.fxp"), out, "bad.s5rf",
                   "'layers.0.B' contains NaN or Inf (or values too large for float32)")


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e300], ids=["nan", "inf", "beyond-float32"])
def test_non_finite_dataset_inputs(good, tmp_path, out, value):
    inputs = INPUTS.astype(np.float64)
    inputs[1, 2, 3] = value
    np.savez(tmp_path / "bad.npz", inputs=inputs)
    assert_refused(simulate(good["model.s5rf"], tmp_path / "bad.npz", out), out, "bad.npz",
                   "'inputs' contains NaN, Inf or values beyond the float32 range")


def test_non_finite_nir_node_parameter(good, tmp_path, out):
    graph = lif_graph(tmp_path / "bad.nir", weight=np.full((3, 5), np.inf))
    assert_refused(simulate(graph, good["data.npz"], out), out, "bad.nir", "node 'w': parameter 'weight' contains NaN")


def test_non_finite_nir_export_metadata(good, tmp_path, out):
    graph = edit_nir(good["model.nir"], tmp_path / "bad.nir",
                     lambda g: g.nodes["rf0"].metadata["log_step"].__setitem__(0, np.nan))
    assert_refused(simulate(graph, good["data.npz"], out), out, "bad.nir", "layer 0: log_step contains NaN or Inf")


def test_non_finite_fixed_point_scale(good, tmp_path, out):
    model = edit_container(good["model.fxp"], tmp_path / "bad.fxp",
                           meta=lambda m: m["stages"][1].__setitem__("state_scale", float("nan")))
    assert_refused(simulate(model, good["data.npz"], out), out, "bad.fxp",
                   "stage 1 state scale nan is not a positive finite number")


# --- zero or negative steps and sampling periods ---------------------------------------------------------------


def test_zero_step_in_checkpoint(good, tmp_path, out):
    model = edit_container(good["model.s5rf"], tmp_path / "bad.s5rf", set_item("layers.1.log_step", 4, -1000.0))
    assert_refused(simulate(model, good["data.npz"], out), out, "layer 1: neuron 4 has step Delta = 0")


@pytest.mark.parametrize("eta", ["0,0.1", "-0.1,0.1", "0.1,inf", "nan,nan", "0.2,0.1"])
def test_train_refuses_non_positive_step_range(good, out, eta):
    result = cli("train", good["data.npz"], "--eta", eta, "--epochs", "1", "-o", out / "m.s5rf")
    assert_refused(result, out, "--eta", "need 0 < low <= high < inf", usage=True)


@pytest.mark.parametrize("key,value", [("eta_min", 0.0), ("eta_max", 0.0), ("eta_max", float("inf"))])
def test_train_config_with_zero_or_infinite_step(good, tmp_path, out, key, value):
    config = {"input_dim": 5, "output_dim": 3, "num_neurons": [4], "num_blocks": [2], key: value}
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = cli("train", good["data.npz"], "--config", tmp_path / "config.json", "-o", out / "m.s5rf")
    assert_refused(result, out, "need 0 < eta_min <= eta_max")


@pytest.mark.parametrize("command", ["export-nir", "simulate", "quantize"])
@pytest.mark.parametrize("dt", ["0", "-1e-3", "nan", "inf"])
def test_dt_option_must_be_positive_and_finite(good, out, command, dt):
    extra = ("--input", good["data.npz"]) if command == "simulate" else ()
    result = cli(command, good["lif.nir"], "--dt", dt, *extra, "-o", out / "x")
    assert_refused(result, out, "'--dt'", usage=True)


@pytest.mark.parametrize("metadata, tau, message", [
    ({"dt": 0.0}, None, "dt must be positive, got 0.0"),
    ({"dt": -1e-3}, None, "dt must be positive, got -0.001"),
    (None, np.array([0.01, 0.0, 0.01]), "node 'lif': time constant tau must be positive"),
    (None, np.array([0.01, -0.02, 0.01]), "node 'lif': time constant tau must be positive"),
], ids=["dt-zero", "dt-negative", "tau-zero", "tau-negative"])
def test_nir_graph_with_non_positive_time_constants(good, tmp_path, out, metadata, tau, message):
    graph = lif_graph(tmp_path / "bad.nir", tau=tau, metadata=metadata)
    assert_refused(cli("quantize", graph, "-o", out / "m.fxp"), out, "bad.nir", message)


# --- unstable poles --------------------------------------------------------------------------------------------


@pytest.fixture
def unstable(good, tmp_path) -> Path:
    """The good checkpoint with neuron 2 of layer 0 on the unit circle: Re(lambda) Delta underflows."""
    return edit_container(good["model.s5rf"], tmp_path / "unstable.s5rf", set_item("layers.0.log_neg_real", 2, -60.0))


@pytest.mark.parametrize("command", [("quantize",), ("export-nir",), ("simulate", "--precision", "fixed"),
                                     ("simulate", "--backend", "nir")], ids=lambda c: " ".join(c))
def test_unstable_poles_are_refused_for_deployment(good, unstable, out, command):
    extra = ("--input", good["data.npz"]) if command[0] == "simulate" else ()
    result = cli(*command, unstable, *extra, "-o", out / "x")
    assert_refused(result, out, "layer 0: neuron 2 has an unstable pole |lambda_bar| = 1 >= 1")


# --- empty inputs and T = 0 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 8, 5), (3, 0, 5), (3, 8, 0)], ids=["N=0", "T=0", "H=0"])
@pytest.mark.parametrize("command", ["simulate", "train"])
def test_empty_inputs(good, tmp_path, out, shape, command):
    np.savez(tmp_path / "empty.npz", inputs=np.zeros(shape, np.float32), labels=np.zeros(shape[0], np.int64))
    if command == "simulate":
        result = simulate(good["model.s5rf"], tmp_path / "empty.npz", out)
    else:
        result = cli("train", tmp_path / "empty.npz", "-o", out / "m.s5rf")
    assert_refused(result, out, "empty.npz", f"'inputs' is empty (shape {shape})")


# --- non-binary values where spikes are expected ---------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ("simulate", "{fxp}", "--input", "{data}"),
    ("simulate", "{fxp}", "--backend", "lava", "--input", "{data}"),
    ("simulate", "{model}", "--precision", "fixed", "--input", "{data}"),
    ("simulate", "{lif}", "--precision", "fixed", "--input", "{data}"),
    ("quantize", "{lif}", "--calibrate", "{data}"),
], ids=["stepper", "lava", "on-the-fly", "graph", "graph-calibration"])
@pytest.mark.parametrize("value", [0.5, -1.0])
def test_non_binary_spike_inputs(good, tmp_path, out, command, value):
    inputs = INPUTS.copy()
    inputs[0, 0, 0] = value
    np.savez(tmp_path / "graded.npz", inputs=inputs)
    paths = {"fxp": good["model.fxp"], "model": good["model.s5rf"], "lif": good["lif.nir"],
             "data": tmp_path / "graded.npz"}
    result = cli(*(arg.format(**paths) for arg in command), "-o", out / "x")
    assert_refused(result, out, "graded.npz", "binary spike inputs (0/1)")


def test_graded_input_range_and_kind(good, tmp_path, out):
    """Analog calibration data give an S5-RF network graded inputs (issue 15); inputs beyond the calibrated range,
    and analog inputs for a binary artifact, are refused in one line naming the sample."""
    analog = np.linspace(0, 1, INPUTS.size, dtype=np.float32).reshape(INPUTS.shape)
    np.savez(tmp_path / "analog.npz", inputs=analog)
    fxp = tmp_path / "graded.fxp"
    result = cli("quantize", good["model.s5rf"], "--calibrate", tmp_path / "analog.npz", "-o", fxp)
    assert result.exit_code == 0, result.output
    assert "inputs: graded payloads round(x 2^" in result.output
    assert "analog inputs as graded payloads round(x 2^" in cli("inspect", fxp).output
    analog[1, 2, 3] = 1e6
    np.savez(tmp_path / "far.npz", inputs=analog)
    assert_refused(simulate(fxp, tmp_path / "far.npz", out), out, "far.npz: sample 1: analog input 1e+06 at step 2, "
                                                                    "channel 3 is outside the range")
    assert_refused(simulate(good["model.fxp"], tmp_path / "analog.npz", out), out, "analog.npz: sample 0:",
                   "binary spike inputs (0/1)")


# --- a network too large for the profile -----------------------------------------------------------------------


def test_network_too_large_for_profile(good, tmp_path, out):
    small = profile_file(tmp_path / "one-core.toml", lambda t: t.replace("cores_per_chip = 128", "cores_per_chip = 1"))
    result = cli("quantize", good["model.s5rf"], "--profile", small, "-o", out / "m.fxp")
    assert_refused(result, out, "network needs 3 cores, the profile has 1 (use --allow-overflow to proceed)")
    result = cli("quantize", good["model.s5rf"], "--profile", small, "--allow-overflow", "-o", out / "m.fxp")
    assert result.exit_code == 0, result.output
    assert "DOES NOT FIT" in result.stdout and "network needs 3 cores" in result.stdout
    assert (out / "m.fxp").is_file()


# --- profiles with impossible widths, unknown or missing keys --------------------------------------------------


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("[decay]\nbits = 12", "[decay]\nbits = 24"), "key decay.bits must be smaller than state.bits"),
    (lambda t: t.replace("mantissa_bits = 8", "mantissa_bits = 12"), "key weights.mantissa_bits = 12 must be"),
    (lambda t: t.replace("default_headroom = 16.0", "default_headroom = 1e30"),
     "state.default_headroom leaves a threshold no bits"),
    (lambda t: t.replace("default_headroom = 16.0", "default_headroom = inf"),
     "key state.default_headroom = inf must be a finite number"),
    (lambda t: t.replace("max_delay = 62", "max_delay = -1"), "key spikes.max_delay = -1 must be between 0 and 1024"),
    (lambda t: "colour = 'blue'\n" + t, "unknown key 'colour'"),
    (lambda t: "version = 2\n" + t, "unknown key 'version'"),
    (lambda t: t.replace("cores_per_chip = 128\n", ""), "missing key resources.cores_per_chip"),
    (lambda t: t.replace("[readout]", "[readout_]"), "unknown key 'readout_'"),
    (lambda t: t[: len(t) // 2] + "[[", "invalid TOML"),
], ids=["decay-wider-than-state", "mantissa", "headroom-too-large", "headroom-inf", "delay", "unknown-key",
        "version-key", "missing-key", "misspelt-section", "truncated"])
def test_bad_profiles(good, tmp_path, out, edit, message):
    profile = profile_file(tmp_path / "bad.toml", edit)
    result = simulate(good["model.s5rf"], good["data.npz"], out, "--precision", "fixed", "--profile", profile)
    assert_refused(result, out, "bad.toml", message)


def test_bad_profile_embedded_in_artifact(good, tmp_path, out):
    model = edit_container(good["model.fxp"], tmp_path / "bad.fxp",
                           meta=lambda m: m["profile"]["decay"].__setitem__("bits", 99))
    assert_refused(simulate(model, good["data.npz"], out), out, "bad.fxp (embedded profile): key decay.bits = 99")


# --- mismatched versions and wrong kinds of file ---------------------------------------------------------------


@pytest.mark.parametrize("name, kind", [("model.s5rf", checkpoint.KIND), ("model.fxp", fxp_network.KIND)])
def test_unsupported_container_version(good, tmp_path, out, name, kind):
    model = edit_container(good[name], tmp_path / f"v2{Path(name).suffix}", version=2)
    assert_refused(simulate(model, good["data.npz"], out), out, str(model),
                   f"{kind} format version 2 is not supported (expected 1)")


def test_unsupported_nir_export_version(good, tmp_path, out):
    graph = edit_nir(good["model.nir"], tmp_path / "v99.nir",
                     lambda g: g.metadata.__setitem__("s5rf_deploy.version", 99))
    assert_refused(simulate(graph, good["data.npz"], out), out, "v99.nir",
                   "s5rf-deploy NIR version 99 is not supported")


def test_artifact_quantized_for_another_profile(good, out):
    result = simulate(good["model.fxp"], good["data.npz"], out, "--profile", "loihi2-wide")
    assert_refused(result, out, "model.fxp", "quantized for profile 'loihi2', which differs from --profile loihi2-wide")


@pytest.mark.parametrize("command, message", [
    (("export-nir", "{fxp}"), "holds a 's5rf-fxp-network', not a float model"),
    (("quantize", "{data}"), "not a model file this tool can read"),
    (("simulate", "{model}", "--input", "{fxp}"),
     "holds a 's5rf-fxp-network' (an s5rf-deploy artifact), not a dataset"),
    (("train", "{model}"), "holds a 's5rf-float-model' (an s5rf-deploy artifact), not a dataset"),
    (("simulate", "{model}", "--input", "{nir}"), "not a dataset: an HDF5 file without spikes/times and spikes/units"),
    (("quantize", "{profile}"), "not a model file this tool can read"),
], ids=["artifact-as-model", "dataset-as-model", "artifact-as-data", "checkpoint-as-training-data", "nir-as-data",
        "profile-as-model"])
def test_wrong_kind_of_file(good, out, command, message):
    paths = {"fxp": good["model.fxp"], "model": good["model.s5rf"], "data": good["data.npz"],
             "nir": good["model.nir"], "profile": PROFILE}
    result = cli(*(arg.format(**paths) for arg in command), "-o", out / "x")
    assert_refused(result, out, message)


# --- output paths ----------------------------------------------------------------------------------------------


def test_output_under_a_regular_file(good, out):
    (out / "file.txt").write_text("not a folder")
    result = cli("quantize", good["model.s5rf"], "-o", out / "file.txt" / "m.fxp")
    assert_refused(result, out, f"output directory {out / 'file.txt'} is not a directory", existing=(out / "file.txt",))


def test_output_in_missing_directory(good, out):
    result = simulate(good["model.s5rf"], good["data.npz"], out / "missing")
    assert_refused(result, out, f"output directory {out / 'missing'} does not exist")


def test_report_path_refused_before_the_artifact_is_written(good, out):
    result = cli("quantize", good["model.s5rf"], "--report", out / "missing" / "r.json", "-o", out / "m.fxp")
    assert_refused(result, out, "r.json: output directory", "does not exist")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_output_in_read_only_directory(good, out):
    out.chmod(0o500)
    try:
        result = cli("export-nir", good["model.s5rf"], "-o", out / "m.nir")
    finally:
        out.chmod(0o700)
    assert_refused(result, out, "is not writable")


def test_output_is_a_directory(good, out):
    (out / "dir.nir").mkdir()
    result = cli("export-nir", good["model.s5rf"], "-o", out / "dir.nir")
    assert_refused(result, out, "is a directory", usage=True, existing=(out / "dir.nir",))


# --- existing outputs: refused unless --force ------------------------------------------------------------------

WRITERS = {
    "import-reference": ("import-reference", "{ref}/skip4.eqx", "--config", "{ref}/skip4.json"),
    "train": ("train", "{data}", "--neurons", "4", "--blocks", "2", "--epochs", "1"),
    "simulate": ("simulate", "{model}", "--input", "{data}"),
    "export-nir": ("export-nir", "{model}"),
    "quantize": ("quantize", "{model}"),
}


@pytest.mark.parametrize("command", WRITERS)
def test_existing_output_needs_force(good, out, command):
    paths = {"ref": DATA_DIR / "reference", "model": good["model.s5rf"], "data": good["data.npz"]}
    args = [arg.format(**paths) for arg in WRITERS[command]] + ["-o", out / "existing"]
    (out / "existing").write_bytes(b"precious")
    assert_refused(cli(*args), out, "existing: already exists (use --force to overwrite)", existing=(out / "existing",))
    assert (out / "existing").read_bytes() == b"precious"
    result = cli(*args, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "existing").read_bytes() != b"precious" and [p.name for p in out.iterdir()] == ["existing"]


def test_existing_report_needs_force(good, out):
    (out / "r.json").write_text("{}")
    result = cli("quantize", good["model.s5rf"], "--report", out / "r.json", "-o", out / "m.fxp")
    assert_refused(result, out, "r.json: already exists", existing=(out / "r.json",))


# --- option values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, option", [
    (("simulate", "{model}", "--input", "{data}", "--batch-size", "0"), "'--batch-size'"),
    (("train", "{data}", "--batch-size", "0"), "'--batch-size'"),
    (("train", "{data}", "--epochs", "0"), "'--epochs'"),
    (("train", "{data}", "--classes", "0"), "'--classes'"),
    (("train", "{data}", "--lr", "nan"), "'--lr'"),
    (("train", "{data}", "--weight-decay", "-1"), "'--weight-decay'"),
    (("quantize", "{model}", "--calibrate", "{data}", "--calibration-samples", "0"), "'--calibration-samples'"),
    (("quantize", "{model}", "--max-steps", "0"), "'--max-steps'"),
], ids=["simulate-batch-size", "train-batch-size", "epochs", "classes", "lr", "weight-decay", "calibration-samples",
        "max-steps"])
def test_bad_option_values(good, out, command, option):
    paths = {"model": good["model.s5rf"], "data": good["data.npz"]}
    result = cli(*(arg.format(**paths) for arg in command), "-o", out / "x")
    assert_refused(result, out, option, usage=True)


# --- numerical safety: nothing silent --------------------------------------------------------------------------


def test_float_model_warns_on_unstable_poles(good, unstable, out):
    result = simulate(unstable, good["data.npz"], out, "--backend", "torch")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: layer 0: neuron 2 has an unstable pole |lambda_bar| = 1 >= 1: its state never decays"]
    assert (out / "run.npz").is_file()
    with pytest.warns(StabilityWarning, match="layer 0: neuron 2 has an unstable pole"):
        model_from_network(load_network(unstable))


def test_on_the_fly_quantization_reports_overflow_and_saturation(good, tmp_path, out):
    cramped = profile_file(tmp_path / "cramped.toml", lambda t: t.replace("default_headroom = 16.0",
                                                                          "default_headroom = 2.0"))
    result = simulate(good["model.s5rf"], good["data.npz"], out, "--precision", "fixed", "--profile", cramped)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: layer 1: weight exponent 8 exceeds the profile's 7")
    with np.load(out / "run.npz") as run:
        saturated = int(run["saturation"].sum())
    assert saturated > 0 and f"{saturated} saturated updates" in result.stdout

