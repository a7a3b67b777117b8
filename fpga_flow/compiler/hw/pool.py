"""StreamingMaxPool and GlobalAccPool (hls/SPEC.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from qonnx.core.datatype import DataType

from .base import HWCustomOp, PassThroughStreamOp, Resources, clog2, const_mul_dsp


@dataclass
class MaxPoolAttrs:
    IFMDim: list[int]  # [H, W]
    NumChannels: int
    PoolDim: int = 2  # K; stride = K
    PE: int = 1
    inputDataType: str = "UINT4"


class StreamingMaxPool(PassThroughStreamOp):
    """k×k max, stride k, output ``floor(IFM/K)`` (trailing rows/cols dropped)."""

    Attrs = MaxPoolAttrs
    rtl_module = "maxpool"

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.NumChannels)

    def normal_output_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0] // a.PoolDim, a.IFMDim[1] // a.PoolDim, a.NumChannels)

    def execute_numpy(self, x):
        a = self.attrs
        k = a.PoolDim
        H, W, C = a.IFMDim[0], a.IFMDim[1], a.NumChannels
        oh, ow = H // k, W // k
        x = np.asarray(x).reshape(1, H, W, C)[:, : oh * k, : ow * k, :]
        return x.reshape(1, oh, k, ow, k, C).max(axis=(2, 4))

    def exp_cycles(self):
        a = self.attrs
        return a.IFMDim[0] * a.IFMDim[1] * a.NumChannels // a.PE

    def buffered_input_words(self):
        """K input rows go in before the first output row comes out."""
        a = self.attrs
        return a.PoolDim * a.IFMDim[1] * (a.NumChannels // a.PE) + 4

    def resource_estimate(self):
        a = self.attrs
        b = self.input_datatype().bitwidth()
        # one row of partial maxima (W/K · C elements) + PE comparators. hls/maxpool.v reads the row
        # buffer asynchronously (read, compare and write back in one cycle), which no BRAM does: Yosys
        # builds it of LUTRAM at any size (vgg16-hcr 224: 0 BRAM18 for 5 buffers of 4.9 to 11.6 kbit),
        # about one LUT per 64 bits; the address ox·CF + cf may take a DSP (const_mul_dsp)
        buf = (a.IFMDim[1] // a.PoolDim) * a.NumChannels * b
        cf = a.NumChannels // a.PE
        words = (a.IFMDim[1] // a.PoolDim) * cf
        lut = 100 + a.PE * b * 2 + math.ceil(buf / 64)
        ff = 60 + 3 * a.PE * b
        return Resources(lut=float(lut), ff=float(ff), dsp=const_mul_dsp(cf, max(1, clog2(words))))

    def rtl_parameters(self):
        a = self.attrs
        return {"IFM_H": a.IFMDim[0], "IFM_W": a.IFMDim[1], "CH": a.NumChannels, "K": a.PoolDim,
                "PE": a.PE, "BITS": self.input_datatype().bitwidth(),
                "SIGNED": int(self.input_datatype().signed())}


@dataclass
class GlobalAccPoolAttrs:
    IFMDim: list[int]  # [H, W]
    NumChannels: int
    PE: int = 1
    inputDataType: str = "UINT4"


class GlobalAccPool(HWCustomOp):
    """``out[c] = Σ_{y,x} in[y,x,c]``; output ``(1,1,1,C)``, ``OUT_BITS = IN_BITS + ceil(log2(H·W))``,
    signed iff the input is signed. (The 1/(H·W) of an average pool is folded into the next layer's
    thresholds or into the host scale.)"""

    Attrs = GlobalAccPoolAttrs
    rtl_module = "global_acc_pool"

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.NumChannels)

    def normal_output_shape(self):
        return (1, 1, 1, self.get_nodeattr("NumChannels"))

    def in_fold(self):
        return self.get_nodeattr("PE")

    out_fold = in_fold

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    def out_bits(self):
        a = self.attrs
        return self.input_datatype().bitwidth() + math.ceil(math.log2(a.IFMDim[0] * a.IFMDim[1]))

    def output_datatype(self):
        s = "INT" if self.input_datatype().signed() else "UINT"
        return DataType[f"{s}{self.out_bits()}"]

    def check_folding(self):
        a = self.attrs
        return [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]

    def execute_numpy(self, x):
        x = np.asarray(x).astype(np.int64).reshape(self.normal_input_shape())
        return x.sum(axis=(1, 2), keepdims=True)

    def exp_cycles(self):
        a = self.attrs
        return a.IFMDim[0] * a.IFMDim[1] * a.NumChannels // a.PE + a.NumChannels // a.PE

    def buffered_input_words(self):
        return self.input_words()[0] + 4  # the whole frame before the sums

    def resource_estimate(self):
        a = self.attrs
        ob = self.out_bits()
        acc_mem = a.NumChannels * ob
        lut = 60 + a.PE * ob + math.ceil(acc_mem / 64)
        ff = 40 + 2 * a.PE * ob
        return Resources(lut=float(lut), ff=float(ff))

    def rtl_parameters(self):
        a = self.attrs
        return {"IFM_H": a.IFMDim[0], "IFM_W": a.IFMDim[1], "CH": a.NumChannels, "PE": a.PE,
                "IN_BITS": self.input_datatype().bitwidth(),
                "SIGNED": int(self.input_datatype().signed()), "OUT_BITS": self.out_bits()}
