"""``inspect`` and ``convert`` through the CLI: outputs, round trips and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import assert_bad_input, run
from helpers import DATA_DIR
from s5rf_deploy.demo import model_path
from s5rf_deploy.graphs.artifact import load_lif_graph
from s5rf_deploy.s5rf.artifact import load_fxp
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.tasks.loading import load_network

PAPER = DATA_DIR / "nir-paper"
BRAILLE = str(PAPER / "braille_noDelay_bias_zero.nir")


def test_inspect_s5rf_model_with_pole_plot(tmp_path):
    png = tmp_path / "poles.png"
    result = run("--json", "inspect", str(model_path()), "--poles", str(png))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [layer["neurons"] for layer in summary["layers"]] == [64, 64]
    net = network_from_model(load_checkpoint(model_path()))
    expected = sum(layer.weight.size * 2 + 3 * layer.num_neurons for layer in net.layers) + 10 * 64 + 10
    assert summary["parameters"] == expected
    lam_bar, _ = net.layers[0].discretized()
    assert summary["layers"][0]["poles"]["magnitude"]["max"] == pytest.approx(np.abs(lam_bar).max())
    assert summary["resources"]["fits"] and summary["resources"]["profile"] == "loihi2"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_graph_and_fixed_artifact(tmp_path):
    result = run("inspect", BRAILLE, "--semantics", "snntorch-zero")
    assert result.exit_code == 0, result.output
    assert "2 CubaLIF" in result.output and "45 neurons" in result.output
    assert run("convert", BRAILLE, "--semantics", "snntorch-zero", "-o", str(tmp_path / "b.fxp")).exit_code == 0
    result = run("--json", "inspect", str(tmp_path / "b.fxp"))
    summary = json.loads(result.output)
    assert [st["node"] for st in summary["stages"]] == ["lif1.lif", "lif2"]
    assert_bad_input(run("inspect", BRAILLE, "--semantics", "snntorch-zero", "--poles", str(tmp_path / "p.png")),
                     "pole plots")
    assert not (tmp_path / "p.png").exists()


def test_convert_round_trips(tmp_path):
    nir_path, ckpt, fxp = tmp_path / "d.nir", tmp_path / "d.s5rf", tmp_path / "d.fxp"
    assert run("convert", str(model_path()), "-o", str(nir_path)).exit_code == 0
    assert run("convert", str(nir_path), "-o", str(ckpt)).exit_code == 0
    original, back = network_from_model(load_checkpoint(model_path())), load_network(ckpt)
    for a, b in zip(original.layers, back.layers, strict=True):
        np.testing.assert_allclose(b.weight, a.weight, rtol=1e-12, atol=0)
        np.testing.assert_allclose(b.log_step, a.log_step, rtol=1e-12, atol=0)
    result = run("convert", str(ckpt), "-o", str(fxp), "--profile", "loihi2-wide")
    assert result.exit_code == 0, result.output
    assert load_fxp(fxp).profile.name == "loihi2-wide"
    assert run("convert", BRAILLE, "--semantics", "snntorch-zero", "-o", str(tmp_path / "b.fxp")).exit_code == 0
    assert load_lif_graph(tmp_path / "b.fxp").outputs == ("lif2",)


@pytest.mark.parametrize("source,target,message", [
    ("fxp", "x.nir", "no float parameters"),
    ("braille", "x.s5rf", "not an S5-RF network"),
    ("model", "x.txt", "unknown target type '.txt'"),
    ("fxp", "y.fxp", "already a fixed-point artifact"),
])
def test_convert_refuses_impossible_pairs(tmp_path, source, target, message):
    fxp = tmp_path / "d.fxp"
    assert run("convert", str(model_path()), "-o", str(fxp)).exit_code == 0
    src = {"fxp": str(fxp), "braille": BRAILLE, "model": str(model_path())}[source]
    assert_bad_input(run("convert", src, "--dt", "1e-4", "--semantics", "nir", "-o", str(tmp_path / target)), message)
    assert not (tmp_path / target).exists()
    assert not list(tmp_path.glob("*.part"))


def test_convert_netx_both_ways(tmp_path):
    from netx_helpers import random_net, same_integers
    from s5rf_deploy.converters.netx import read_netx, write_netx

    net = random_net([5, 6, 3], [(1024, 2048), (4096, 0)])
    write_netx(net, tmp_path / "a.net")
    result = run("convert", str(tmp_path / "a.net"), "-o", str(tmp_path / "a.nir"))
    assert result.exit_code == 0, result.output
    result = run("convert", str(tmp_path / "a.nir"), "-o", str(tmp_path / "b.net"))
    assert result.exit_code == 0 and "exact" in result.output, result.output
    assert same_integers(read_netx(tmp_path / "b.net"), net)
    assert run("convert", str(tmp_path / "a.net"), "-o", str(tmp_path / "a.fxp")).exit_code == 0
    assert_bad_input(run("convert", str(model_path()), "-o", str(tmp_path / "m.net")), "netx")


def test_verbose_logs_stages_on_stderr_only(tmp_path):
    result = run("-v", "convert", str(model_path()), "-o", str(tmp_path / "d.nir"))
    assert result.exit_code == 0
    assert "] load " in result.stderr and "] load " not in result.stdout
    quiet = run("convert", str(model_path()), "-o", str(tmp_path / "e.nir"))
    assert quiet.stderr == ""


def test_convert_and_inspect_refuse_existing_outputs_without_force(tmp_path):
    target, png = tmp_path / "d.nir", tmp_path / "p.png"
    target.write_text("keep")
    png.write_text("keep")
    assert_bad_input(run("convert", str(model_path()), "-o", str(target)), "exists")
    assert_bad_input(run("inspect", str(model_path()), "--poles", str(png)), "exists")
    assert target.read_text() == "keep" and png.read_text() == "keep"
    assert run("convert", str(model_path()), "-o", str(target), "--force").exit_code == 0
    assert target.read_bytes()[:4] == b"\x89HDF"
