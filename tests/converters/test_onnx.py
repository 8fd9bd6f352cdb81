"""ONNX export: onnx.checker, onnxruntime parity with PyTorch for every variant, streaming = sequence, CLI."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from cli_helpers import assert_bad_input, run
from helpers import DATA_DIR, VARIANTS, make_model, random_spikes
from s5rf_deploy.converters.onnx import sequence_model, streaming_model
from s5rf_deploy.demo import digits, model_path
from s5rf_deploy.s5rf.checkpoint import load_checkpoint
from s5rf_deploy.s5rf.network import model_from_network, network_from_model

PAPER = DATA_DIR / "nir-paper"


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _reference(net, x: np.ndarray):
    with torch.no_grad():
        return model_from_network(net)(torch.from_numpy(x))


def _networks():
    nets = [("demo", network_from_model(load_checkpoint(model_path())))]
    nets += [(v, network_from_model(make_model(v, layers=3, seed=2))) for v in VARIANTS]
    nets.append(("skip4", network_from_model(make_model("dirac_keepimag", layers=4, seed=3))))
    nets += [(f"{v}_3bit", network_from_model(make_model(v, layers=3, seed=2, spike_bits=3)))
             for v in ("zoh_vmix", "bilinear_polar")]
    return nets


NETS = _networks()


@pytest.mark.parametrize("name,net", NETS, ids=[n for n, _ in NETS])
def test_sequence_form_matches_pytorch(name, net):
    """float64 graph: log-probs within 1e-5 (seen ~1e-13), identical spikes, for two batch sizes and lengths."""
    model = sequence_model(net, "float64")
    onnx.checker.check_model(model, full_check=True)
    session = _session(model)
    for batch, steps in ((3, 25), (1, 40)):
        x = random_spikes(batch, steps, net.input_dim, seed=batch).astype(np.float64) \
            if name != "demo" else digits.load_split("test").inputs[:batch, :steps].astype(np.float64)
        out = session.run(None, {"u": x})
        ref = _reference(net, x)
        np.testing.assert_allclose(out[0], ref.logprobs.numpy(), rtol=0, atol=1e-5)
        for got, want in zip(out[1:], ref.spikes, strict=True):
            np.testing.assert_array_equal(got, want.numpy())
        if name.endswith("bit"):
            assert max(float(s.max()) for s in out[1:]) > 1


@pytest.mark.parametrize("name,net", NETS, ids=[n for n, _ in NETS])
def test_streaming_form_reproduces_sequence_form(name, net):
    x = random_spikes(2, 30, net.input_dim, seed=7).astype(np.float64)
    step = _session(streaming_model(net, "float64"))
    states = {i.name: np.zeros((2, i.shape[1])) for i in step.get_inputs() if i.name != "u"}
    spikes = []
    for t in range(x.shape[1]):
        res = dict(zip([o.name for o in step.get_outputs()], step.run(None, {"u": x[:, t], **states}), strict=True))
        states = {n: res[f"{n}_next"] for n in states}
        spikes.append(res["spikes_0"])
    seq = _session(sequence_model(net, "float64")).run(None, {"u": x})
    logprobs = torch.log_softmax(torch.from_numpy(states["y_sum"] / x.shape[1]), -1).numpy()
    np.testing.assert_allclose(logprobs, seq[0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.stack(spikes, 1), seq[1])


def test_float32_form_agrees_with_pytorch_on_the_demo():
    """float32 graph (edge CPUs): log-probs within 1e-4 on the demo's test digits (seen 5e-6)."""
    net = NETS[0][1]
    x = digits.load_split("test").inputs[:50].astype(np.float32)
    out = _session(sequence_model(net, "float32")).run(None, {"u": x})
    ref = _reference(net, x.astype(np.float64))
    assert np.abs(out[0] - ref.logprobs.numpy()).max() < 1e-4
    assert (out[0].argmax(-1) == ref.logprobs.numpy().argmax(-1)).all()


def test_cli_export_onnx(tmp_path):
    out = tmp_path / "m.onnx"
    result = run("export-onnx", str(model_path()), "--form", "streaming", "-o", str(out))
    assert result.exit_code == 0, result.output
    onnx.checker.check_model(onnx.load(str(out)))
    assert [i.name for i in onnx.load(str(out)).graph.input][:3] == ["u", "re_0", "im_0"]
    # float32 unless asked: what onnxruntime users and edge runtimes expect
    assert {i.type.tensor_type.elem_type for i in onnx.load(str(out)).graph.input} == {onnx.TensorProto.FLOAT}
    assert_bad_input(run("export-onnx", str(PAPER / "lif_norse.nir"), "-o", str(tmp_path / "x.onnx")),
                     "S5-RF networks")
    assert_bad_input(run("export-onnx", str(tmp_path / "missing.s5rf"), "-o", str(tmp_path / "y.onnx")),
                     "missing.s5rf")
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "y.onnx").exists()
