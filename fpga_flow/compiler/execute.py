"""Run a hardware-layer graph with the layers' numpy semantics (no onnxruntime): integer NHWC in/out."""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.dag import topo_nodes
from fpga_flow.errors import FlowError


def execute_hw(model: ModelWrapper, x: np.ndarray, return_all: bool = False):
    """Feed integer NHWC ``x`` through the hardware layers in stream order (branches included);
    returns the output (and, with ``return_all``, a dict tensor name -> array of every layer output)."""
    ctx = {model.graph.input[0].name: np.asarray(x)}
    for n in topo_nodes(model, single_consumer=False):
        if n.domain != "fpga_flow.compiler.hw":
            raise FlowError(f"node {n.name} ({n.op_type}) is not a hardware layer")
        op = getCustomOp(n)
        y = op.execute_numpy(*(ctx[i] for i in n.input))
        # a layer with outputs of their own (StreamingMaxPoolIdx) returns a tuple; a fork one array
        ys = list(y) if isinstance(y, tuple) else [y] * len(n.output)
        for o, v in zip(n.output, ys):
            ctx[o] = np.asarray(v).reshape(op.normal_output_shape())
    y = ctx[model.graph.output[0].name]
    return (y, ctx) if return_all else y
