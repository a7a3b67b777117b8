"""Bit-exactness: streamlined graph and hardware graph vs the QONNX model, on Brevitas test nets,
FINN's classic TFC/CNV (w2a2) and small zoo models."""

import json

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.hostio import host_input, host_output
from fpga_flow.compiler.transforms.streamline import Streamline
from fpga_flow.compiler.transforms.tidy import Tidy
from fpga_flow.compiler.transforms.to_hw import ToHW

from .nets import BNN_PYNQ


def compile_graphs(path):
    m, _ = Tidy().apply(ModelWrapper(str(path)))
    s = Streamline()
    sm, _ = s.apply(m)
    hm, _ = ToHW().apply(sm)
    return m, sm, hm, s.io


def check_net(path, shape, n=3, exact_float=True, seed=0, positive=False):
    ref_m, sm, hm, io = compile_graphs(path)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = (rng.random(shape) if positive else rng.standard_normal(shape)).astype(np.float32)
        ref = execute_onnx(ref_m, {ref_m.graph.input[0].name: x})[ref_m.graph.output[0].name]
        xi = host_input(x, io)
        assert np.array_equal(xi, np.round(xi))
        y_s = execute_onnx(sm, {sm.graph.input[0].name: xi})[sm.graph.output[0].name]
        y_h = execute_onnx(hm, {hm.graph.input[0].name: xi})[hm.graph.output[0].name]
        y_n = execute_hw(hm, xi)
        assert np.array_equal(y_s, np.round(y_s))
        np.testing.assert_array_equal(y_h, y_s)  # to_hw is exact
        np.testing.assert_array_equal(y_n, y_s)  # numpy path of the layer classes
        f = host_output(y_s, io)
        assert f.shape == ref.shape
        if exact_float:
            np.testing.assert_array_equal(f, ref)
        else:
            # integer accumulator exact: the host's float differs only by float32 summation order
            tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
            np.testing.assert_allclose(f, ref, atol=tol, rtol=0)
    return ref_m, sm, hm, io


@pytest.mark.parametrize("name", ["conv_po2", "upsample_argmax"])
def test_bitexact_power_of_two_nets(qonnx_nets, name):
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, exact_float=True)
    ops = [n.op_type for n in hm.graph.node]
    if name == "upsample_argmax":
        assert ops[-1] == "LabelSelect" and "UpsampleNearestNeighbour" in ops
        assert io["output"]["host_argmax"] is False
    else:
        assert ops == ["ConvolutionInputGenerator", "MVAU", "StreamingMaxPool", "ConvolutionInputGenerator", "MVAU",
                       "StreamingMaxPool", "GlobalAccPool", "Thresholding", "MVAU"]


@pytest.mark.parametrize("name", ["conv_bn", "conv_flatten", "upsample", "upsample_argmax_host"])
def test_bitexact_float_scale_nets(qonnx_nets, name):
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, exact_float=name.endswith("argmax_host"))
    # every quantized activation became an integer threshold inside an MVAU (or a Thresholding)
    assert not any(n.op_type == "MultiThreshold" for n in hm.graph.node)
    assert all(n.domain == "fpga_flow.compiler.hw" for n in hm.graph.node)
    if name == "upsample_argmax_host":
        assert io["output"]["host_argmax"] is True  # per-channel scales: argmax done on the host
    if name == "conv_bn":
        assert all(n.op_type != "BatchNormalization" for n in sm.graph.node)


# cnv_1w1a is slow-only: tests/compiler/test_bipolar.py covers XNOR convs and max-pool on bits in < 1 s
BNN_FAST = ("tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "cnv_2w2a")


@pytest.mark.parametrize("name", [n if n in BNN_FAST else pytest.param(n, marks=pytest.mark.slow) for n in BNN_PYNQ])
def test_bitexact_finn_bnn_pynq(qonnx_nets, name):
    """All eleven bnn_pynq nets of brevitas_examples (random weights, random BN statistics):
    1-bit weights become BinaryMVAUs, XNOR-popcount on bipolar inputs, add/subtract otherwise."""
    path, shape = qonnx_nets(name)
    _, sm, hm, io = check_net(path, shape, n=1, exact_float=True, positive=True)
    assert io["input"]["pre_steps"]  # the x*2-1 / Mul-Sub preprocessing runs on the host
    w_bits, a_bits = int(name[4]), int(name[6])
    kind = "BinaryMVAU" if w_bits == 1 else "MVAU"
    mvaus = [getCustomOp(n) for n in hm.graph.node if n.op_type in ("MVAU", "BinaryMVAU")]
    assert [type(op).__name__ for op in mvaus] == [kind] * (9 if name.startswith("cnv") else 4)
    if w_bits == 1:
        # XNOR wherever the input is a bipolar activation (all but CNV's 8-bit first layer)
        n_xnor = sum(op.xnor() for op in mvaus)
        assert n_xnor == (0 if a_bits > 1 else len(mvaus) - name.startswith("cnv"))
        assert io["input"].get("bipolar", False) == (name[:3] != "cnv" and a_bits == 1)


def test_streamlined_graph_is_integer(qonnx_nets):
    path, shape = qonnx_nets("conv_bn")
    _, sm, _, io = compile_graphs(path)
    for n in sm.graph.node:
        if n.op_type == "MatMul":
            W = sm.get_initializer(n.input[1])
            assert np.array_equal(W, np.round(W)) and sm.get_tensor_datatype(n.input[1]).is_integer()
        if n.op_type == "MultiThreshold":
            T = sm.get_initializer(n.input[1])
            assert np.array_equal(T, np.round(T))
            assert np.all(np.diff(T, axis=1) >= 0)  # ascending
    assert sm.get_tensor_datatype("global_in").name == "INT8"
    json.dumps(io)  # io is serialisable


@pytest.mark.parametrize("zoo", ["vgg16", "segnet", "lenet5",
                                 pytest.param("vgg16-pruned", marks=pytest.mark.slow),
                                 pytest.param("segnet-pruned", marks=pytest.mark.slow)])
def test_bitexact_zoo_models(qonnx_nets, zoo):
    """Zoo models (small variants) quantized by fpga_flow.quant: hardware graph == QONNX."""
    pytest.importorskip("fpga_flow.quant.convert")
    path, shape = qonnx_nets(f"zoo:{zoo}")
    _, sm, hm, io = check_net(path, shape, n=1, exact_float=False)
    ops = {n.op_type for n in hm.graph.node}
    assert "MVAU" in ops and "ConvolutionInputGenerator" in ops
    if zoo.startswith("segnet"):
        assert "UpsampleNearestNeighbour" in ops
    if zoo.startswith("vgg16"):
        assert "GlobalAccPool" in ops


@pytest.mark.parametrize("zoo", ["vgg16", pytest.param("segnet", marks=pytest.mark.slow)])
def test_bitexact_per_channel_weight_scales(qonnx_nets, zoo):
    """The flow's rows quantize weights with per-output-channel scales: the hardware graph stays bit-exact."""
    path, shape = qonnx_nets(f"zoo-channel:{zoo}")
    _, sm, hm, io = check_net(path, shape, n=1, exact_float=False)
    assert "MVAU" in {n.op_type for n in hm.graph.node}
