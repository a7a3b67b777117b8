"""Thresholding: a standalone MultiThreshold (hls/SPEC.md §Thresholding)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import ChannelStream, HWCustomOp, Resources, multithreshold_count, signed_bits_for_range, threshold_memory


@dataclass
class ThresholdingAttrs:
    NumChannels: int
    PE: int = 1
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    inputDataType: str = "INT8"
    outputDataType: str = "UINT4"
    ActVal: int = 0
    thresholds: np.ndarray = None  # type: ignore[assignment]  # C × N_THR


class Thresholding(ChannelStream, HWCustomOp):
    """``out[c] = ACT_BIAS + Σ_t [x[c] >= T[c,t]]``.

    SPEC.md gives no parameter list for ``thresholding``; decision (same names as MVAU):
    ``CH, PE, NUM_VECTORS, IN_BITS, IN_SIGNED, THR_BITS, ACT_BITS, ACT_BIAS, THRESH_FILE`` with
    ``THRESH_FILE`` laid out exactly like the MVAU's (``CH/PE`` lines, element ``pe·N_THR + t``
    is ``T[nf·PE+pe, t]``). ``THR_BITS`` = signed bits covering the thresholds.
    """

    Attrs = ThresholdingAttrs
    rtl_module = "thresholding"

    def V(self):
        return int(np.prod(self.get_nodeattr("numInputVectors")))

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    def output_datatype(self):
        return DataType[self.get_nodeattr("outputDataType")]

    def T(self):
        return np.asarray(self.get_nodeattr("thresholds")).astype(np.int64)

    def act_bits(self):
        return int(round(math.log2(self.T().shape[1] + 1)))

    def thr_bits(self):
        t = self.T()
        return max(2, signed_bits_for_range(int(t.min()), int(t.max())))

    def check_folding(self):
        a = self.attrs
        return [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]

    def execute_numpy(self, x):
        x = np.asarray(x).astype(np.int64).reshape(self.normal_input_shape())
        return self.get_nodeattr("ActVal") + multithreshold_count(x, self.T())

    def exp_cycles(self):
        a = self.attrs
        return self.V() * a.NumChannels // a.PE

    def weight_bits_total(self):
        t = self.T()
        return t.size * self.thr_bits()

    def resource_estimate(self):
        a = self.attrs
        n_thr = self.T().shape[1]
        tb = self.thr_bits()
        # one comparator per threshold per PE (~tb/2 LUT6 each with carry) + LUTRAM thresholds
        tmem = a.NumChannels // a.PE
        lut = 50 + a.PE * n_thr * (tb / 2 + tb * math.ceil(tmem / 64))
        ff = a.PE * (n_thr + self.instream_width() // max(a.PE, 1)) + self.outstream_width()
        return Resources(lut=lut, ff=float(ff))

    def rtl_parameters(self):
        a = self.attrs
        return {
            "CH": a.NumChannels, "PE": a.PE, "NUM_VECTORS": self.V(),
            "IN_BITS": self.input_datatype().bitwidth(),
            "IN_SIGNED": int(self.input_datatype().signed()),
            "THR_BITS": self.thr_bits(), "ACT_BITS": self.act_bits(),
            "ACT_BIAS": int(a.ActVal), "THRESH_FILE": "thresholds.mem",
        }

    def rtl_memories(self):
        return {"THRESH_FILE": threshold_memory(self.onnx_node.name, self.T(), self.thr_bits(), self.attrs.PE)}
