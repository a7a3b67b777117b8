"""Ops beyond the basic set, end to end from Brevitas: a three-input Concat, grouped convs and
max-unpool with pooling indices. Streamlined and hardware graphs bit-exact against QONNX execution;
the built design bit-exact in Verilator rtlsim against the streamlined graph."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from . import nets_ops
from .nets import export, randomize
from .test_bitexact import check_net

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")
SHAPE = (1, 3, 16, 16)


def _export(tmp_path, name, model, shape=SHAPE):
    return export(randomize(model), tmp_path / f"{name}.onnx", shape)


def rtlsim_matches(path, shape, build_dir, sm, io, frames=2, target_fps=2000):
    """Build for Pynq-Z2, rtlsim ``frames`` random images (FIFOs sized by simulation first, so no
    deadlock) and compare with the streamlined graph bit for bit; returns (result, build report)."""
    from fpga_flow.codegen import generate
    from fpga_flow.compiler import build_dataflow
    from fpga_flow.compiler.hostio import host_input
    from fpga_flow.sim.rtlsim import rtlsim

    r = build_dataflow(path, "Pynq-Z2", build_dir, target_fps=target_fps, quiet=True)
    d = generate(build_dir)
    xs = np.random.default_rng(7).standard_normal((frames,) + tuple(shape[1:])).astype(np.float32)
    xi = np.concatenate([host_input(x[None], io) for x in xs])
    res = rtlsim(build_dir, xi)
    for k in range(frames):
        y_s = execute_onnx(sm, {sm.graph.input[0].name: xi[k:k + 1]})[sm.graph.output[0].name]
        np.testing.assert_array_equal(res.outputs[k:k + 1], y_s)
    return res, r, d


def test_three_input_concat_net_bit_exact(tmp_path):
    path = _export(tmp_path, "concat3", nets_ops.Concat3Net(po2=True))
    _, sm, hm, io = check_net(path, SHAPE, n=2, exact_float=False)
    cats = [getCustomOp(n) for n in hm.graph.node if n.op_type == "StreamingConcat"]
    assert len(cats) == 1 and cats[0].get_nodeattr("ChannelsPerStream") == [4, 4, 8]
    fork = next(n for n in hm.graph.node if n.op_type == "DuplicateStreams")
    assert len(fork.output) == 3


@pytest.mark.slow
@pytest.mark.rtl
@needs_verilator
def test_three_input_concat_net_bit_exact_in_rtlsim(tmp_path):
    path = _export(tmp_path, "concat3", nets_ops.Concat3Net(po2=True))
    _, sm, hm, io = check_net(path, SHAPE, n=1, exact_float=False)
    res, r, d = rtlsim_matches(path, SHAPE, tmp_path / "b", sm, io)
    assert len(d.chain.branches) == 3 and any(b.need for b in d.chain.branches)
    assert res.cycles_per_frame <= 1.1 * r.estimates["total"]["cycles_per_frame"]


def _block_structure(op, group: int, K: int) -> bool:
    """The MVAU's (K·C × Cout) weights are zero outside the groups' diagonal blocks."""
    W = op.get_nodeattr("weights")
    KC, cout = W.shape
    C = KC // K
    mask = np.zeros((K, C, cout), dtype=bool)
    for g in range(group):
        mask[:, g * C // group:(g + 1) * C // group, g * cout // group:(g + 1) * cout // group] = True
    return not np.any(W.reshape(K, C, cout)[~mask]) and np.any(W)


@pytest.mark.parametrize("po2", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_grouped_conv_net_bit_exact(tmp_path, po2):
    path = _export(tmp_path, f"grouped{po2}", nets_ops.grouped_net(po2=po2))
    _, sm, hm, io = check_net(path, SHAPE, n=3, exact_float=po2)
    mvaus = [getCustomOp(n) for n in hm.graph.node if n.op_type == "MVAU"]
    # conv, grouped 3x3 (G=2), grouped 1x1 (G=4), depthwise x2 (G=16, 32 outputs), linear
    assert [(m.get_nodeattr("MW"), m.get_nodeattr("MH")) for m in mvaus] == [(27, 8), (72, 8), (8, 16), (144, 32), (32, 5)]
    assert _block_structure(mvaus[1], 2, 9) and _block_structure(mvaus[2], 4, 1) and _block_structure(mvaus[3], 16, 9)
    assert not any(n.op_type == "VVAU" for n in hm.graph.node)


@pytest.mark.slow
@pytest.mark.rtl
@needs_verilator
def test_grouped_conv_net_bit_exact_in_rtlsim(tmp_path):
    path = _export(tmp_path, "grouped", nets_ops.grouped_net(po2=True))
    _, sm, hm, io = check_net(path, SHAPE, n=1, exact_float=True)
    res, r, d = rtlsim_matches(path, SHAPE, tmp_path / "b", sm, io)
    assert res.cycles_per_frame <= 1.1 * r.estimates["total"]["cycles_per_frame"]


@pytest.mark.slow
@pytest.mark.rtl
@needs_verilator
def test_depthwise_net_with_vvau_simd_bit_exact_in_rtlsim(tmp_path):
    """A target that PE = C alone misses: the VVAUs fold SIMD over the kernel (FINN's order)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from .nets import depthwise_net

    path = _export(tmp_path, "dw", depthwise_net(po2=True))
    _, sm, hm, io = check_net(path, SHAPE, n=1, exact_float=True)
    res, r, d = rtlsim_matches(path, SHAPE, tmp_path / "b", sm, io, target_fps=200_000)
    folded = ModelWrapper(str(tmp_path / "b" / "dataflow.onnx"))
    vv = [getCustomOp(n) for n in folded.graph.node if n.op_type == "VVAU"]
    assert vv and all(v.get_nodeattr("PE") == v.get_nodeattr("NumChannels") for v in vv)
    assert max(v.get_nodeattr("SIMD") for v in vv) > 1
    assert res.cycles_per_frame <= 1.1 * r.estimates["total"]["cycles_per_frame"]


@pytest.mark.parametrize("kind,op,why", [("sigmoid", "Sigmoid", "op type not supported"),
                                         ("dilated", "Conv", "dilated convolution is not supported"),
                                         ("maxpool_overlap", "MaxPool", ""),
                                         ("leaky", "LeakyRelu", "")])
def test_unsupported_op_is_a_one_line_error_naming_the_node(tmp_path, kind, op, why):
    from fpga_flow.compiler import build_dataflow
    from fpga_flow.errors import FlowError

    path = _export(tmp_path, kind, nets_ops.unsupported_net(kind))
    with pytest.raises(FlowError) as e:
        build_dataflow(path, "Pynq-Z2", tmp_path / "b", quiet=True)
    msg = str(e.value)
    assert "\n" not in msg and f"({op})" in msg and why in msg, msg
    assert msg.startswith(f"node {op}_") or f"node {op}" in msg
    assert not (tmp_path / "b" / "dataflow.onnx").exists()  # validated before any build output


def unpool_graph(tmp_path, seed=0, H=8, C=4):
    """SegNet in miniature, as a QONNX graph (torch.onnx has no MaxUnpool export): Quant(INT8) ->
    conv 3x3 -> Relu -> Quant(UINT4) -> MaxPool 2x2 (values, Indices) -> conv 3x3 -> Relu ->
    Quant(UINT4) -> MaxUnpool(·, Indices) -> conv 1x1 (logits)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    f = lambda n, v: numpy_helper.from_array(np.asarray(v, dtype=np.float32), n)  # noqa: E731
    inits = [f("s8", 0.05), f("z", 0.0), f("b8", 8.0), f("b4", 4.0), f("sw", 0.125), f("sa", 0.25),
             f("W1", rng.standard_normal((C, 3, 3, 3))), f("W2", rng.standard_normal((C, C, 3, 3))),
             f("W3", rng.standard_normal((3, C, 1, 1))), f("B1", rng.standard_normal(C))]
    Q = lambda i, s, bits, o, signed=1: helper.make_node(  # noqa: E731
        "Quant", [i, s, "z", bits], [o], domain="qonnx.custom_op.general", signed=signed, narrow=0, rounding_mode="ROUND")
    nodes = [Q("x", "s8", "b8", "xq"), Q("W1", "sw", "b4", "W1q"), Q("W2", "sw", "b4", "W2q"), Q("W3", "sw", "b4", "W3q"),
             helper.make_node("Conv", ["xq", "W1q", "B1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]), Q("r1", "sa", "b4", "a1", signed=0),
             helper.make_node("MaxPool", ["a1"], ["p", "idx"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "W2q"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]), Q("r2", "sa", "b4", "a2", signed=0),
             helper.make_node("MaxUnpool", ["a2", "idx"], ["u"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["u", "W3q"], ["y"], kernel_shape=[1, 1])]
    g = helper.make_graph(nodes, "unpool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, H])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, H, H])], inits)
    p = tmp_path / "unpool.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
    return p


def test_max_unpool_net_bit_exact(tmp_path):
    """QONNX execution (onnxruntime's MaxPool Indices + MaxUnpool) vs streamlined and hardware graphs."""
    path = unpool_graph(tmp_path)
    _, sm, hm, io = check_net(path, (1, 3, 8, 8), n=4, exact_float=False)
    ops = [n.op_type for n in hm.graph.node]
    assert ops.count("StreamingMaxPoolIdx") == 1 and ops.count("MaxUnpool") == 1
    pool = next(n for n in hm.graph.node if n.op_type == "StreamingMaxPoolIdx")
    unpool = next(n for n in hm.graph.node if n.op_type == "MaxUnpool")
    assert unpool.input[1] == pool.output[1]  # the index stream: a branch from the pool to its unpool


@pytest.mark.slow
@pytest.mark.rtl
@needs_verilator
def test_max_unpool_net_bit_exact_in_rtlsim(tmp_path):
    path = unpool_graph(tmp_path, seed=1)
    _, sm, hm, io = check_net(path, (1, 3, 8, 8), n=1, exact_float=False)
    res, r, d = rtlsim_matches(path, (1, 3, 8, 8), tmp_path / "b", sm, io)
    (br,) = [b for b in d.chain.branches if b.need]
    assert br.port == 1 and d.chain.stage(br.join).op_type == "MaxUnpool"
