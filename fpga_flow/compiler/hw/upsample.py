"""UpsampleNearestNeighbour (hls/SPEC.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import PassThroughStreamOp, Resources, bram18_count


@dataclass
class UpsampleAttrs:
    IFMDim: list[int]  # [H, W]
    NumChannels: int
    Scale: int = 2
    PE: int = 1
    inputDataType: str = "UINT4"


class UpsampleNearestNeighbour(PassThroughStreamOp):
    """``out[y,x,c] = in[y//S, x//S, c]``; one input row buffered."""

    Attrs = UpsampleAttrs
    rtl_module = "upsample"

    def normal_input_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0], a.IFMDim[1], a.NumChannels)

    def normal_output_shape(self):
        a = self.attrs
        return (1, a.IFMDim[0] * a.Scale, a.IFMDim[1] * a.Scale, a.NumChannels)

    def execute_numpy(self, x):
        s = self.get_nodeattr("Scale")
        x = np.asarray(x).reshape(self.normal_input_shape())
        return x.repeat(s, axis=1).repeat(s, axis=2)

    def exp_cycles(self):
        _, oh, ow, c = self.normal_output_shape()
        return oh * ow * c // self.get_nodeattr("PE")

    def resource_estimate(self):
        a = self.attrs
        buf = a.IFMDim[1] * a.NumChannels * self.input_datatype().bitwidth()
        w = self.instream_width()
        bram = bram18_count(w, math.ceil(buf / max(w, 1))) if buf > 4096 else 0
        lut = 60 + (0 if bram else math.ceil(buf / 64)) + self.instream_width()
        ff = 40 + 2 * self.instream_width()
        return Resources(lut=float(lut), ff=float(ff), bram18=bram)

    def rtl_parameters(self):
        a = self.attrs
        return {"IFM_H": a.IFMDim[0], "IFM_W": a.IFMDim[1], "CH": a.NumChannels, "SCALE": a.Scale,
                "PE": a.PE, "BITS": self.input_datatype().bitwidth()}
