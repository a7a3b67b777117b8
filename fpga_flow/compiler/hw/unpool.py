"""Max-unpooling with pooling indices, SegNet's decoder: StreamingMaxPoolIdx (a k×k/stride k max-pool
that also emits each window's argmax) and MaxUnpool (puts each value back at its argmax, zeros
elsewhere). The index stream runs on a branch from the pool to its unpool; codegen sizes the FIFO
on it like any branch FIFO (``index_buffer_bits`` bounds it: one frame of indices)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from qonnx.core.datatype import DataType

from .base import Resources, bram18_count
from .multistream import MultiStreamOp


def index_bits(k: int) -> int:
    """Bits of a window position 0..k²-1."""
    return max(1, math.ceil(math.log2(k * k)))


def index_buffer_bits(H: int, W: int, C: int, k: int) -> int:
    """Bits of one frame of pooling indices of an H×W×C map pooled k×k (the index FIFO's bound)."""
    return (H // k) * (W // k) * C * index_bits(k)


def window_argmax(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(max, first position ky·k + kx of the max in raster order) of every k×k window of NHWC ``x``."""
    _, H, W, C = x.shape
    oh, ow = H // k, W // k
    win = x[:, : oh * k, : ow * k].reshape(-1, oh, k, ow, k, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, oh, ow, C, k * k)
    idx = win.argmax(axis=-1)   # numpy: the first maximum
    return np.take_along_axis(win, idx[..., None], -1)[..., 0], idx


@dataclass
class MaxPoolIdxAttrs:
    IFMDim: list[int]  # [H, W]
    NumChannels: int
    PoolDim: int = 2   # k; stride k
    PE: int = 1
    inputDataType: str = "UINT4"


class StreamingMaxPoolIdx(MultiStreamOp):
    """Output 0: ``max`` of each k×k window; output 1: its position ``ky·k + kx`` (UINT, the first
    maximum in raster order, as ONNX MaxPool's Indices and PyTorch's ``return_indices``)."""

    Attrs = MaxPoolIdxAttrs
    rtl_module = "maxpool_idx"

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.NumChannels)

    def normal_output_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0] // a.PoolDim, a.IFMDim[1] // a.PoolDim, a.NumChannels)

    def in_fold(self):
        return self.get_nodeattr("PE")

    out_fold = in_fold

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    output_datatype = input_datatype

    def index_datatype(self):
        return DataType[f"UINT{index_bits(self.get_nodeattr('PoolDim'))}"]

    def output_datatypes(self):
        return [self.output_datatype(), self.index_datatype()]

    def outstream_widths(self):
        return [self.in_fold() * d.bitwidth() for d in self.output_datatypes()]

    def infer_node_datatype(self, model):
        for o, d in zip(self.onnx_node.output, self.output_datatypes()):
            model.set_tensor_datatype(o, d)

    def execute_node(self, context, graph):
        x = np.asarray(context[self.onnx_node.input[0]]).reshape(self.normal_input_shape())
        for o, y in zip(self.onnx_node.output, self.execute_numpy(x)):
            context[o] = np.asarray(y, dtype=np.float32).reshape(self.normal_output_shape())

    def check_folding(self):
        a = self.attrs
        errs = [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]
        if len(self.onnx_node.output) != 2:
            errs.append(f"two outputs (values, indices) expected, the node has {len(self.onnx_node.output)}")
        return errs

    def execute_numpy(self, x):
        x = np.asarray(x).astype(np.int64).reshape(self.normal_input_shape())
        return window_argmax(x, self.get_nodeattr("PoolDim"))

    def exp_cycles(self):
        return int(np.prod(self.normal_input_shape())) // self.get_nodeattr("PE")

    def buffered_input_words(self):
        a = self.attrs
        return a.PoolDim * a.IFMDim[1] * (a.NumChannels // a.PE) + 4

    def resource_estimate(self):
        a = self.attrs
        b, ib = self.input_datatype().bitwidth(), self.index_datatype().bitwidth()
        # StreamingMaxPool's row of partial maxima, each with its position, and two output registers
        buf = (a.IFMDim[1] // a.PoolDim) * a.NumChannels * (b + ib)
        w = a.PE * (b + ib)
        bram = bram18_count(w, math.ceil(buf / w)) if buf > 4096 else 0
        lut = 80 + a.PE * (2 * b + ib) + (0 if bram else math.ceil(buf / 64))
        return Resources(lut=float(lut), ff=float(60 + 3 * w), bram18=bram)

    def rtl_parameters(self):
        a = self.attrs
        return {"IFM_H": a.IFMDim[0], "IFM_W": a.IFMDim[1], "CH": a.NumChannels, "K": a.PoolDim, "PE": a.PE,
                "BITS": self.input_datatype().bitwidth(), "SIGNED": int(self.input_datatype().signed()),
                "IB": self.index_datatype().bitwidth()}


@dataclass
class MaxUnpoolAttrs:
    IFMDim: list[int]  # [H, W] of the pooled map (the values' shape)
    NumChannels: int
    Scale: int = 2     # the pool's k = stride
    PE: int = 1
    inputDataType: str = "UINT4"   # of the values (must hold 0)


class MaxUnpool(MultiStreamOp):
    """``out[y·k+dy, x·k+dx, c] = v[y, x, c]`` where ``idx[y, x, c] = dy·k + dx``, else 0 (ONNX
    MaxUnpool with the pool's indices, output k× the input). Inputs: values, indices."""

    Attrs = MaxUnpoolAttrs
    rtl_module = "maxunpool"

    def input_shapes(self):
        return [self.normal_input_shape()] * 2

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.NumChannels)

    def normal_output_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0] * a.Scale, a.IFMDim[1] * a.Scale, a.NumChannels)

    def in_fold(self):
        return self.get_nodeattr("PE")

    out_fold = in_fold

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    output_datatype = input_datatype

    def input_datatypes(self):
        return [self.input_datatype(), DataType[f"UINT{index_bits(self.get_nodeattr('Scale'))}"]]

    def check_folding(self):
        a = self.attrs
        errs = [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]
        if not self.input_datatype().allowed(0):
            errs.append(f"values of type {a.inputDataType} cannot hold the zeros of the unpooled map")
        return errs

    def execute_numpy(self, v, idx):
        k = self.get_nodeattr("Scale")
        v = np.asarray(v).astype(np.int64).reshape(self.normal_input_shape())
        idx = np.asarray(idx).astype(np.int64).reshape(self.normal_input_shape())
        _, H, W, C = v.shape
        pos = np.arange(k * k).reshape(k, k)
        blk = np.where(idx[:, :, None, :, None, :] == pos[None, None, :, None, :, None],
                       v[:, :, None, :, None, :], 0)       # (1, H, k, W, k, C)
        return blk.reshape(1, H * k, W * k, C)

    def exp_cycles(self):
        return int(np.prod(self.normal_output_shape())) // self.get_nodeattr("PE")

    def buffered_input_words(self):
        return self.get_nodeattr("IFMDim")[1] * (self.get_nodeattr("NumChannels") // self.get_nodeattr("PE")) + 4

    def resource_estimate(self):
        a = self.attrs
        b, ib = self.input_datatype().bitwidth(), self.input_datatypes()[1].bitwidth()
        # upsample.v's row buffer of {position, value} words, a comparator + zero mux per lane
        buf = a.IFMDim[1] * a.NumChannels * (b + ib)
        w = a.PE * (b + ib)
        bram = bram18_count(w, math.ceil(buf / w)) if buf > 4096 else 0
        lut = 60 + (0 if bram else math.ceil(buf / 64)) + a.PE * (b + ib)
        return Resources(lut=float(lut), ff=float(40 + 2 * w + a.PE * b), bram18=bram)

    def rtl_parameters(self):
        a = self.attrs
        return {"IFM_H": a.IFMDim[0], "IFM_W": a.IFMDim[1], "CH": a.NumChannels, "SCALE": a.Scale, "PE": a.PE,
                "BITS": self.input_datatype().bitwidth(), "IB": self.input_datatypes()[1].bitwidth()}


def index_fifo_estimate(H: int, W: int, C: int, k: int, pe: int = 1) -> tuple[int, Resources]:
    """(depth in words, resources) of the FIFO that carries one frame of pooling indices of an H×W×C
    map from its pool to its unpool, priced by StreamingFIFO's resource model (estimate). A frame
    is the bound, and what SegNet's outer levels need: every deeper level's line buffers lie on the
    long path between the pool and its unpool."""
    from qonnx.custom_op.registry import getCustomOp

    from .base import make_hw_node

    depth = (H // k) * (W // k) * C // pe
    fifo = getCustomOp(make_hw_node("StreamingFIFO", "i", "o", name="index_fifo", shape=[1, H // k, W // k, C],
                                    fold=pe, depth=depth, dataType=f"UINT{index_bits(k)}"))
    return depth, fifo.resource_estimate()
