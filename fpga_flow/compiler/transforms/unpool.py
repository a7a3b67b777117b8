"""Streamlining of SegNet's max-unpool: an ONNX ``MaxPool`` whose ``Indices`` output feeds a
``MaxUnpool``. ONNX indices are flat NCHW positions of the whole tensor; in hardware the pool emits
each window's position ``ky·k + kx`` instead (StreamingMaxPoolIdx), which is all the unpool needs.
Both become hardware nodes already here (the streamlined graph runs them through their numpy
semantics): the index tensor has no float meaning to streamline."""

from __future__ import annotations

import numpy as np

from fpga_flow.compiler.hw.base import DOMAIN, int_dtype_for_range
from fpga_flow.compiler.hw.unpool import index_bits

from .chain import eval_chain, slope_signs
from .ir import IntT, _attr, _Builder, _err


def _kernel(node) -> int:
    k = list(_attr(node, "kernel_shape"))
    s = list(_attr(node, "strides", k))
    pads = list(_attr(node, "pads", [0, 0, 0, 0]))
    if k[0] != k[1] or s != k or any(pads) or _attr(node, "ceil_mode", 0) or _attr(node, "storage_order", 0):
        raise _err(node, f"only k×k pooling/unpooling with stride k, no padding, row-major indices is supported "
                         f"(kernel {k}, stride {s}, pads {pads})")
    return int(k[0])


def pool_with_indices(node, t: IntT, b: _Builder, dtype: str | None) -> tuple[IntT, dict]:
    """MaxPool with an Indices output -> StreamingMaxPoolIdx; returns the values and the index
    tensor's description (name, k, shape) for the matching MaxUnpool."""
    k = _kernel(node)
    # the argmax on integers is the float graph's only if no two integer levels meet in one float
    # value (ties): every step strictly increasing (a quantizer's scale; no ReLU/clip in between)
    if not all(s.is_linear() for s in t.steps) or np.any(slope_signs(t.steps, t.C) <= 0):
        raise _err(node, "max-pool with indices needs a quantized input (strictly increasing float chain, "
                         f"found {[s.kind for s in t.steps]}): put the quantizer right before the pool")
    if dtype is None:
        raise _err(node, "max-pool with indices on a tensor without an integer type")
    _, H, W, C = t.shape
    oshape = (1, H // k, W // k, C)
    o = b.tensor("pool", oshape, dtype)
    oi = b.tensor("poolidx", oshape, f"UINT{index_bits(k)}")
    b.node("StreamingMaxPoolIdx", [t.name], [o, oi], domain=DOMAIN, IFMDim=[H, W], NumChannels=C, PoolDim=k,
           PE=1, inputDataType=dtype)
    return IntT(o, oshape, t.lo, t.hi, t.steps, None, None), {"name": oi, "k": k, "shape": oshape}


def max_unpool(node, t: IntT, idx: dict | None, b: _Builder, oshape_q) -> IntT:
    if idx is None:
        raise _err(node, f"the indices '{node.input[1]}' do not come from a MaxPool's Indices output")
    k = _kernel(node)
    if k != idx["k"] or t.shape != idx["shape"] or t.perm is not None:
        raise _err(node, f"unpool kernel {k} and input shape {t.shape} differ from the pool's "
                         f"(kernel {idx['k']}, shape {idx['shape']})")
    _, H, W, C = t.shape
    if tuple(oshape_q[2:]) != (H * k, W * k):
        raise _err(node, f"output_shape {list(oshape_q)}: only the pool's input size (k× the input, no "
                         "cropped remainder) is supported")
    zero = eval_chain(t.steps, np.zeros((1, C)))
    if np.any(zero != 0) or t.lo > 0 or t.hi < 0:
        raise _err(node, "the unpooled zeros must stay zeros: the input needs a zero offset "
                         f"(float value of integer 0: {np.unique(zero)[:4].tolist()}, range [{t.lo}, {t.hi}])")
    dtype = int_dtype_for_range(t.lo, t.hi)
    oshape = (1, H * k, W * k, C)
    o = b.tensor("unpool", oshape, dtype)
    b.node("MaxUnpool", [t.name, idx["name"]], [o], domain=DOMAIN, IFMDim=[H, W], NumChannels=C, Scale=k, PE=1,
           inputDataType=dtype)
    return IntT(o, oshape, t.lo, t.hi, t.steps, None, None)
