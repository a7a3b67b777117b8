"""MVAU: matrix-vector-activation unit (hls/SPEC.md §MVAU)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import (HWCustomOp, bram18_count, bram18_layout, carried_weight_bits, Resources, multithreshold_count,
                   pack_words, signed_bits_for_range, threshold_memory)

# DSP48E1 multiplier ports (signed): A 25 bits, B 18 bits. DSP48E2's A is 27 bits; the packing uses
# 25 on both families (27 would add a product only at <= 2-bit operands).
DSP_A_BITS = 25
DSP_B_BITS = 18
LUT_MACS = ("multiplier", "bitplane")
# rom_width counts the ROM's constant columns only up to this depth (a few ms per folding)
ROM_COLUMNS_MAX_DEPTH = 64
# coefficients of MVAU.lut_terms (LUTs per unit of each term), fitted to Yosys (see lut_estimate;
# benchmarks/mvau_lut_refit.py on vgg16-pruned 32x32 and vgg16-hcr 224x224 and the mvau_lut_model grid)
LUT_FIT = {"const": 0.0, "mult": 0.482, "tree": 0.762, "bitplane": 1.402, "bitplane_pe": 0.0, "acc": 3.278,
           "lanes": 0.217, "replay": 2.361, "thresholds": 1.294, "thresholds_shallow": 1.543, "lutrom": 0.977,
           "rom_mux": 0.42, "packing": 0.308, "packing_signed": 1.914}


@functools.lru_cache(maxsize=None)
def datatype(name: str) -> DataType:
    """``DataType[name]``, memoised (the folding search asks for it in its inner loops)."""
    return DataType[name]


def max_dsp_pack(w_bits: int, in_bits: int, a_bits: int = DSP_A_BITS, b_bits: int = DSP_B_BITS) -> int:
    """Products of one DSP slice in hls/dsp_pack.v: K offset (unsigned) weights in fields of
    S = w_bits + in_bits bits of the A operand, (K-1)·S + w_bits + 1 <= a_bits, the input on B
    (signed or unsigned, in_bits + 1 <= b_bits). 1 when nothing packs (or the input is too wide)."""
    if in_bits + 1 > b_bits or w_bits + 1 > a_bits:
        return 1
    return max(1, (a_bits - 1 - w_bits) // (w_bits + in_bits) + 1)


@dataclass
class MVAUAttrs:
    MW: int
    MH: int
    PE: int = 1
    SIMD: int = 1
    # vectors per frame as FINN's numInputVectors, e.g. [1, H, W] for a conv, [1] for a FC layer
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    inputDataType: str = "UINT8"
    weightDataType: str = "INT8"
    outputDataType: str = "UINT4"  # ignored when no thresholds (output = accumulator)
    # ACT_BIAS of SPEC (FINN's ActVal)
    ActVal: int = 0
    # weights W[i, c] (MW × MH), integers
    weights: np.ndarray = None  # type: ignore[assignment]
    # thresholds T[c, t] (MH × N_THR), N_THR = 2^ACT_BITS - 1; empty = no activation
    thresholds: np.ndarray = None  # type: ignore[assignment]
    # internal_decoupled (weights on chip) | external (streamed from DRAM)
    mem_mode: str = "internal_decoupled"
    # mem_mode=external: DRAM bytes per cycle granted to this layer's weight stream, as the ratio
    # ext_bw_num / ext_bw_den (0: an ideal stream); set by compiler.transforms.dram.ShareDramBandwidth
    ext_bw_num: int = 0
    ext_bw_den: int = 1
    ram_style: str = "auto"
    resType: str = "lut"
    # products per DSP slice with resType=dsp (hls/dsp_pack.v): 0 = as many as the widths allow
    # (max_dsp_pack), 1 = one product per slice
    dsp_pack: int = 0
    # MACs on LUTs (resType=lut): "multiplier" (a W×A multiplier per product, then the adder tree) or
    # "bitplane" (per input bit an adder tree of AND-gated weights, hls/mvau.v LUT_BITPLANE)
    lut_mac: str = "multiplier"


class MVAU(HWCustomOp):
    """``acc[c] = Σ_i x[i]·W[i,c]``, then ``out = ACT_BIAS + Σ_t [acc >= T[c,t]]``.

    Decisions where SPEC.md is silent:
    * ``ACC_BITS`` = signed bits of the exact accumulator range for this weight matrix and input
      datatype (FINN's minimize_accumulator_width); ``THR_BITS`` = signed bits covering the
      thresholds (which the compiler clips to ``[acc_min, acc_max + 1]``). Both >= 2.
    * The input tensor may have any shape with ``prod == V·MW`` (a Flatten in front of a FC
      layer is a pure reinterpretation of the NHWC stream); the output is ``numInputVectors + [MH]``.
    * Weights of datatype UINTn are carried as ``W_BITS = n+1`` signed bits.
    """

    Attrs = MVAUAttrs
    rtl_module = "mvau"

    # ----- shapes / types -----
    def V(self) -> int:
        return int(np.prod(self.get_nodeattr("numInputVectors")))

    def normal_input_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.get_nodeattr("MW"),)

    def normal_output_shape(self):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.get_nodeattr("MH"),)

    def in_fold(self):
        return self.get_nodeattr("SIMD")

    def out_fold(self):
        return self.get_nodeattr("PE")

    def W(self) -> np.ndarray:
        c = self.__dict__.setdefault("_cache", {})
        if "W" not in c:
            c["W"] = np.asarray(self.get_nodeattr("weights")).astype(np.int64)
        return c["W"]

    def set_nodeattr(self, name, value):
        if name in ("weights", "thresholds", "inputDataType", "weightDataType"):
            self.__dict__.get("_cache", {}).clear()
        super().set_nodeattr(name, value)

    def T(self) -> np.ndarray | None:
        c = self.__dict__.setdefault("_cache", {})
        if "T" not in c:
            t = np.asarray(self.get_nodeattr("thresholds"))
            c["T"] = None if t.size == 0 else t.astype(np.int64)
        return c["T"]

    def has_activation(self) -> bool:
        return self.T() is not None

    def act_bits(self) -> int:
        t = self.T()
        return 0 if t is None else int(round(math.log2(t.shape[1] + 1)))

    def input_datatype(self):
        return datatype(self.get_nodeattr("inputDataType"))

    def weight_bits(self) -> int:
        return carried_weight_bits(self.get_nodeattr("weightDataType"))

    def acc_range(self) -> tuple[int, int]:
        c = self.__dict__.setdefault("_cache", {})
        key = ("acc", self.get_nodeattr("inputDataType"))
        if key not in c:
            c[key] = self._acc_range()
        return c[key]

    def _acc_range(self) -> tuple[int, int]:
        W = self.W()
        idt = self.input_datatype()
        lo_i, hi_i = int(idt.min()), int(idt.max())
        pos = np.where(W > 0, W, 0).sum(axis=0)
        neg = np.where(W < 0, W, 0).sum(axis=0)
        hi = pos * hi_i + neg * lo_i
        lo = pos * lo_i + neg * hi_i
        return int(lo.min()), int(hi.max())

    def acc_bits(self) -> int:
        lo, hi = self.acc_range()
        return max(2, signed_bits_for_range(lo, hi))

    def thr_bits(self) -> int:
        t = self.T()
        if t is None:
            return self.acc_bits()
        return max(2, signed_bits_for_range(int(t.min()), int(t.max())))

    def output_datatype(self):
        if not self.has_activation():
            return DataType[f"INT{self.acc_bits()}"]
        return DataType[self.get_nodeattr("outputDataType")]

    def products_per_dsp(self) -> int:
        """K of hls/dsp_pack.v (1 = unpacked); 0 when the multipliers are in LUTs."""
        if self.get_nodeattr("resType") != "dsp":
            return 0
        k_max = max_dsp_pack(self.weight_bits(), self.input_datatype().bitwidth())
        k = self.get_nodeattr("dsp_pack")
        return max(1, min(self.get_nodeattr("PE"), k_max if k <= 0 else min(k, k_max)))

    def dsp_count(self) -> int:
        """DSP slices: one per K PEs and lane; a last group of a single PE is a small multiplier,
        which Yosys maps to LUTs (vgg16-pruned MVAU_1, PE 16 at K = 3: 45 slices, not 54)."""
        k = self.products_per_dsp()
        if k == 0:
            return 0
        a = self.attrs
        groups = a.PE // k + (1 if a.PE % k >= 2 else 0)
        return groups * a.SIMD

    def check_folding(self):
        a = self.attrs
        errs = []
        if a.lut_mac not in LUT_MACS:
            errs.append(f"lut_mac={a.lut_mac!r} is not one of {', '.join(LUT_MACS)}")
        k_max = max_dsp_pack(self.weight_bits(), self.input_datatype().bitwidth())
        if a.resType == "dsp" and a.dsp_pack > k_max:
            errs.append(f"dsp_pack={a.dsp_pack} exceeds the {k_max} products of W{self.weight_bits()}"
                        f"A{self.input_datatype().bitwidth()} per DSP slice")
        if a.MW % a.SIMD:
            errs.append(f"MW={a.MW} not divisible by SIMD={a.SIMD}")
        if a.MH % a.PE:
            errs.append(f"MH={a.MH} not divisible by PE={a.PE}")
        return errs

    # ----- semantics -----
    def execute_numpy(self, x):
        mw = self.get_nodeattr("MW")
        # float64 BLAS matmul: exact for integer sums below 2^53 (checked), far faster than int64
        xf = np.asarray(x, dtype=np.float64).reshape(-1, mw)
        lo, hi = self.acc_range()
        assert max(abs(lo), abs(hi)) < 2**53
        acc = np.rint(xf @ self.W().astype(np.float64)).astype(np.int64)
        t = self.T()
        if t is not None:
            acc = self.get_nodeattr("ActVal") + multithreshold_count(acc, t)
        return acc.reshape(self.normal_output_shape())

    # ----- performance -----
    def exp_cycles(self):
        """One weight word (PE·SIMD weights) per cycle; a streamed layer also waits for its share of
        the DRAM bandwidth: ceil(words · bytes per word / bytes per cycle)."""
        a = self.attrs
        words = (a.MH // a.PE) * (a.MW // a.SIMD) * self.V()
        if a.mem_mode != "external" or a.ext_bw_num <= 0:
            return words
        return max(words, -(-words * self.weight_word_bytes() * a.ext_bw_den // a.ext_bw_num))

    def weight_word_bytes(self) -> int:
        """Bytes of one weight word on the DMA stream (the AXI-stream width is a multiple of 8 bits)."""
        a = self.attrs
        return -(-a.PE * a.SIMD * self.weight_bits() // 8)

    def weight_stream_bytes(self) -> int:
        """DRAM bytes a streamed layer reads per frame (its weights, once per input vector)."""
        a = self.attrs
        return (a.MH // a.PE) * (a.MW // a.SIMD) * self.V() * self.weight_word_bytes()

    def wmem(self) -> int:
        a = self.attrs
        return (a.MW * a.MH) // (a.PE * a.SIMD)

    def tmem(self) -> int:
        return self.get_nodeattr("MH") // self.get_nodeattr("PE")

    def weight_bits_total(self) -> int:
        a = self.attrs
        n = a.MW * a.MH * self.weight_bits()
        if self.has_activation():
            n += a.MH * self.T().shape[1] * self.thr_bits()
        return n

    def bram_estimate(self) -> int:
        """BRAM18 of the weight ROM (a WMEM-deep memory of PE·SIMD·W_BITS-bit words, hls/mvau_ctrl.v):
        the best single RAMB18 aspect ratio, replicated over width and depth (``bram18_count``), which
        is what Yosys ``synth_xilinx`` maps (tests/synth/test_rom_bram.py). FINN's table (finn-notes §3)
        takes 1024x18 for every ROM deeper than 512 (36x1500: 4 where 3 suffice). 0 for weights in
        LUTs, URAM or DRAM, and FINN's embedded ROMs of <= 128 words."""
        a = self.attrs
        if a.mem_mode == "external" or a.ram_style in ("distributed", "ultra"):
            return 0
        if a.mem_mode == "internal_embedded" and self.wmem() <= 128:
            return 0
        return bram18_count(self.rom_width(), self.wmem())

    def rom_width(self) -> int:
        """Bits of the weight word that differ between the ROM's words: Yosys drops a ROM column that is
        the same in every word (a constant), so a one-word ROM (WMEM = 1) is no memory at all and
        pruned channels narrow it (vgg16-pruned 32x32: MVAU_0/1 one word deep, 0 BRAM18 where the full
        width gives 48 and 64; MVAU_2, 4 words: 499 of 576 bits vary, 14 BRAM18). Counted for ROMs of
        at most ``ROM_COLUMNS_MAX_DEPTH`` words; deeper ones have all columns varying in practice."""
        a = self.attrs
        full = a.PE * a.SIMD * self.weight_bits()
        if self.wmem() > ROM_COLUMNS_MAX_DEPTH:
            return full
        c = self.__dict__.setdefault("_cache", {})
        key = ("romw", a.PE, a.SIMD)
        if key not in c:
            wb = self.weight_bits()
            words = self.weight_words() & ((1 << wb) - 1)
            bits = (words[:, :, None] >> np.arange(wb)) & 1
            c[key] = int((bits.min(axis=0) != bits.max(axis=0)).sum())
        return c[key]

    def weight_bit_density(self) -> float:
        """Share of one bits in the weights (W_BITS-bit two's complement); the LUT MACs of constant
        weights (a one-word ROM) cost about this share of those of variable ones."""
        c = self.__dict__.setdefault("_cache", {})
        if "dens" not in c:
            wb = self.weight_bits()
            u = self.W() & ((1 << wb) - 1)
            ones = sum(int(((u >> b) & 1).sum()) for b in range(wb))
            c["dens"] = ones / max(1, u.size * wb)
        return c["dens"]

    def threshold_variety(self) -> float:
        """0 when every output channel has the same thresholds, 1 when all differ: Yosys folds a
        threshold ROM whose rows are equal into constants (untrained BatchNorm, random weights), so
        the per-PE threshold memory and multiplexers cost LUTs only as far as the rows differ."""
        t = self.T()
        if t is None or t.shape[0] < 2:
            return 0.0
        c = self.__dict__.setdefault("_cache", {})
        if "tvar" not in c:
            c["tvar"] = (len(np.unique(t, axis=0)) - 1) / (t.shape[0] - 1)
        return c["tvar"]

    def threshold_rom_columns(self) -> int:
        """Bits of hls/mvau.v's threshold word (PE·N_THR·THR_BITS, one word per channel fold) that differ
        between its NF words: Yosys folds a constant column into the search logic (untrained BatchNorm
        with every channel alike, clipped thresholds, one-word ROMs)."""
        t = self.T()
        if t is None:
            return 0
        a = self.attrs
        c = self.__dict__.setdefault("_cache", {})
        key = ("thrw", a.PE)
        if key not in c:
            tb = self.thr_bits()
            u = t.reshape(a.MH // a.PE, -1) & ((1 << tb) - 1)
            bits = (u[:, :, None] >> np.arange(tb)) & 1
            c[key] = int((bits.min(axis=0) != bits.max(axis=0)).sum())
        return c[key]

    def lut_terms(self) -> dict[str, float]:
        """The LUT model's terms before their LUT_FIT coefficients (see lut_estimate)."""
        a = self.attrs
        P, Q, W = a.PE, a.SIMD, self.weight_bits()
        A = self.input_datatype().bitwidth()
        lg = math.log2(Q)
        k = self.products_per_dsp()
        on_lut = a.resType != "dsp"
        bitplane = on_lut and a.lut_mac == "bitplane"
        pw = W + A + (0 if on_lut else 1)  # product width (hls/mvau.v PW)
        n_thr = 2 ** self.act_bits() - 1 if self.has_activation() else 0
        NF, SF = a.MH // P, a.MW // Q
        on_chip = a.mem_mode != "external"
        # a one-word ROM is constants: the LUT MACs shrink to the weights' one bits
        dens = self.weight_bit_density() if on_chip and self.wmem() == 1 else 1.0
        mult_products = P * Q if on_lut and not bitplane else 0
        if k > 1 and P % k == 1:  # the lone last PE of a packed layer: LUT multipliers (dsp_count)
            mult_products += Q
        thr = self.threshold_rom_columns()
        rom_w = self.rom_width() if on_chip else 0
        n_bram, stack = bram18_layout(rom_w, self.wmem()) if self.bram_estimate() else (0, 0)
        return {
            "const": 1.0,
            "mult": mult_products * (W * A) ** 1.4 * dens,
            "tree": 0.0 if bitplane else P * Q * (pw + lg),
            "bitplane": P * Q * A * (W + 1) * dens if bitplane else 0.0,
            "bitplane_pe": P * A * (pw + lg) if bitplane else 0.0,  # the planes' shifted sum
            "acc": P * self.acc_bits(),
            "lanes": Q * A,  # input register and the replay multiplexer
            # the replay buffer (SF words of SIMD·A bits, none when NF = 1): RAM32M (32 words x 6 bits in
            # 4 LUTs) up to 32 words, else RAM64M (64 x 3) per 64 words
            "replay": Q * A * (2 / 3 if SF <= 32 else 4 / 3 * math.ceil(SF / 64)) if NF > 1 else 0.0,
            # per PE and threshold a comparator and its ROM column (as far as the channels' thresholds
            # differ); a ROM of <= 2 words (NF <= 2) merges into the comparators' LUTs
            "thresholds": thr if NF > 2 else 0.0,
            "thresholds_shallow": thr if NF <= 2 else 0.0,
            # a LUT6 per 64 words and bit; deeper than 256 words (a LUT6 + MUXF7/F8 tree) the depth
            # multiplexer takes LUTs too: Yosys on mvau_ctrl's ROM, 1.25-1.37x the LUT6 count at 512 to 2,304
            # words (36 bits x 1,024 words: 720 LUTs for 576 LUT6; benchmarks/results/lutrom-yosys.jsonl)
            "lutrom": (rom_w * math.ceil(self.wmem() / 64) * (1.3 if self.wmem() > 256 else 1.0)
                       if a.ram_style == "distributed" and on_chip else 0.0),
            # a ROM in BRAM deeper than one primitive: a (stack)-to-1 read multiplexer per bit
            "rom_mux": rom_w * (stack - 1) if n_bram else 0.0,
            "packing": Q * (A + 1 + lg) + P * (pw + lg) if k > 1 else 0.0,
            "packing_signed": ((P - math.ceil(P / k)) * Q * (W + A + 1)
                               if k > 1 and self.input_datatype().signed() else 0.0),
        }

    def lut_estimate(self) -> float:
        """LUTs of hls/mvau.v: Σ LUT_FIT[term] · lut_terms()[term], the coefficients a least-squares
        fit (relative error) to Yosys ``synth_xilinx`` counts of the MVAUs of two synthesized builds
        (vgg16-pruned 32x32, vgg16-hcr 224x224) and, at half weight, a grid of W4A4/W8A8 MVAUs with
        random weights (benchmarks/mvau_lut_refit.py, benchmarks/mvau_lut_model.py). Terms: per LUT
        multiplier (W·A)^1.4; per product its adder-tree leaf (PW + log2 SIMD bits) or, for bit-plane
        MACs, A planes of W+1-bit leaves (both scaled by the weights' one bits when a one-word ROM makes
        them constants); per PE the accumulator; the threshold ROM's varying columns (with their search
        multiplexers); the replay buffer in LUTRAM; weights in LUTs (ram_style=distributed: a ROM of
        logic, about one LUT per 64 bits, 1.3 deeper than 256 words) or, in BRAMs stacked in depth,
        their read multiplexer; for packed DSPs the shared input-sum tree and one subtractor per PE,
        and for signed inputs the borrow fix of every field but the lowest of each slice."""
        t = self.lut_terms()
        return sum(LUT_FIT[k] * v for k, v in t.items())

    def resource_estimate(self):
        a = self.attrs
        W = self.weight_bits()
        # FF: pipeline registers of the MAC tree + accumulators + stream registers (simple model)
        ff = a.PE * (a.SIMD * (W + self.input_datatype().bitwidth()) + 2 * self.acc_bits()) + \
            self.instream_width() + self.outstream_width()
        uram = 0
        if a.ram_style == "ultra" and a.mem_mode != "external":  # FINN: ceil(m/72)·ceil(ω/4096)
            m = a.PE * a.SIMD * W
            uram = math.ceil(m / 72) * math.ceil(self.wmem() / 4096)
        return Resources(lut=self.lut_estimate(), ff=float(ff), dsp=self.dsp_count(), bram18=self.bram_estimate(),
                         uram=uram)

    # ----- RTL -----
    def rtl_parameters(self):
        a = self.attrs
        return {
            "MW": a.MW, "MH": a.MH, "PE": a.PE, "SIMD": a.SIMD,
            "IN_BITS": self.input_datatype().bitwidth(),
            "IN_SIGNED": int(self.input_datatype().signed()),
            "W_BITS": self.weight_bits(),
            "ACC_BITS": self.acc_bits(),
            "ACT_BITS": self.act_bits(),
            "THR_BITS": self.thr_bits(),
            "ACT_BIAS": int(a.ActVal) if self.has_activation() else 0,
            "WEIGHT_FILE": "weights.mem",
            "THRESH_FILE": "thresholds.mem" if self.has_activation() else "",
            "RES_DSP": int(a.resType == "dsp"),
            "DSP_PACK": max(1, self.products_per_dsp()),
            "LUT_BITPLANE": int(a.resType != "dsp" and a.lut_mac == "bitplane"),
            # the memory the resource model counts: LUTRAM for distributed, else BRAM (Yosys left to
            # itself turns small ROMs into logic, which the model does not count)
            "RAM_STYLE": "distributed" if a.ram_style == "distributed" else "block",
        }

    def weight_words(self) -> np.ndarray:
        """(NF·SF) × (PE·SIMD) array: row nf·SF+sf, element pe·SIMD+s = W[sf·SIMD+s, nf·PE+pe]."""
        a = self.attrs
        W = self.W()
        NF, SF = a.MH // a.PE, a.MW // a.SIMD
        # W[sf, s, nf, pe] -> [nf, sf, pe, s]
        w4 = W.reshape(SF, a.SIMD, NF, a.PE).transpose(2, 0, 3, 1)
        return w4.reshape(NF * SF, a.PE * a.SIMD)

    def rtl_memories(self):
        mem = {"WEIGHT_FILE": pack_words(self.weight_words(), self.weight_bits())}
        if self.has_activation():
            mem["THRESH_FILE"] = threshold_memory(self.onnx_node.name, self.T(), self.thr_bits(), self.attrs.PE)
        return mem
