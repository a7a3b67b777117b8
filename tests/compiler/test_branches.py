"""Residual and skip-concat networks (Brevitas -> QONNX): streamlined and hardware graphs bit-exact
against QONNX execution; the full build in Verilator rtlsim (slow), deadlock-free with sized FIFOs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from fpga_flow.compiler.transforms.branches import residual_add
from fpga_flow.compiler.transforms.chain import Step
from fpga_flow.compiler.transforms.ir import IntT, _Builder
from fpga_flow.errors import FlowError

from .test_bitexact import check_net


def _ops(hm):
    return [n.op_type for n in hm.graph.node]


@pytest.mark.parametrize("name", ["residual_po2", "residual_float"])
def test_residual_net_bit_exact(qonnx_nets, name):
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, n=4, exact_float=False)
    ops = _ops(hm)
    assert ops.count("DuplicateStreams") == 1 and ops.count("AddStreams") == 1
    add = getCustomOp(next(n for n in hm.graph.node if n.op_type == "AddStreams"))
    fork = next(n for n in hm.graph.node if n.op_type == "DuplicateStreams")
    mults = (add.get_nodeattr("lhsScale"), add.get_nodeattr("rhsScale"))
    if name == "residual_po2":
        assert len(set(add.onnx_node.input) & set(fork.output)) == 1  # the shortcut comes straight from the fork
        # 8-bit signed branch vs 4-bit unsigned shortcut: power-of-two scales 4x apart, joined exactly
        assert mults != (1, 1) and max(mults) in (2, 4, 8, 16)
    else:
        assert mults == (1, 1)  # one shared quantizer on both inputs: a Thresholding on the shortcut
        thr = next(n for n in hm.graph.node if n.op_type == "Thresholding" and n.input[0] in fork.output)
        assert thr.output[0] in add.onnx_node.input


def test_downsampling_residual_block_bit_exact(qonnx_nets):
    """ResNet's downsampling block: stride-2 3x3 conv in the branch, stride-2 1x1 conv + BN on the shortcut."""
    path, shape = qonnx_nets("residual_down_po2")
    _, sm, hm, io = check_net(path, shape, n=3, exact_float=False)
    swgs = [getCustomOp(n) for n in hm.graph.node if n.op_type == "ConvolutionInputGenerator"]
    assert sorted((s.get_nodeattr("ConvKernelDim")[0], s.get_nodeattr("Stride")[0]) for s in swgs) == [(1, 2), (3, 1), (3, 1), (3, 2)]
    add = getCustomOp(next(n for n in hm.graph.node if n.op_type == "AddStreams"))
    assert add.normal_input_shape() == (1, 8, 8, 8)


@pytest.mark.parametrize("name", ["depthwise_po2", pytest.param("depthwise_float", marks=pytest.mark.slow)])
def test_depthwise_net_bit_exact(qonnx_nets, name):
    """MobileNet-style depthwise (stride 1 and 2) + pointwise blocks: VVAUs behind SWGs."""
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, n=3, exact_float=name.endswith("po2"))
    ops = _ops(hm)
    assert ops.count("VVAU") == 2 and ops.count("MVAU") == 4
    for n in hm.graph.node:
        if n.op_type == "VVAU":
            prev = next(m for m in hm.graph.node if n.input[0] in m.output)
            assert prev.op_type == "ConvolutionInputGenerator"
            assert getCustomOp(n).W().shape == (8, 9)


@pytest.mark.parametrize("name", ["avgpool_po2", pytest.param("avgpool_float", marks=pytest.mark.slow)])
def test_average_pool_not_global_bit_exact(qonnx_nets, name):
    """AvgPool 2x2 and 3x3/stride 2: an SWG + a VVAU with unit weights (window sums), 1/k² in the thresholds."""
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, n=3, exact_float=name.endswith("po2"))
    pools = [getCustomOp(n) for n in hm.graph.node if n.op_type == "VVAU"]
    assert [p.get_nodeattr("Kernel") for p in pools] == [[2, 2], [3, 3]]
    assert all(np.all(p.W() == 1) and p.has_activation() for p in pools)
    swg = [getCustomOp(n) for n in hm.graph.node if n.op_type == "ConvolutionInputGenerator"]
    assert [s.get_nodeattr("Stride") for s in swg][1::2] == [[2, 2], [2, 2]]


@pytest.mark.parametrize("name", ["concat_po2", pytest.param("concat_float", marks=pytest.mark.slow)])
def test_concat_net_bit_exact(qonnx_nets, name):
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, n=4, exact_float=False)
    ops = _ops(hm)
    assert ops.count("DuplicateStreams") == 1 and ops.count("StreamingConcat") == 1
    cat = getCustomOp(next(n for n in hm.graph.node if n.op_type == "StreamingConcat"))
    assert cat.get_nodeattr("ChannelsPerStream") == [4, 8]


def _int(name, lo, hi, scale, C=2):
    return IntT(name, (1, 2, 2, C), lo, hi, [Step("mul", np.asarray(scale, np.float32))])


def test_residual_add_rules():
    b = _Builder()
    node = helper.make_node("Add", ["a", "b"], ["y"], name="Add_7")
    # scales 2^-3 and 2^-5: 4·a + b, output scale 2^-5, bit-exact float32
    t = residual_add(node, _int("a", 0, 15, 0.125), _int("b", -8, 7, 0.03125), b, checks := {})
    assert (t.lo, t.hi) == (4 * 0 - 8, 4 * 15 + 7) and not checks
    assert [n.op_type for n in b.nodes] == ["Mul", "Add"]
    # incommensurable scales: a clear error naming the node and the scales
    with pytest.raises(FlowError, match=r"Add_7.*scales 0\.1 and 0\.3.*ratio"):
        residual_add(node, _int("a", 0, 15, 0.1), _int("b", 0, 15, 0.3), _Builder(), {})
    # a float chain with an offset (not a quantizer output)
    off = IntT("a", (1, 2, 2, 2), 0, 15, [Step("mul", np.asarray(0.5, np.float32)), Step("add", np.asarray(1.0, np.float32))])
    with pytest.raises(FlowError, match=r"Add_7.*first input needs a per-tensor scale and zero offset"):
        residual_add(node, off, _int("b", 0, 15, 0.5), _Builder(), {})


def test_streamlined_join_executes_like_the_qonnx_graph(qonnx_nets):
    """The streamlined graph is plain ONNX + qonnx ops (Mul/Add/Concat on integers): execute_onnx runs it."""
    path, shape = qonnx_nets("residual_po2")
    _, sm, hm, io = check_net(path, shape, n=1, exact_float=False)
    assert {"Add", "Mul"} <= {n.op_type for n in sm.graph.node}


@pytest.mark.slow
@pytest.mark.rtl
@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")
@pytest.mark.parametrize("name", ["residual_po2", "concat_po2", "depthwise_po2"])
def test_branch_nets_build_and_rtlsim(qonnx_nets, tmp_path, name):
    from fpga_flow.codegen import generate
    from fpga_flow.compiler import build_dataflow
    from fpga_flow.compiler.hostio import host_input, host_output
    from fpga_flow.sim.rtlsim import rtlsim

    path, shape = qonnx_nets(name)
    ref_m, sm, hm, io = check_net(path, shape, n=1, exact_float=False)
    b = tmp_path / name
    r = build_dataflow(path, "Pynq-Z2", b, target_fps=2000, quiet=True)
    d = generate(b)
    assert name.startswith("depthwise") or (d.chain.branches and any(br.need for br in d.chain.branches))
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((2,) + tuple(shape[1:])).astype(np.float32)
    xi = np.concatenate([host_input(x[None], io) for x in xs])
    res = rtlsim(b, xi)  # sizes the FIFOs by simulation first: no deadlock
    for k, x in enumerate(xs):
        y_s = execute_onnx(sm, {sm.graph.input[0].name: xi[k:k + 1]})[sm.graph.output[0].name]
        np.testing.assert_array_equal(res.outputs[k:k + 1], y_s)  # rtlsim == streamlined graph, bit for bit
        ref = execute_onnx(ref_m, {ref_m.graph.input[0].name: x[None]})[ref_m.graph.output[0].name]
        np.testing.assert_allclose(host_output(res.outputs[k:k + 1], io), ref, atol=1e-5 * max(1, np.abs(ref).max()))
    sizing = json.loads((b / "rtl" / "fifo_depths.json").read_text())
    slow = r.estimates["total"]["cycles_per_frame"]
    assert res.cycles_per_frame <= 1.1 * slow and sizing["source"] == "rtlsim"
