"""The float S5-RF network as ONNX graphs: a whole-sequence model and a single-step streaming model.

ONNX has no complex numbers, so every RF state is carried as real and
imaginary parts and the complex products are written out:
``z' = lambda_bar z + M u`` becomes two real updates.  One step (the body of
both forms), for a batch ``x`` of layer inputs:

- ``re' = a_re re - a_im im + x M_re^T``, ``im' = a_im re + a_re im + x M_im^T``;
- with V mixing ``(re, im) <- (re V_re^T - im V_im^T, re V_im^T + im V_re^T)``;
- spikes ``[Re x > thr]`` (cartesian) or ``[|x| > thr]`` (polar), or for
  multi-bit outputs the count ``clip(ceil(drive / thr) - 1, 0, 2^k - 1)`` of
  levels exceeded; the next layer reads them (plus this layer's input with a
  skip connection);
- readout ``y' = beta y + s W^T``.

Sequence form: inputs ``u`` (batch, T, H); outputs ``logprobs`` =
log_softmax(mean_t y) and ``spikes_<i>`` (batch, T, P_i); batch and T are
dynamic (an ONNX ``Scan`` over time).  Streaming form: inputs ``u`` (batch, H)
plus the states ``re_<i>``, ``im_<i>``, ``y`` (and ``y_sum``); outputs the
next states, ``spikes_<i>`` and the new ``y``; the caller keeps the states,
starts them at zero, and after T steps computes ``log_softmax(y_sum / T)``.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.s5rf.network import S5RFNetwork

OPSET = 17
DTYPES = {"float32": (np.float32, TensorProto.FLOAT), "float64": (np.float64, TensorProto.DOUBLE)}


class _Builder:
    """Collects nodes and constants of one graph; names are unique per builder."""

    def __init__(self, dtype: str) -> None:
        self.np_dtype, self.onnx_dtype = DTYPES[dtype]
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def const(self, name: str, value: np.ndarray, dtype=None) -> str:
        array = np.asarray(value, dtype or self.np_dtype)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, inputs: list[str], out: str | None = None, **attrs) -> str:
        self.count += 1
        out = out or f"{kind.lower()}_{self.count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=f"n{self.count}", **attrs))
        return out


def _step(b: _Builder, net: S5RFNetwork, u: str, states: dict[str, str], out: dict[str, str]) -> list[str]:
    """Nodes of one time step; ``states`` names the incoming states, ``out`` names the outgoing ones.

    Returns the names of the spike tensors per layer.
    """
    x = u
    spikes = []
    for i, layer in enumerate(net.layers):
        lam_bar, m = layer.discretized()
        cur_re = b.op("MatMul", [x, b.const(f"M_re_{i}", m.real.T)])
        cur_im = b.op("MatMul", [x, b.const(f"M_im_{i}", m.imag.T)])
        a_re, a_im = b.const(f"a_re_{i}", lam_bar.real), b.const(f"a_im_{i}", lam_bar.imag)
        re, im = states[f"re_{i}"], states[f"im_{i}"]
        new_re = b.op("Add", [b.op("Sub", [b.op("Mul", [a_re, re]), b.op("Mul", [a_im, im])]), cur_re],
                      out[f"re_{i}"])
        new_im = b.op("Add", [b.op("Add", [b.op("Mul", [a_im, re]), b.op("Mul", [a_re, im])]), cur_im],
                      out[f"im_{i}"])
        x_re, x_im = new_re, new_im
        if layer.mixing is not None:
            v_re_t, v_im_t = b.const(f"V_re_{i}", layer.mixing.real.T), b.const(f"V_im_{i}", layer.mixing.imag.T)
            x_re = b.op("Sub", [b.op("MatMul", [new_re, v_re_t]), b.op("MatMul", [new_im, v_im_t])])
            x_im = b.op("Add", [b.op("MatMul", [new_re, v_im_t]), b.op("MatMul", [new_im, v_re_t])])
        if layer.spike == "cartesian":
            drive = x_re
        else:
            drive = b.op("Sqrt", [b.op("Add", [b.op("Mul", [x_re, x_re]), b.op("Mul", [x_im, x_im])])])
        thr = b.const(f"thr_{i}", np.array(layer.threshold))
        if layer.levels == 1:
            s = b.op("Cast", [b.op("Greater", [drive, thr])], out[f"spikes_{i}"], to=b.onnx_dtype)
        else:  # the count of levels exceeded: clip(ceil(drive / thr) - 1, 0, levels)
            below = b.op("Sub", [b.op("Ceil", [b.op("Div", [drive, thr])]), b.const(f"one_{i}", np.array(1.0))])
            s = b.op("Clip", [below, b.const(f"zero_{i}", np.array(0.0)), b.const(f"top_{i}", np.array(layer.levels))],
                     out[f"spikes_{i}"])
        spikes.append(s)
        x = b.op("Add", [s, x]) if layer.skip else s
    y = b.op("Add", [b.op("Mul", [b.const("beta", net.readout.leak), states["y"]]),
                     b.op("MatMul", [x, b.const("W_t", net.readout.weight.T)])], out["y"])
    b.op("Add", [states["y_sum"], y], out["y_sum"])
    return spikes


def _state_names(net: S5RFNetwork) -> list[tuple[str, int]]:
    names = [(f"{p}_{i}", layer.num_neurons) for i, layer in enumerate(net.layers) for p in ("re", "im")]
    return names + [("y", net.num_classes), ("y_sum", net.num_classes)]


def _value(name: str, dtype: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def streaming_model(net: S5RFNetwork, dtype: str = "float32") -> onnx.ModelProto:
    """One time step with explicit states (dynamic batch)."""
    b = _Builder(dtype)
    states = _state_names(net)
    _step(b, net, "u", {n: n for n, _ in states},
          {**{n: f"{n}_next" for n, _ in states}, **{f"spikes_{i}": f"spikes_{i}" for i in range(len(net.layers))}})
    inputs = [_value("u", b.onnx_dtype, ["batch", net.input_dim])]
    inputs += [_value(n, b.onnx_dtype, ["batch", size]) for n, size in states]
    outputs = [_value(f"{n}_next", b.onnx_dtype, ["batch", size]) for n, size in states]
    outputs += [_value(f"spikes_{i}", b.onnx_dtype, ["batch", layer.num_neurons])
                for i, layer in enumerate(net.layers)]
    graph = helper.make_graph(b.nodes, "s5rf_step", inputs, outputs, b.inits)
    return _finish(graph)


def sequence_model(net: S5RFNetwork, dtype: str = "float32") -> onnx.ModelProto:
    """Whole sequences ``(batch, T, H) -> logprobs (batch, C)`` plus ``spikes_<i>`` (batch, T, P_i)."""
    body = _Builder(dtype)
    states = _state_names(net)
    layers = range(len(net.layers))
    _step(body, net, "u_t", {n: f"{n}_in" for n, _ in states},
          {**{n: f"{n}_out" for n, _ in states}, **{f"spikes_{i}": f"s_{i}" for i in layers}})
    # Scan bodies may not read outer initializers: their constants live in the body as Constant nodes
    consts = [helper.make_node("Constant", [], [t.name], value=t) for t in body.inits]
    body_graph = helper.make_graph(
        consts + body.nodes, "s5rf_scan_body",
        [_value(f"{n}_in", body.onnx_dtype, ["batch", size]) for n, size in states]
        + [_value("u_t", body.onnx_dtype, ["batch", net.input_dim])],
        [_value(f"{n}_out", body.onnx_dtype, ["batch", size]) for n, size in states]
        + [_value(f"s_{i}", body.onnx_dtype, ["batch", net.layers[i].num_neurons]) for i in layers])
    b = _Builder(dtype)
    shape = b.op("Shape", ["u"])
    batch = b.op("Slice", [shape, b.const("zero", [0], np.int64), b.const("one", [1], np.int64)])
    steps = b.op("Cast", [b.op("Slice", [shape, "one", b.const("two", [2], np.int64)])], to=b.onnx_dtype)
    zeros = {}
    for n, size in states:
        dims = b.op("Concat", [batch, b.const(f"size_{n}", [size], np.int64)], axis=0)
        zeros[n] = b.op("ConstantOfShape", [dims], value=helper.make_tensor("z", b.onnx_dtype, [1], [0.0]))
    scan_out = [f"final_{n}" for n, _ in states] + [f"spikes_{i}" for i in layers]
    b.nodes.append(helper.make_node("Scan", [zeros[n] for n, _ in states] + ["u"], scan_out, name="scan_time",
                                    body=body_graph, num_scan_inputs=1, scan_input_axes=[1],
                                    scan_output_axes=[1] * len(layers)))
    mean = b.op("Div", ["final_y_sum", b.op("Unsqueeze", [steps, "zero"])])
    b.op("LogSoftmax", [mean], "logprobs", axis=-1)
    outputs = [_value("logprobs", b.onnx_dtype, ["batch", net.num_classes])]
    outputs += [_value(f"spikes_{i}", b.onnx_dtype, ["batch", "T", net.layers[i].num_neurons]) for i in layers]
    graph = helper.make_graph(b.nodes, "s5rf_sequence", [_value("u", b.onnx_dtype, ["batch", "T", net.input_dim])],
                              outputs, b.inits)
    return _finish(graph)


def _finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="s5rf-deploy")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(net: S5RFNetwork, path: str | os.PathLike, form: str = "sequence", dtype: str = "float32") -> None:
    """Write the ``sequence`` or ``streaming`` form atomically."""
    if form not in ("sequence", "streaming"):
        raise S5RFError(f"unknown ONNX form {form!r} (sequence or streaming)")
    if dtype not in DTYPES:
        raise S5RFError(f"unknown ONNX dtype {dtype!r} (float32 or float64)")
    net.validate()
    model = sequence_model(net, dtype) if form == "sequence" else streaming_model(net, dtype)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
