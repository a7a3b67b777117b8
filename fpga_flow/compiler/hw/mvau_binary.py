"""BinaryMVAU: an MVAU whose weights are all ±1 (bipolar), without multipliers (hls/mvau_binary.v).

Same numpy semantics, folding, memory layout and cycle model as :class:`MVAU`
(``acc[c] = Σ_i x[i]·W[i,c]``, thresholds, ``(MH/PE)·(MW/SIMD)·V`` cycles); a weight is one bit
``w = (W + 1)/2``. Two modes, chosen by the input datatype:

* **XNOR** (FINN's binaryXnorMode), input UINT1: the bit of a bipolar activation (streamline's
  encoding ``v = 2b − 1``). The hardware counts matches ``pc[c] = Σ_i [b_i == w_ic]``; since
  ``acc = Σ_i b_i·W_ic = pc − neg[c]`` with ``neg[c] = #{i: W_ic = −1}``, the thresholds move up by
  ``neg[c]`` (FINN's adjusted thresholds), and a layer without activation starts its
  accumulator at ``−neg[c]`` (``ACC_INIT_FILE``).
* **add/subtract**, any other integer input: each lane adds ``+x`` or ``−x``.
"""

from __future__ import annotations

import math

import numpy as np

from fpga_flow.sim.packing import hex_lines

from .base import Resources, pack_words, signed_bits_for_range, threshold_memory
from .mvau import MVAU


def is_bipolar_matrix(W: np.ndarray) -> bool:
    W = np.asarray(W)
    return W.size > 0 and bool(np.all(np.abs(W) == 1))


class BinaryMVAU(MVAU):
    rtl_module = "mvau_binary"

    def xnor(self) -> bool:
        idt = self.input_datatype()
        return idt.bitwidth() == 1 and not idt.signed()

    def weight_bits(self) -> int:
        return 1

    def check_folding(self):
        errs = super().check_folding()
        if not is_bipolar_matrix(self.W()):
            errs.append("BinaryMVAU weights must all be -1 or +1")
        return errs

    # ----- what the RTL computes -----
    def neg_count(self) -> np.ndarray:
        return (self.W() < 0).sum(axis=0).astype(np.int64)

    def hw_thresholds(self) -> np.ndarray | None:
        """Thresholds on the hardware accumulator (popcount in XNOR mode)."""
        t = self.T()
        if t is None or not self.xnor():
            return t
        return t + self.neg_count()[:, None]

    def hw_acc_bits(self) -> int:
        if self.xnor() and self.has_activation():  # the popcount 0 … MW
            return max(2, signed_bits_for_range(0, self.get_nodeattr("MW")))
        return self.acc_bits()

    def hw_thr_bits(self) -> int:
        t = self.hw_thresholds()
        if t is None:
            return self.hw_acc_bits()
        return max(2, signed_bits_for_range(int(t.min()), int(t.max())))

    def rtl_parameters(self):
        a = self.attrs
        xnor = self.xnor()
        return {
            "MW": a.MW, "MH": a.MH, "PE": a.PE, "SIMD": a.SIMD,
            "IN_BITS": self.input_datatype().bitwidth(),
            "IN_SIGNED": int(self.input_datatype().signed()),
            "XNOR": int(xnor),
            "ACC_BITS": self.hw_acc_bits(),
            "ACT_BITS": self.act_bits(),
            "THR_BITS": self.hw_thr_bits(),
            "ACT_BIAS": int(a.ActVal) if self.has_activation() else 0,
            "WEIGHT_FILE": "weights.mem",
            "THRESH_FILE": "thresholds.mem" if self.has_activation() else "",
            "ACC_INIT_FILE": "acc_init.mem" if xnor and not self.has_activation() else "",
        }

    def rtl_memories(self):
        a = self.attrs
        bits = (self.weight_words() > 0).astype(np.int64)
        mem = {"WEIGHT_FILE": hex_lines(bits, 1, fold=a.PE * a.SIMD, signed=False)}
        if self.has_activation():
            mem["THRESH_FILE"] = threshold_memory(self.onnx_node.name, self.hw_thresholds(),
                                                  self.hw_thr_bits(), a.PE)
        elif self.xnor():
            mem["ACC_INIT_FILE"] = pack_words((-self.neg_count()).reshape(a.MH // a.PE, a.PE),
                                              self.hw_acc_bits())
        return mem

    # ----- resources -----
    def lut_estimate(self) -> float:
        """LUTs of hls/mvau_binary.v, fitted to Yosys ``synth_xilinx`` counts (xc7; XNOR 1024×64 at
        4×32 and 2048×64 at 8×64, add/subtract INT2 1024×64 at 4×16 and UINT8 288×64 at 4×9, all
        within 8 %; the 1×1 and 1×14 layers of tfc_1w1a within 16 %): per XNOR lane its share of
        the popcount tree, ``0.25 + 0.45·log2(SIMD)``; per add/subtract lane the conditional
        negation and its adder, ``2·(A+1) + log2(SIMD) + 3``; per PE the accumulator and the
        binary-search thresholds; per input lane the replay buffer. Weights in LUTRAM add 1 LUT
        per 64 bits."""
        a = self.attrs
        P, Q = a.PE, a.SIMD
        A = self.input_datatype().bitwidth()
        acc = self.hw_acc_bits()
        if self.xnor():
            lane = 0.25 + 0.45 * math.log2(Q)
        else:
            lane = 2 * (A + 1) + math.log2(Q) + 3
        thr = 0.0
        if self.has_activation():
            thr = 2 ** self.act_bits() * acc * min(1.0, self.tmem() / 32)
        c2 = 0
        if a.ram_style == "distributed" and a.mem_mode != "external":
            c2 = P * Q * math.ceil(self.wmem() / 64)
        return 60 + P * Q * lane + P * (thr + 1.2 * acc) + Q * A + c2

    def resource_estimate(self):
        a = self.attrs
        A = self.input_datatype().bitwidth()
        lane = 1 if self.xnor() else A + 1
        ff = a.PE * (a.SIMD * lane + 2 * self.hw_acc_bits()) + self.instream_width() + self.outstream_width()
        uram = 0
        if a.ram_style == "ultra" and a.mem_mode != "external":
            uram = math.ceil(a.PE * a.SIMD / 72) * math.ceil(self.wmem() / 4096)
        return Resources(lut=self.lut_estimate(), ff=float(ff), dsp=0, bram18=self.bram_estimate(), uram=uram)
