"""Small-graph tests of single transformations: threshold solving, tidy, to_hw errors."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.general.intquant import int_quant
from qonnx.util.basic import qonnx_make_model

from fpga_flow.compiler.transforms.chain import Step, compute_thresholds, eval_chain, slope_signs
from fpga_flow.compiler.transforms.tidy import Tidy
from fpga_flow.compiler.transforms.to_hw import ToHW
from fpga_flow.errors import FlowError

F32 = np.float32


@pytest.mark.parametrize("signed,narrow,bits,zp", [(False, False, 4, 0.0), (True, False, 4, 0.0),
                                                   (True, True, 3, 0.0), (False, False, 2, 1.0)])
def test_thresholds_equal_quantized_chain_exhaustively(signed, narrow, bits, zp):
    rng = np.random.default_rng(1)
    C = 6
    a = rng.uniform(0.001, 0.05, C).astype(F32) * np.where(np.arange(C) % 2, 1, -1).astype(F32)
    steps = [Step("mul", a), Step("add", rng.uniform(-1, 1, C).astype(F32)),
             Step("bn", extra={"gamma": rng.uniform(0.5, 2, C).astype(F32), "beta": rng.uniform(-.2, .2, C).astype(F32),
                               "mean": rng.uniform(-.1, .1, C).astype(F32), "var": rng.uniform(.5, 2, C).astype(F32),
                               "eps": 1e-5}),
             Step("relu")] if not signed else [Step("mul", a), Step("add", rng.uniform(-1, 1, C).astype(F32))]
    sg = slope_signs(steps, C)
    assert list(sg) == [-1, 1, -1, 1, -1, 1]
    flipped = [Step("mul", sg.astype(F32))] + steps  # what the compiler does by negating weight columns
    lo, hi = -300, 300
    scale = F32(0.125)
    T, qmin = compute_thresholds(flipped, C, lo, hi, np.full(C, scale), np.full(C, F32(zp)), bits, signed, narrow,
                                 "ROUND")
    acc = np.arange(lo, hi + 1)
    for c in range(C):
        f = eval_chain(flipped, np.tile(acc[:, None], (1, C)))[:, c]
        ref = np.round(int_quant(f, scale, F32(zp), F32(bits), signed, narrow, "ROUND") / scale + zp)
        got = qmin + (acc[:, None] >= T[c]).sum(axis=1)
        np.testing.assert_array_equal(got, ref)
        assert np.all(np.diff(T[c]) >= 0) and T[c].min() >= lo and T[c].max() <= hi + 1


def test_tidy_names_and_static_shapes():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"]), helper.make_node("Relu", ["t"], ["y"])], "g", [x], [y])
    m, _ = Tidy().apply(ModelWrapper(qonnx_make_model(g)))
    names = [n.name for n in m.graph.node]
    assert len(set(names)) == 2 and all(names)
    assert m.get_tensor_shape(m.graph.node[0].output[0]) == [1, 4]
    g2 = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                           [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])], [y])
    with pytest.raises(FlowError, match="batch 2"):
        Tidy().apply(ModelWrapper(qonnx_make_model(g2)))


def _int_graph(nodes, inits, out_shape=(1, 1, 1, 4)):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))], inits)
    m = ModelWrapper(qonnx_make_model(g))
    m.set_tensor_datatype("x", __import__("qonnx.core.datatype", fromlist=["DataType"]).DataType["INT4"])
    return m


def test_to_hw_rejects_unmappable_and_float():
    m = _int_graph([helper.make_node("Softmax", ["x"], ["y"], name="sm0")], [])
    with pytest.raises(FlowError, match=r"node sm0 \(Softmax\): cannot map to a hardware layer"):
        ToHW().apply(m)
    W = numpy_helper.from_array(np.full((4, 4), 0.5, dtype=F32), "W")
    m = _int_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm0")], [W])
    with pytest.raises(FlowError, match=r"node mm0 \(MatMul\): .*weights are not integers"):
        ToHW().apply(m)


def test_to_hw_matmul_threshold_becomes_one_mvau():
    from qonnx.core.datatype import DataType
    W = numpy_helper.from_array(np.arange(16, dtype=F32).reshape(4, 4) - 8, "W")
    T = numpy_helper.from_array(np.array([[-5, 0, 5]] * 4, dtype=F32), "T")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["acc"], name="mm"),
             helper.make_node("MultiThreshold", ["acc", "T"], ["y"], domain="qonnx.custom_op.general", name="mt",
                              out_dtype="INT2", out_bias=-2.0, data_layout="NHWC")]
    m = _int_graph(nodes, [W, T])
    m.set_tensor_datatype("W", DataType["INT4"])
    m.set_tensor_shape("acc", [1, 1, 1, 4])
    hm, _ = ToHW().apply(m)
    assert [n.op_type for n in hm.graph.node] == ["MVAU"]
    from qonnx.custom_op.registry import getCustomOp
    op = getCustomOp(hm.graph.node[0])
    assert op.rtl_parameters()["ACT_BITS"] == 2 and op.rtl_parameters()["ACT_BIAS"] == -2
    x = np.array([[[[1, -2, 3, 0]]]], dtype=F32)
    acc = x.reshape(1, 4) @ (np.arange(16).reshape(4, 4) - 8)
    np.testing.assert_array_equal(op.execute_numpy(x).reshape(4), -2 + (acc.reshape(4, 1) >= [-5, 0, 5]).sum(1))


def test_affine_of_matches_chain_and_keeps_tiny_scales():
    from fpga_flow.compiler.transforms.chain import affine_of
    steps = [Step("mul", np.array([1e-10, 2e-3], F32)), Step("add", np.array([-0.04, 0.5], F32)),
             Step("div", np.asarray(4, F32))]
    A, B = affine_of(steps, 2)
    assert A[0] == pytest.approx(2.5e-11) and B[1] == pytest.approx(0.125)
    x = np.array([[1000.0, -7.0]], F32)
    np.testing.assert_allclose(A * x + B, eval_chain(steps, x), rtol=1e-6)
    assert affine_of(steps + [Step("relu")], 2) is None


def test_affine_of_after_json_roundtrip():
    from fpga_flow.compiler.transforms.chain import affine_of
    steps = [Step("mul", np.asarray(0.5, F32)), Step("add", np.array([1.0, 2.0], F32))]
    back = [Step.from_json(s.to_json()) for s in steps]
    A, B = affine_of(back, 2)
    np.testing.assert_allclose(A, [0.5, 0.5]) and np.testing.assert_allclose(B, [1.0, 2.0])
