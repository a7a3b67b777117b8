"""Hardware layer instances (fpga_flow.compiler.hw classes) with random shapes and values."""

from __future__ import annotations

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import make_hw_node


def make_op(op_type: str, **attrs):
    return getCustomOp(make_hw_node(op_type, "inp", "outp", name=f"{op_type}_t", **attrs))


def rand_input(op, rng, frames: int) -> np.ndarray:
    dt = op.input_datatype()
    shape = (frames,) + tuple(op.normal_input_shape())[1:]
    return rng.integers(int(dt.min()), int(dt.max()) + 1, shape)


def _thresholds(rng, ch: int, act_bits: int, lo: int, hi: int) -> np.ndarray:
    t = rng.integers(lo - 1, hi + 2, (ch, (1 << act_bits) - 1))
    return np.sort(t, axis=1)


def mvau(rng, *, MW, MH, PE, SIMD, V=(1, 3), idt="UINT4", wdt="INT4", act_bits=4, act_bias=0, res_type="lut",
         dsp_pack=0, extreme=False, lut_mac="multiplier", ram_style="auto"):
    """``extreme``: weights only the extreme values of their datatype (and 0, ±1)."""
    wd = DataType[wdt]
    W = rng.integers(int(wd.min()), int(wd.max()) + 1, (MW, MH))
    if extreme:
        W = rng.choice(sorted({int(wd.min()), int(wd.max()), 0, 1, -1 if wd.signed() else 0}), (MW, MH))
    kw = dict(MW=MW, MH=MH, PE=PE, SIMD=SIMD, numInputVectors=list(V), inputDataType=idt,
              weightDataType=wdt, weights=W, resType=res_type, dsp_pack=dsp_pack,
              lut_mac=lut_mac, ram_style=ram_style)
    if act_bits:
        probe = make_op("MVAU", **kw)
        lo, hi = probe.acc_range()
        # thresholds concentrated where accumulators of random inputs land
        span = max(4, (hi - lo) // 4)
        mid = (hi + lo) // 2
        kw.update(thresholds=_thresholds(rng, MH, act_bits, mid - span, mid + span), ActVal=act_bias,
                  outputDataType=(f"INT{act_bits}" if act_bias < 0 else f"UINT{act_bits}"))
    return make_op("MVAU", **kw)


def swg(rng, *, H, W, C, K, S, pad, SIMD, idt="UINT4", pw=0):
    return make_op("ConvolutionInputGenerator", IFMDim=[H, W], IFMChannels=C, ConvKernelDim=list(K),
                   Stride=list(S), Padding=list(pad), SIMD=SIMD, inputDataType=idt, parallel_window=pw)


def swg_pw(rng, *, H, W, C, K, S, pad, idt="UINT4"):
    """Parallel-window SWG (hls/swg_pw.v): SIMD = C, one window per output word."""
    return swg(rng, H=H, W=W, C=C, K=K, S=S, pad=pad, SIMD=C, idt=idt, pw=1)


def maxpool(rng, *, H, W, C, K, PE, idt="UINT4"):
    return make_op("StreamingMaxPool", IFMDim=[H, W], NumChannels=C, PoolDim=K, PE=PE, inputDataType=idt)


def upsample(rng, *, H, W, C, S, PE, idt="UINT4"):
    return make_op("UpsampleNearestNeighbour", IFMDim=[H, W], NumChannels=C, Scale=S, PE=PE, inputDataType=idt)


def thresholding(rng, *, C, PE, V=(1, 4), idt="INT8", act_bits=3, act_bias=0):
    d = DataType[idt]
    T = _thresholds(rng, C, act_bits, int(d.min()), int(d.max()))
    return make_op("Thresholding", NumChannels=C, PE=PE, numInputVectors=list(V), inputDataType=idt,
                   outputDataType=(f"INT{act_bits}" if act_bias < 0 else f"UINT{act_bits}"),
                   ActVal=act_bias, thresholds=T)


def gap(rng, *, H, W, C, PE, idt="UINT4"):
    return make_op("GlobalAccPool", IFMDim=[H, W], NumChannels=C, PE=PE, inputDataType=idt)


def label_select(rng, *, L, PE, V=(1, 5), idt="INT6"):
    return make_op("LabelSelect", Labels=L, PE=PE, numInputVectors=list(V), inputDataType=idt)


def fifo(rng, *, shape, fold, depth, dtype="UINT5"):
    return make_op("StreamingFIFO", shape=list(shape), fold=fold, depth=depth, dataType=dtype)


def dwc(rng, *, shape, fin, fout, dtype="UINT3"):
    return make_op("StreamingDataWidthConverter", shape=list(shape), inFold=fin, outFold=fout, dataType=dtype)


def reference(op, x: np.ndarray) -> np.ndarray:
    """The layer class's numpy semantics, frame by frame."""
    ishape = tuple(op.normal_input_shape())
    return np.stack([np.asarray(op.execute_numpy(f.reshape(ishape))).reshape(tuple(op.normal_output_shape())[1:])
                     for f in x])


# fast set: (name, builder, kwargs); one Verilator build each
FAST = [
    ("mvau_act", mvau, dict(MW=12, MH=8, PE=2, SIMD=3, V=(1, 2, 2))),
    ("mvau_dsp_signed_in", mvau, dict(MW=6, MH=4, PE=2, SIMD=3, V=(1, 2), idt="INT4", wdt="INT3", res_type="dsp",
                                      dsp_pack=1)),
    # several products per DSP slice (hls/dsp_pack.v): ragged last group, signed input, 6 products, big tree
    ("mvau_dsp_packed", mvau, dict(MW=12, MH=8, PE=4, SIMD=3, V=(1, 2, 2), res_type="dsp")),
    ("mvau_dsp_packed_signed_in", mvau, dict(MW=6, MH=6, PE=6, SIMD=2, V=(1, 3), idt="INT4", res_type="dsp",
                                             extreme=True)),
    ("mvau_dsp_packed_w2_noact", mvau, dict(MW=8, MH=7, PE=7, SIMD=4, V=(1, 2), idt="INT2", wdt="INT2",
                                            act_bits=0, res_type="dsp", extreme=True)),
    ("mvau_dsp_packed_tree_w8", mvau, dict(MW=34, MH=4, PE=2, SIMD=17, V=(1, 2), idt="UINT8", wdt="INT8",
                                           res_type="dsp")),
    ("mvau_pipelined_tree", mvau, dict(MW=40, MH=6, PE=3, SIMD=20, V=(1, 3))),   # SIMD > 16: registered subtrees
    ("mvau_pipelined_tree_odd", mvau, dict(MW=33, MH=2, PE=1, SIMD=33, V=(1, 2), res_type="dsp")),
    # bit-plane LUT MACs: signed input (negative MSB plane), odd SIMD, registered subtrees (SIMD > 16)
    ("mvau_bitplane", mvau, dict(MW=12, MH=8, PE=2, SIMD=3, V=(1, 2, 2), lut_mac="bitplane", extreme=True)),
    ("mvau_bitplane_signed_noact", mvau, dict(MW=8, MH=4, PE=4, SIMD=4, V=(1, 2), idt="INT4", wdt="INT3",
                                              act_bits=0, lut_mac="bitplane")),
    ("mvau_bitplane_tree", mvau, dict(MW=34, MH=4, PE=2, SIMD=17, V=(1, 2), idt="INT8", wdt="INT4",
                                      lut_mac="bitplane")),
    # the weight ROM's ram_style reaches the RTL (hls/mvau.v RAM_STYLE): same semantics in every memory
    ("mvau_rom_distributed", mvau, dict(MW=12, MH=8, PE=2, SIMD=3, V=(1, 2), ram_style="distributed")),
    ("mvau_rom_block", mvau, dict(MW=12, MH=8, PE=4, SIMD=3, V=(1, 2), res_type="dsp", ram_style="block")),
    ("mvau_noact_nf1", mvau, dict(MW=8, MH=4, PE=4, SIMD=2, V=(1,), idt="INT3", wdt="INT2", act_bits=0)),
    ("swg_k3s1p1", swg, dict(H=5, W=6, C=4, K=(3, 3), S=(1, 1), pad=(1, 1, 1, 1), SIMD=2)),
    ("swg_k3s2_asym", swg, dict(H=7, W=6, C=2, K=(3, 3), S=(2, 2), pad=(0, 1, 1, 0), SIMD=1, idt="INT3")),
    ("swg_pw_k3s1p1", swg_pw, dict(H=5, W=6, C=3, K=(3, 3), S=(1, 1), pad=(1, 1, 1, 1))),
    ("swg_pw_k3s2_asym", swg_pw, dict(H=7, W=6, C=2, K=(3, 3), S=(2, 2), pad=(0, 1, 1, 0), idt="INT3")),
    ("swg_pw_k2s2p1", swg_pw, dict(H=6, W=5, C=2, K=(2, 2), S=(2, 2), pad=(1, 1, 1, 1))),
    ("swg_pw_k2s1p0", swg_pw, dict(H=5, W=4, C=3, K=(2, 2), S=(1, 1), pad=(0, 0, 0, 0), idt="INT8")),
    ("swg_pw_k3x1_w1", swg_pw, dict(H=5, W=1, C=3, K=(3, 1), S=(1, 1), pad=(1, 0, 1, 0))),  # 1-column line buffer
    ("swg_pw_k1", swg_pw, dict(H=3, W=4, C=4, K=(1, 1), S=(1, 1), pad=(0, 0, 0, 0))),
    ("maxpool", maxpool, dict(H=5, W=6, C=4, K=2, PE=2, idt="INT4")),
    ("upsample", upsample, dict(H=3, W=2, C=4, S=2, PE=2)),
    ("thresholding", thresholding, dict(C=6, PE=3, act_bias=-4)),
    ("gap", gap, dict(H=3, W=3, C=4, PE=2, idt="INT4")),
    ("label_select", label_select, dict(L=6, PE=2)),
    ("fifo", fifo, dict(shape=(1, 3, 4), fold=2, depth=5)),
    ("dwc_down", dwc, dict(shape=(1, 4, 12), fin=6, fout=2)),
    ("dwc_up", dwc, dict(shape=(1, 4, 12), fin=2, fout=4)),
    ("dwc_non_multiple", dwc, dict(shape=(1, 4, 12), fin=4, fout=6)),
]


def random_case(rng, kind: str):
    """A random legal configuration of one layer class (slow sweep)."""
    def div(n):
        return int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))

    if kind == "mvau":
        MW, MH = int(rng.integers(2, 40)), int(rng.integers(1, 24))
        act = int(rng.choice([0, 1, 2, 4]))
        return mvau(rng, MW=MW, MH=MH, PE=div(MH), SIMD=div(MW), V=(1, int(rng.integers(1, 5))),
                    idt=str(rng.choice(["UINT2", "UINT4", "INT4", "UINT8", "INT8"])),
                    wdt=str(rng.choice(["INT2", "INT4", "INT8", "UINT3"])), act_bits=act,
                    res_type=str(rng.choice(["lut", "dsp"])), extreme=bool(rng.random() < 0.3),
                    lut_mac=str(rng.choice(["multiplier", "bitplane"])),
                    act_bias=int(-(1 << (act - 1))) if act and rng.random() < 0.3 else 0)
    if kind == "swg":
        C = int(rng.integers(1, 9))
        K = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        H, W = int(rng.integers(K[0], 10)), int(rng.integers(K[1], 10))
        pad = tuple(int(rng.integers(0, min(k, 3))) for k in (K[0], K[1], K[0], K[1]))
        pad = (pad[0], pad[1], pad[2], pad[3])
        return swg(rng, H=H, W=W, C=C, K=K, S=(int(rng.integers(1, 4)), int(rng.integers(1, 4))), pad=pad,
                   SIMD=div(C), idt=str(rng.choice(["UINT4", "INT8", "UINT1"])))
    if kind == "swg_pw":
        # parallel window: padding top/left below the kernel (hls/swg_pw.v), one pixel per input word
        C = int(rng.integers(1, 9))
        K = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        H, W = int(rng.integers(K[0], 10)), int(rng.integers(K[1], 10))
        pad = tuple(int(rng.integers(0, min(k, 3))) for k in (K[0], K[1], K[0], K[1]))
        return swg_pw(rng, H=H, W=W, C=C, K=K, S=(int(rng.integers(1, 4)), int(rng.integers(1, 4))), pad=pad,
                      idt=str(rng.choice(["UINT4", "INT8", "UINT1"])))
    if kind == "maxpool":
        C, K = int(rng.integers(1, 9)), int(rng.integers(1, 4))
        return maxpool(rng, H=int(rng.integers(K, 9)), W=int(rng.integers(K, 9)), C=C, K=K, PE=div(C),
                       idt=str(rng.choice(["UINT4", "INT4", "INT8"])))
    if kind == "upsample":
        C = int(rng.integers(1, 9))
        return upsample(rng, H=int(rng.integers(1, 5)), W=int(rng.integers(1, 5)), C=C, S=int(rng.integers(1, 4)),
                        PE=div(C), idt=str(rng.choice(["UINT4", "INT3"])))
    if kind == "thresholding":
        C = int(rng.integers(1, 12))
        ab = int(rng.integers(1, 5))
        return thresholding(rng, C=C, PE=div(C), V=(1, int(rng.integers(1, 5))),
                            idt=str(rng.choice(["INT8", "UINT6", "INT12"])), act_bits=ab,
                            act_bias=-(1 << (ab - 1)) if rng.random() < 0.5 else 0)
    if kind == "gap":
        C = int(rng.integers(1, 9))
        return gap(rng, H=int(rng.integers(1, 6)), W=int(rng.integers(1, 6)), C=C, PE=div(C),
                   idt=str(rng.choice(["UINT4", "INT4", "INT8"])))
    if kind == "label_select":
        L = int(rng.integers(2, 20))
        return label_select(rng, L=L, PE=div(L), V=(1, int(rng.integers(1, 6))),
                            idt=str(rng.choice(["INT6", "UINT3", "INT16"])))
    if kind == "dwc":
        C = int(rng.choice([6, 12, 24]))
        return dwc(rng, shape=(1, 3, C), fin=div(C), fout=div(C), dtype=str(rng.choice(["UINT3", "INT5"])))
    raise KeyError(kind)


SLOW_KINDS = ["mvau", "swg", "swg_pw", "maxpool", "upsample", "thresholding", "gap", "label_select", "dwc"]
