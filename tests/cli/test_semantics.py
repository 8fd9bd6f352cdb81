"""``--semantics`` and ``--convention`` on the commands that read NIR graphs (docs/interop.md)."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from cli_helpers import assert_bad_input, run
from helpers import DATA_DIR, make_model, paper_stimulus
from s5rf_deploy.cli.graph_options import SEMANTICS_NAMES
from s5rf_deploy.graphs.frameworks import SEMANTICS
from s5rf_deploy.s5rf.checkpoint import save_checkpoint

INTEROP = DATA_DIR / "interop"


def test_option_lists_every_reading():
    assert SEMANTICS_NAMES == tuple(SEMANTICS)


def _inputs(tmp_path, case: str) -> tuple[str, np.lib.npyio.NpzFile]:
    data = np.load(INTEROP / f"{case}.npz")
    path = tmp_path / "in.npz"
    np.savez(path, inputs=data["input"])
    return str(path), data


def test_simulate_with_the_frameworks_semantics_gives_its_spikes(tmp_path):
    """rockpool's multi-spike LIFNeuronTorch: the spike counts of both layers, as rockpool computed them."""
    inputs, data = _inputs(tmp_path, "rockpool_lifneurontorch")
    out = tmp_path / "run.npz"
    res = run("simulate", str(INTEROP / "rockpool_lifneurontorch.nir"), "--semantics", "rockpool", "--input", inputs,
              "--record", "spikes", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "warning" not in res.stderr
    run_ = np.load(out)
    np.testing.assert_array_equal(run_["spikes_1_LIFNeuronTorch"], data["spikes_0"])
    np.testing.assert_array_equal(run_["spikes_3_LIFNeuronTorch"], data["spikes_1"])
    assert data["spikes_0"].max() > 1  # counts, not single spikes


def test_without_semantics_the_reading_is_announced(tmp_path):
    inputs, _ = _inputs(tmp_path, "snntorch_synaptic_zero")
    res = run("simulate", str(INTEROP / "snntorch_synaptic_zero.nir"), "--dt", "1e-4", "--input", inputs,
              "-o", str(tmp_path / "run.npz"))
    assert res.exit_code == 0, res.output
    assert "read by its ODEs (--semantics nir)" in res.stderr
    assert "--semantics snntorch or --semantics snntorch-zero" in res.stderr


def test_quantize_and_run_in_fixed_point_with_the_semantics(tmp_path):
    """sinabs' multi-spike IAF quantized calibrated: the artifact carries the rule, and the stepper run through
    the CLI agrees with sinabs' counts on most steps (>= 99 %: fixed-point rounding)."""
    inputs, data = _inputs(tmp_path, "sinabs_iaf")
    fxp, out = tmp_path / "s.fxp", tmp_path / "fixed.npz"
    res = run("quantize", str(INTEROP / "sinabs_iaf.nir"), "--semantics", "sinabs", "--calibrate", inputs,
              "-o", str(fxp))
    assert res.exit_code == 0, res.output
    res = run("inspect", str(fxp))
    assert "reset subtract, fires_at >=, max_spikes 255" in res.output
    res = run("simulate", str(fxp), "--input", inputs, "--record", "spikes", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert float((np.load(out)["spikes_1"] == data["spikes_0"]).mean()) >= 0.99


def test_export_nir_keeps_the_reading(tmp_path):
    """A graph exported with --semantics carries it: read back, it needs no option and says nothing."""
    out = tmp_path / "g.nir"
    res = run("export-nir", str(INTEROP / "norse_iaf.nir"), "--semantics", "norse", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert nir.read(out).metadata["s5rf_deploy.semantics"] == "norse"
    res = run("inspect", str(out))
    assert res.exit_code == 0 and "semantics norse" in res.output and "warning" not in res.stderr


def test_convention_option_reads_the_paper_stimulus_as_held(tmp_path):
    """lif_norse.nir with the NIR paper's stimulus: --convention zoh gives the paper's spike steps, impulse not."""
    inputs = tmp_path / "stim.npz"
    np.savez(inputs, inputs=paper_stimulus()[None, :, None])
    spikes = {}
    for convention in ("zoh", "impulse"):
        out = tmp_path / f"{convention}.npz"
        res = run("simulate", str(DATA_DIR / "nir-paper" / "lif_norse.nir"), "--dt", "1e-4", "--convention",
                  convention, "--input", str(inputs), "--record", "spikes", "-o", str(out))
        assert res.exit_code == 0, res.output
        spikes[convention] = np.flatnonzero(np.load(out)["spikes_1"][0, :, 0])
    assert spikes["zoh"].tolist() == [460, 510, 710, 760]
    assert spikes["impulse"].tolist() != spikes["zoh"].tolist()


def test_semantics_refusals(tmp_path):
    """Our own S5-RF exports are exact: a framework reading of them is refused; so is an unknown reading."""
    model = tmp_path / "m.nir"
    save_checkpoint(make_model("dirac_keepimag"), tmp_path / "m.s5rf")
    res = run("export-nir", str(tmp_path / "m.s5rf"), "-o", str(model))
    assert res.exit_code == 0, res.output
    assert_bad_input(run("inspect", str(model), "--semantics", "snntorch"), "applies to graphs from other frameworks")
    res = run("inspect", str(model), "--semantics", "keras")
    assert res.exit_code == 2 and "Invalid value for '--semantics'" in res.stderr


@pytest.mark.parametrize("case", sorted(p.stem for p in INTEROP.glob("*.nir")))
def test_export_nir_writes_what_plain_nir_reads(tmp_path, case):
    """Every framework's export (norse's and sinabs' carry a batch axis in Input) comes out as a file that plain
    ``nir.read`` accepts, with the same nodes."""
    out = tmp_path / "g.nir"
    res = run("export-nir", str(INTEROP / f"{case}.nir"), "--dt", "1e-3", "-o", str(out))
    assert res.exit_code == 0, res.output
    graph = nir.read(out)
    assert sum(type(n).__name__ in ("LIF", "IF", "CubaLIF", "LI") for n in graph.nodes.values()) >= 1


@pytest.mark.lava
def test_lava_records_the_states_of_a_standard_graph(tmp_path):
    """`simulate --backend lava --record states` on a graph artifact: u and v of every neuron after every step,
    equal to the stepper's (sinabs' multi-spike IAF: graded spikes between the layers)."""
    inputs, _ = _inputs(tmp_path, "sinabs_iaf")
    fxp = tmp_path / "s.fxp"
    assert run("quantize", str(INTEROP / "sinabs_iaf.nir"), "--semantics", "sinabs", "-o", str(fxp)).exit_code == 0
    runs = {}
    for backend in ("stepper", "lava"):
        out = tmp_path / f"{backend}.npz"
        res = run("simulate", str(fxp), "--input", inputs, "--samples", "2", "--backend", backend, "--record",
                  "spikes,states", "-o", str(out))
        assert res.exit_code == 0, res.output
        runs[backend] = np.load(out)
    assert sorted(k for k in runs["lava"].files if k.startswith("states_")) == ["states_1", "states_3"]
    for key in runs["stepper"].files:
        np.testing.assert_array_equal(runs["lava"][key], runs["stepper"][key], err_msg=key)
