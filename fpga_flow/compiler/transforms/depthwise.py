"""Depthwise convolutions: streamline writes them as FINN does (an Im2Col marked ``depthwise`` and
a MatMul with a block-diagonal weight matrix); to_hw turns that MatMul into a VVAU."""

from __future__ import annotations

import numpy as np
from onnx import helper

from fpga_flow.compiler.hw import make_hw_node


def depthwise_matrix(Wq: np.ndarray) -> np.ndarray:
    """Depthwise conv weights (C, 1, kh, kw) as the dense Im2Col MatMul matrix (kh·kw·C × C), zero
    off the diagonal blocks (FINN's sparse representation): row ``k·C + c`` feeds column ``c`` only.
    to_hw turns the MatMul behind a depthwise Im2Col into a VVAU."""
    C, _, kh, kw = Wq.shape
    K = kh * kw
    Wm = np.zeros((K * C, C), dtype=Wq.dtype)
    wk = Wq.reshape(C, K)
    for k in range(K):
        Wm[k * C + np.arange(C), np.arange(C)] = wk[:, k]
    return Wm


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def is_depthwise_matmul(model, n) -> bool:
    prod = model.find_producer(n.input[0])
    return n.op_type == "MatMul" and prod is not None and prod.op_type == "Im2Col" and bool(_attr(prod, "depthwise", 0))


def vvau_node(model, n, x: str, out: str, name: str, act: dict):
    """The VVAU of a depthwise MatMul ``n`` reading window tensor ``x``; ``act`` holds the absorbed
    MultiThreshold's ``thresholds``/``outputDataType``/``ActVal`` (empty without activation)."""
    W = model.get_initializer(n.input[1])
    im2col = model.find_producer(n.input[0])
    kh, kw = (int(v) for v in _attr(im2col, "kernel_size"))
    K = kh * kw
    KC, C = W.shape
    Wd = np.stack([W[k * C + np.arange(C), np.arange(C)] for k in range(K)], axis=1)  # C × K
    off = W.copy()
    for k in range(K):
        off[k * C + np.arange(C), np.arange(C)] = 0
    if KC != K * C or np.any(off != 0):
        raise ValueError(f"node {n.name}: weights are not block-diagonal (depthwise)")
    oshape = model.get_tensor_shape(n.output[0])
    kw_ = dict(NumChannels=C, Kernel=[kh, kw], PE=1, numInputVectors=list(oshape[:-1]),
               inputDataType=model.get_tensor_datatype(x).name, weightDataType=model.get_tensor_datatype(n.input[1]).name,
               weights=Wd.astype(np.int64), thresholds=np.zeros((0,)))
    kw_.update(act)
    return make_hw_node("VVAU", x, out, name, **kw_)
