"""Hand-built chains of hardware-layer nodes for folding tests."""

from __future__ import annotations

from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model


def chain_model(nodes, name: str, in_shape: list[int], out_shape: list[int]) -> ModelWrapper:
    """``nodes`` (input "x" ... output "y") as a model, tensor shapes and datatypes from the layer classes."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    m = ModelWrapper(qonnx_make_model(g))
    for n in nodes:
        op = getCustomOp(n)
        m.set_tensor_shape(n.output[0], list(op.normal_output_shape()))
        m.set_tensor_datatype(n.output[0], op.output_datatype())
    m.set_tensor_datatype("x", getCustomOp(nodes[0]).input_datatype())
    return m
