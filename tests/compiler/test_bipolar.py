"""BipolarQuant on tiny hand-built QONNX graphs: bipolar thresholds exhaustively, streamline + to_hw
executed before and after (bit-exact), and the errors for what the bits cannot represent."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model

from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.hostio import host_input, host_output
from fpga_flow.compiler.transforms.bipolar import bipolar_thresholds
from fpga_flow.compiler.transforms.chain import Step, eval_chain
from fpga_flow.compiler.transforms.streamline import Streamline
from fpga_flow.compiler.transforms.tidy import Tidy
from fpga_flow.compiler.transforms.to_hw import ToHW
from fpga_flow.errors import FlowError

F32 = np.float32
QDOM = "qonnx.custom_op.general"


def test_bipolar_thresholds_exhaustively():
    rng = np.random.default_rng(2)
    C, lo, hi = 5, -40, 40
    steps = [Step("add", F32(-3.5) * np.ones(C, F32)), Step("mul", rng.uniform(0.1, 2, C).astype(F32)),
             Step("add", rng.uniform(-9, 9, C).astype(F32))]
    T = bipolar_thresholds(steps, C, lo, hi)
    acc = np.arange(lo, hi + 1)
    f = eval_chain(steps, np.tile(acc[:, None], (1, C)))
    np.testing.assert_array_equal((acc[:, None] >= T[:, 0]).astype(int), (f >= 0).astype(int))


def _net(bipolar_in: bool, conv_pads=(0, 0, 0, 0), act_scale=1.0, seed=0):
    """in -> (BipolarQuant | Quant 4b) -> Conv 3x3 (±1 weights) -> BN -> BipolarQuant -> MaxPool
    -> Flatten -> Gemm (±1 weights) -> out."""
    rng = np.random.default_rng(seed)
    C, H = 4, 6
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("s_in", np.array(0.5 if not bipolar_in else 1.0, F32)), ("zp", np.array(0.0, F32)), ("b4", np.array(4.0, F32)),
        ("wc", rng.standard_normal((C, 2, 3, 3)).astype(F32)), ("s_w", np.array(0.25, F32)),
        ("g", rng.uniform(-1.5, 1.5, C).astype(F32)), ("be", rng.uniform(-1, 1, C).astype(F32)),
        ("mu", rng.uniform(-2, 2, C).astype(F32)), ("var", rng.uniform(0.5, 2, C).astype(F32)),
        ("s_a", np.array(act_scale, F32)), ("wf", rng.standard_normal((3, C * 4)).astype(F32)), ("one", np.array(1.0, F32))]]
    q_in = (helper.make_node("BipolarQuant", ["x", "s_in"], ["xq"], domain=QDOM) if bipolar_in else
            helper.make_node("Quant", ["x", "s_in", "zp", "b4"], ["xq"], domain=QDOM, signed=1, narrow=0,
                             rounding_mode="ROUND"))
    nodes = [q_in,
             helper.make_node("BipolarQuant", ["wc", "s_w"], ["wcq"], domain=QDOM),
             helper.make_node("Conv", ["xq", "wcq"], ["c"], kernel_shape=[3, 3], pads=list(conv_pads)),
             helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["bn"]),
             helper.make_node("BipolarQuant", ["bn", "s_a"], ["a"], domain=QDOM),
             helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["fl"]),
             helper.make_node("BipolarQuant", ["wf", "one"], ["wfq"], domain=QDOM),
             helper.make_node("Gemm", ["fl", "wfq"], ["y"], transB=1)]
    oh = H - 2 + conv_pads[0] + conv_pads[2]
    g = helper.make_graph(nodes, "bip", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, H, H])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    assert oh == 4 or conv_pads != (0, 0, 0, 0)
    return ModelWrapper(qonnx_make_model(g, producer_name="test"))


@pytest.mark.parametrize("bipolar_in", [True, False])
def test_bipolar_net_bit_exact(bipolar_in):
    ref, _ = Tidy().apply(_net(bipolar_in))
    s = Streamline()
    sm, _ = s.apply(ref)
    hm, _ = ToHW().apply(sm)
    ops = [n.op_type for n in hm.graph.node]
    assert ops == ["ConvolutionInputGenerator", "BinaryMVAU", "StreamingMaxPool", "BinaryMVAU"]
    from qonnx.custom_op.registry import getCustomOp
    modes = [getCustomOp(n).xnor() for n in hm.graph.node if n.op_type == "BinaryMVAU"]
    assert modes == [bipolar_in, True]
    assert sm.get_tensor_datatype(hm.graph.node[2].input[0]).name == "BINARY"  # bits on the stream
    rng = np.random.default_rng(5)
    for _ in range(4):
        x = rng.standard_normal((1, 2, 6, 6)).astype(F32)
        y_ref = execute_onnx(ref, {ref.graph.input[0].name: x})[ref.graph.output[0].name]
        xi = host_input(x, s.io)
        assert set(np.unique(xi)) <= ({0.0, 1.0} if bipolar_in else set(range(-8, 8)))
        y_hw = execute_hw(hm, xi)
        np.testing.assert_array_equal(host_output(y_hw, s.io), y_ref)


def test_bipolar_input_with_zero_padding_is_an_error():
    ref, _ = Tidy().apply(_net(True, conv_pads=(1, 1, 1, 1)))
    with pytest.raises(FlowError, match=r"Conv.*zero padding"):
        Streamline().apply(ref)


def test_bipolar_quantizer_with_negative_scale_is_an_error():
    ref, _ = Tidy().apply(_net(False, act_scale=-1.0))
    with pytest.raises(FlowError, match=r"BipolarQuant.*non-positive scale"):
        Streamline().apply(ref)
