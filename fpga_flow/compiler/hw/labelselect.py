"""LabelSelect: argmax over the last axis (hls/SPEC.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import HWCustomOp, Resources


@dataclass
class LabelSelectAttrs:
    Labels: int
    PE: int = 1
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    inputDataType: str = "INT16"


class LabelSelect(HWCustomOp):
    """One unsigned ``OUT_BITS = max(1, ceil(log2 LABELS))`` index per vector, ties to the lowest
    index. Output shape ``numInputVectors + [1]`` (e.g. ``(1, H, W, 1)`` per pixel)."""

    Attrs = LabelSelectAttrs
    rtl_module = "label_select"

    def V(self):
        return int(np.prod(self.get_nodeattr("numInputVectors")))

    def normal_input_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.get_nodeattr("Labels"),)

    def normal_output_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (1,)

    def in_fold(self):
        return self.get_nodeattr("PE")

    def out_fold(self):
        return 1

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    def out_bits(self):
        return max(1, math.ceil(math.log2(self.get_nodeattr("Labels"))))

    def output_datatype(self):
        return DataType[f"UINT{self.out_bits()}"]

    def check_folding(self):
        a = self.attrs
        return [] if a.Labels % a.PE == 0 else [f"Labels={a.Labels} not divisible by PE={a.PE}"]

    def execute_numpy(self, x):
        x = np.asarray(x).reshape(self.normal_input_shape())
        return np.argmax(x, axis=-1)[..., None]  # numpy argmax: first maximum

    def exp_cycles(self):
        return self.V() * self.get_nodeattr("Labels") // self.get_nodeattr("PE")

    def resource_estimate(self):
        b = self.input_datatype().bitwidth()
        pe = self.get_nodeattr("PE")
        lut = 50 + pe * b + (b + self.out_bits()) * 2
        ff = 30 + 2 * (b + self.out_bits()) + self.instream_width()
        return Resources(lut=float(lut), ff=float(ff))

    def rtl_parameters(self):
        a = self.attrs
        return {"LABELS": a.Labels, "PE": a.PE, "IN_BITS": self.input_datatype().bitwidth(),
                "SIGNED": int(self.input_datatype().signed()), "NUM_VECTORS": self.V(),
                "OUT_BITS": self.out_bits()}
