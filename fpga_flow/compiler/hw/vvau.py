"""VVAU: vector-vector activation unit, the depthwise convolution (FINN's VectorVectorActivation).

It reads the window stream of a ConvolutionInputGenerator unchanged (element ``k·C + c`` of a
pixel's window, FINN's Im2Col order) and computes ``acc[c] = Σ_k x[k·C + c]·W[c, k]`` per channel,
then thresholds as the MVAU does. Folding: ``PE`` channels per word (the SWG's words are regrouped
by a width converter where its SIMD differs) and ``SIMD`` kernel positions per word (FINN's VVAU
SIMD), so cycles are ``V·K·C/(PE·SIMD)``. SIMD > 1 needs PE = C, as FINN's SetFolding reaches it
(PE first, then SIMD): a word is then SIMD whole kernel positions, contiguous in the SWG's (k, c)
order; with PE < C the word would need a reordering SWG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import (HWCustomOp, carried_weight_bits, Resources, multithreshold_count, pack_words, signed_bits_for_range,
                   threshold_memory)


@dataclass
class VVAUAttrs:
    NumChannels: int
    Kernel: list[int]  # [K_H, K_W]
    PE: int = 1
    SIMD: int = 1  # kernel positions per word
    numInputVectors: list[int] = field(default_factory=lambda: [1])  # [1, OFM_H, OFM_W]
    inputDataType: str = "UINT4"
    weightDataType: str = "INT4"
    outputDataType: str = ""  # "" without activation
    ActVal: int = 0
    weights: np.ndarray = None  # type: ignore[assignment]  # C × K
    thresholds: np.ndarray = None  # type: ignore[assignment]  # C × N_THR, or empty


class VVAU(HWCustomOp):
    Attrs = VVAUAttrs
    rtl_module = "vvau"

    def K(self) -> int:
        kh, kw = self.get_nodeattr("Kernel")
        return kh * kw

    def V(self) -> int:
        return int(np.prod(self.get_nodeattr("numInputVectors")))

    def W(self) -> np.ndarray:
        return np.asarray(self.get_nodeattr("weights")).astype(np.int64).reshape(self.get_nodeattr("NumChannels"), self.K())

    def T(self):
        t = np.asarray(self.get_nodeattr("thresholds"))
        return None if t.size == 0 else t.astype(np.int64).reshape(self.get_nodeattr("NumChannels"), -1)

    def has_activation(self) -> bool:
        return self.T() is not None

    def normal_input_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.K() * self.get_nodeattr("NumChannels"),)

    def normal_output_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.get_nodeattr("NumChannels"),)

    def in_fold(self):
        return self.get_nodeattr("PE") * self.get_nodeattr("SIMD")

    def out_fold(self):
        return self.get_nodeattr("PE")

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    def weight_bits(self) -> int:
        return carried_weight_bits(self.get_nodeattr("weightDataType"))

    def acc_range(self) -> tuple[int, int]:
        W, d = self.W(), self.input_datatype()
        lo_x, hi_x = int(d.min()), int(d.max())
        hi = np.where(W > 0, W * hi_x, W * lo_x).sum(1)
        lo = np.where(W > 0, W * lo_x, W * hi_x).sum(1)
        return int(min(lo.min(), 0)), int(max(hi.max(), 0))

    def acc_bits(self) -> int:
        return max(2, signed_bits_for_range(*self.acc_range()))

    def act_bits(self) -> int:
        t = self.T()
        return 0 if t is None else int(round(math.log2(t.shape[1] + 1)))

    def thr_bits(self) -> int:
        t = self.T()
        return self.acc_bits() if t is None else max(2, signed_bits_for_range(int(t.min()), int(t.max())))

    def output_datatype(self):
        if not self.has_activation():
            return DataType[f"INT{self.acc_bits()}"]
        return DataType[self.get_nodeattr("outputDataType")]

    def check_folding(self):
        c, pe = self.get_nodeattr("NumChannels"), self.get_nodeattr("PE")
        errs = [] if c % pe == 0 else [f"NumChannels={c} not divisible by PE={pe}"]
        simd = self.get_nodeattr("SIMD")
        if self.K() % simd:
            errs.append(f"kernel size {self.K()} not divisible by SIMD={simd}")
        if simd > 1 and pe != c:
            errs.append(f"SIMD={simd} > 1 needs PE = NumChannels ({c}), not PE={pe}")
        if self.W().shape != (c, self.K()):
            errs.append(f"weights of shape {self.W().shape}, expected {(c, self.K())}")
        return errs

    def execute_numpy(self, x):
        C, K = self.get_nodeattr("NumChannels"), self.K()
        x = np.asarray(x).astype(np.int64).reshape(self.normal_input_shape()[:-1] + (K, C))
        acc = np.einsum("...kc,ck->...c", x, self.W())
        if not self.has_activation():
            return acc
        return self.get_nodeattr("ActVal") + multithreshold_count(acc, self.T())

    def exp_cycles(self):
        return self.V() * self.K() * self.get_nodeattr("NumChannels") // (self.get_nodeattr("PE") * self.get_nodeattr("SIMD"))

    def weight_bits_total(self):
        n = self.W().size * self.weight_bits()
        if self.has_activation():
            n += self.T().size * self.thr_bits()
        return n

    def resource_estimate(self):
        pe, ab, wb, simd = self.get_nodeattr("PE"), self.acc_bits(), self.weight_bits(), self.get_nodeattr("SIMD")
        ib = self.input_datatype().bitwidth()
        cf = self.get_nodeattr("NumChannels") // pe
        n_thr = 0 if self.T() is None else self.T().shape[1]
        # per lane: SIMD W×A multipliers (the MVAU's fit) and adders, the partial sums in LUTRAM,
        # the comparators of the thresholds; weights/thresholds in LUTRAM
        mult = 0.5 * (wb * ib) ** 1.4
        lut = pe * (simd * (mult + ab) + ab * math.ceil(cf / 64) + n_thr * self.thr_bits() / 2) \
            + math.ceil(self.weight_bits_total() / 64) + 40
        ff = pe * (2 * ab + max(1, self.act_bits())) + 20
        return Resources(lut=float(lut), ff=float(ff))

    def rtl_parameters(self):
        return {"CH": self.get_nodeattr("NumChannels"), "PE": self.get_nodeattr("PE"),
                "SIMD": self.get_nodeattr("SIMD"), "K": self.K(),
                "NUM_VECTORS": self.V(), "IN_BITS": self.input_datatype().bitwidth(),
                "IN_SIGNED": int(self.input_datatype().signed()), "W_BITS": self.weight_bits(),
                "ACC_BITS": self.acc_bits(), "ACT_BITS": self.act_bits(), "THR_BITS": self.thr_bits(),
                "ACT_BIAS": int(self.get_nodeattr("ActVal")) if self.has_activation() else 0,
                "WEIGHT_FILE": "weights.mem", "THRESH_FILE": "thresholds.mem" if self.has_activation() else ""}

    def rtl_memories(self):
        pe, C, K, simd = self.get_nodeattr("PE"), self.get_nodeattr("NumChannels"), self.K(), self.get_nodeattr("SIMD")
        # C × K -> line kk·CF + cf, element s·PE + p = W[cf·PE + p, kk·SIMD + s]
        W = self.W().reshape(C // pe, pe, K // simd, simd)
        lines = W.transpose(2, 0, 3, 1).reshape((K // simd) * (C // pe), simd * pe)
        mems = {"WEIGHT_FILE": pack_words(lines, self.weight_bits())}
        if self.has_activation():
            mems["THRESH_FILE"] = threshold_memory(self.onnx_node.name, self.T(), self.thr_bits(), pe)
        return mems

