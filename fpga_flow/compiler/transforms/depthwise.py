"""Depthwise convolutions: streamline writes them as FINN does (an Im2Col marked ``depthwise`` and
a MatMul with a block-diagonal weight matrix); to_hw turns that MatMul into a VVAU. A k×k average
pool that is not global is the same thing with unit weights (an integer window sum) and ``1/k²``
at the front of the float chain, as the global pool's ``1/(H·W)``."""

from __future__ import annotations

import numpy as np
from onnx import helper

from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.hw.base import int_dtype_for_range

from .chain import F32, Step
from .ir import MAX_EXACT, IntT, _Builder, _err


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


def grouped_matrix(Wq: np.ndarray, group: int) -> np.ndarray:
    """Grouped conv weights (Cout, C/G, kh, kw) as the dense Im2Col MatMul matrix (kh·kw·C × Cout):
    output ``o`` of group ``g = o // (Cout/G)`` reads input channels ``g·C/G …`` only, the rest is
    zero. FINN (qonnx's LowerConvsToMatMul) lowers only depthwise and dense convs; a grouped conv
    becomes one MVAU of this matrix (G× the MACs of the groups' own: the zeros are computed), which
    keeps the stream a single one (no channel split into G branches and a concat)."""
    cout, cg, kh, kw = Wq.shape
    C, og = cg * group, cout // group
    W = np.zeros((kh * kw, C, cout), dtype=Wq.dtype)
    for g in range(group):
        blk = Wq[g * og:(g + 1) * og]                     # (og, cg, kh, kw)
        W[:, g * cg:(g + 1) * cg, g * og:(g + 1) * og] = blk.transpose(2, 3, 1, 0).reshape(kh * kw, cg, og)
    return W.reshape(kh * kw * C, cout)


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


def average_pool(node, t: IntT, b: _Builder) -> IntT:
    """AveragePool (kernel k, strides, no padding) -> Im2Col(depthwise) + MatMul with unit weights."""
    k = [int(v) for v in _attr(node, "kernel_shape")]
    st = [int(v) for v in _attr(node, "strides", [1, 1])]
    if any(int(p) for p in _attr(node, "pads", [0, 0, 0, 0])) or _attr(node, "ceil_mode", 0):
        raise _err(node, "average pooling with padding or ceil_mode (a border divisor that varies) is not supported")
    for s in t.steps:
        if not s.is_linear():
            raise _err(node, f"average pool after a non-linear '{s.kind}' (quantize first)")
    _, H, W, C = t.shape
    oh, ow = (H - k[0]) // st[0] + 1, (W - k[1]) // st[1] + 1
    N = k[0] * k[1]
    lo, hi = min(t.lo * N, 0), t.hi * N
    if max(abs(lo), abs(hi)) >= MAX_EXACT:
        raise _err(node, f"window sum range [{lo}, {hi}] exceeds 2^24")
    win = b.tensor("im2col", (1, oh, ow, N * C), b.dtypes.get(t.name))
    b.node("Im2Col", [t.name], [win], domain="qonnx.custom_op.general", stride=st, kernel_size=k,
           input_shape=f"(1, {H}, {W}, {C})", pad_amount=[0, 0, 0, 0], pad_value=0, depthwise=1)
    ones = depthwise_matrix(np.ones((C, 1, k[0], k[1]), dtype=np.int64))
    wname = b.init("W", ones.astype(F32), "UINT1")
    o = b.tensor("psum", (1, oh, ow, C), int_dtype_for_range(min(t.lo * N, t.lo), t.hi * N))
    b.node("MatMul", [win, wname], [o])
    return IntT(o, (1, oh, ow, C), min(t.lo * N, t.lo), t.hi * N, [Step("div", np.asarray(N, F32))] + t.steps, None, None)
