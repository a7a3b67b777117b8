"""A tiny QONNX model written with onnx.helper (no Brevitas export): builds in about a second.

input (1,3,8,8) -> Quant INT8 -> Conv 3x3 (4-bit weights) -> ReLU -> Quant UINT4 -> MaxPool 2
-> Flatten -> MatMul (4-bit weights) -> output (1, K)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_qonnx(path: Path, seed: int = 0, channels: int = 4, classes: int = 8) -> Path:
    rng = np.random.default_rng(seed)

    def const(name, v):
        return numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)

    def quant(i, s, bits, o, signed, narrow=0):
        return helper.make_node("Quant", [i, s, "z", bits], [o], domain="qonnx.custom_op.general",
                                signed=signed, narrow=narrow, rounding_mode="ROUND")

    c, k = channels, classes
    inits = [const("s8", 0.05), const("s4", 0.25), const("sw", 0.1), const("z", 0.0), const("b8", 8.0),
             const("b4", 4.0), const("W", rng.integers(-7, 8, (c, 3, 3, 3))),
             const("W2", rng.integers(-7, 8, (k, c * 4 * 4)).T.copy())]
    nodes = [quant("x", "s8", "b8", "xq", 1), quant("W", "sw", "b4", "Wq", 1, 1),
             helper.make_node("Conv", ["xq", "Wq"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]), quant("r1", "s4", "b4", "a1", 0),
             helper.make_node("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p1"], ["fl"]), quant("W2", "sw", "b4", "W2q", 1, 1),
             helper.make_node("MatMul", ["fl", "W2q"], ["y"])]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k])], inits)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path
