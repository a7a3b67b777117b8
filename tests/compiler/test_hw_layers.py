"""Hardware layer classes: numpy semantics vs independent numpy, packing, cycles, qonnx execution."""

import numpy as np
import pytest
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler import hw
from fpga_flow.compiler.hw import make_single_node_model, pack_words, unpack_words
from fpga_flow.errors import FlowError

rng = np.random.default_rng(0)


def run(model, x):
    return execute_onnx(model, {"inp": x.astype(np.float32)})["outp"]


def op_of(model):
    return getCustomOp(model.graph.node[0])


def test_all_classes_exposed():
    for name in hw.HW_OP_TYPES:
        cls = getattr(hw, name)
        assert issubclass(cls, hw.HWCustomOp) and cls.rtl_module


@pytest.mark.parametrize("act", [True, False])
def test_mvau_matches_matmul_threshold(act):
    MW, MH = 12, 8
    W = rng.integers(-7, 8, (MW, MH))
    T = np.sort(rng.integers(-60, 60, (MH, 15)), axis=1) if act else None
    kw = dict(MW=MW, MH=MH, PE=4, SIMD=3, numInputVectors=[1, 3, 2], inputDataType="INT4",
              weightDataType="INT4", outputDataType="INT4", ActVal=-8, weights=W)
    if act:
        kw["thresholds"] = T
    m = make_single_node_model("MVAU", **kw)
    x = rng.integers(-8, 8, (1, 3, 2, MW))
    y = run(m, x)
    acc = x.reshape(-1, MW) @ W
    if act:
        ref = -8 + np.array([[sum(int(a[c] >= t) for t in T[c]) for c in range(MH)] for a in acc])
    else:
        ref = acc
    np.testing.assert_array_equal(y.reshape(-1, MH), ref)
    op = op_of(m)
    assert op.exp_cycles() == (MH // 4) * (MW // 3) * 6
    p = op.rtl_parameters()
    assert p["ACT_BITS"] == (4 if act else 0)
    lo, hi = op.acc_range()
    assert -(2 ** (p["ACC_BITS"] - 1)) <= lo and hi < 2 ** (p["ACC_BITS"] - 1)
    assert op.instream_width() == 3 * 4 and op.folded_input_shape() == (1, 3, 2, 4, 3)
    if not act:
        assert op.output_datatype().name == f"INT{p['ACC_BITS']}"


def test_mvau_weight_and_threshold_files_layout():
    MW, MH, PE, SIMD = 6, 4, 2, 3
    W = rng.integers(-8, 8, (MW, MH))
    T = np.sort(rng.integers(-100, 100, (MH, 3)), axis=1)
    m = make_single_node_model("MVAU", MW=MW, MH=MH, PE=PE, SIMD=SIMD, inputDataType="UINT2",
                               weightDataType="INT4", outputDataType="UINT2", weights=W, thresholds=T)
    op = op_of(m)
    mem = op.rtl_memories()
    wl = mem["WEIGHT_FILE"]
    NF, SF = MH // PE, MW // SIMD
    assert len(wl) == NF * SF
    words = unpack_words(wl, PE * SIMD, 4, signed=True)
    for nf in range(NF):
        for sf in range(SF):
            for pe in range(PE):
                for s in range(SIMD):
                    assert words[nf * SF + sf, pe * SIMD + s] == W[sf * SIMD + s, nf * PE + pe]
    tb = op.rtl_parameters()["THR_BITS"]
    tw = unpack_words(mem["THRESH_FILE"], PE * 3, tb, signed=True)
    for nf in range(NF):
        for pe in range(PE):
            for t in range(3):
                assert tw[nf, pe * 3 + t] == T[nf * PE + pe, t]


def test_unsorted_thresholds_rejected_before_rtl():
    """hls/thresh_core.v binary-searches the thresholds: a descending row must not reach a memory file."""
    T = np.array([[1, 5, 9], [4, 2, 7]])
    m = make_single_node_model("Thresholding", NumChannels=2, PE=1, inputDataType="INT8",
                               outputDataType="UINT2", thresholds=T)
    with pytest.raises(FlowError, match=r"Thresholding_0: thresholds of channel 1 are not ascending"):
        op_of(m).rtl_memories()


def test_pack_roundtrip_and_lsb_first():
    a = rng.integers(-8, 8, (5, 7))
    lines = pack_words(a, 4)
    assert all(len(s) == 7 for s in lines)  # 28 bits -> 7 hex chars
    np.testing.assert_array_equal(unpack_words(lines, 7, 4, signed=True), a)
    assert pack_words(np.array([[1, 2]]), 4) == ["21"]  # element 0 in the LSBs
    assert pack_words(np.array([[-1, 0]]), 4) == ["0f"]


def im2col_ref(x, k, s, pad):
    """Independent loop im2col, order (kh, kw, c)."""
    _, H, W, C = x.shape
    pt, pl, pb, pr = pad
    oh = (H + pt + pb - k[0]) // s[0] + 1
    ow = (W + pl + pr - k[1]) // s[1] + 1
    out = np.zeros((1, oh, ow, k[0] * k[1] * C), dtype=x.dtype)
    for oy in range(oh):
        for ox in range(ow):
            i = 0
            for kh in range(k[0]):
                for kw in range(k[1]):
                    for c in range(C):
                        yy, xx = oy * s[0] + kh - pt, ox * s[1] + kw - pl
                        out[0, oy, ox, i] = x[0, yy, xx, c] if 0 <= yy < H and 0 <= xx < W else 0
                        i += 1
    return out


@pytest.mark.parametrize("k,s,pad,hw", [((3, 3), (1, 1), (1, 1, 1, 1), (5, 6)),
                                        ((2, 2), (2, 2), (0, 0, 0, 0), (4, 4)),
                                        ((3, 3), (2, 2), (1, 0, 0, 1), (7, 5)),
                                        ((1, 1), (1, 1), (0, 0, 0, 0), (3, 3))])
def test_swg_matches_loop_im2col(k, s, pad, hw):
    C = 4
    m = make_single_node_model("ConvolutionInputGenerator", IFMDim=list(hw), IFMChannels=C,
                               ConvKernelDim=list(k), Stride=list(s), Padding=list(pad), SIMD=2,
                               inputDataType="INT4")
    x = rng.integers(-8, 8, (1, *hw, C))
    np.testing.assert_array_equal(run(m, x), im2col_ref(x, k, s, pad))
    op = op_of(m)
    p = op.rtl_parameters()
    assert p["PAD_T"] == pad[0] and p["PAD_R"] == pad[3] and p["SIMD"] == 2
    # the cycle model belongs to the hardware developer (matched to hls/swg.v); here only its
    # invariants: at least one cycle per output word, and more SIMD is never slower
    _, oh, ow, _ = op.normal_output_shape()
    c2 = op.exp_cycles()
    assert c2 >= oh * ow * k[0] * k[1] * (C // 2)
    op.set_nodeattr("SIMD", 1)
    assert op.exp_cycles() >= c2


def test_maxpool_floor_and_signed():
    m = make_single_node_model("StreamingMaxPool", IFMDim=[5, 7], NumChannels=6, PoolDim=2, PE=3,
                               inputDataType="INT4")
    x = rng.integers(-8, 8, (1, 5, 7, 6))
    y = run(m, x)
    assert y.shape == (1, 2, 3, 6)
    for oy in range(2):
        for ox in range(3):
            np.testing.assert_array_equal(y[0, oy, ox], x[0, 2 * oy:2 * oy + 2, 2 * ox:2 * ox + 2].max(axis=(0, 1)))
    op = op_of(m)
    assert op.exp_cycles() == 5 * 7 * 6 // 3 and op.rtl_parameters()["SIGNED"] == 1


def test_upsample():
    m = make_single_node_model("UpsampleNearestNeighbour", IFMDim=[2, 3], NumChannels=4, Scale=3,
                               PE=2, inputDataType="UINT4")
    x = rng.integers(0, 16, (1, 2, 3, 4))
    y = run(m, x)
    for yy in range(6):
        for xx in range(9):
            np.testing.assert_array_equal(y[0, yy, xx], x[0, yy // 3, xx // 3])
    assert op_of(m).exp_cycles() == 6 * 9 * 4 // 2


def test_global_acc_pool():
    m = make_single_node_model("GlobalAccPool", IFMDim=[3, 5], NumChannels=4, PE=2, inputDataType="UINT4")
    x = rng.integers(0, 16, (1, 3, 5, 4))
    np.testing.assert_array_equal(run(m, x).reshape(4), x.sum(axis=(0, 1, 2)))
    op = op_of(m)
    assert op.rtl_parameters()["OUT_BITS"] == 4 + 4 and op.output_datatype().name == "UINT8"
    assert op.exp_cycles() == 15 * 2 + 2


def test_label_select_ties_lowest():
    m = make_single_node_model("LabelSelect", Labels=4, PE=2, numInputVectors=[1, 2, 2], inputDataType="INT8")
    x = np.array([[[[1, 5, 5, 0], [3, 3, 3, 3]], [[-1, -2, -1, -5], [0, 0, 9, 9]]]])
    y = run(m, x)
    np.testing.assert_array_equal(y[..., 0], [[[1, 0], [0, 2]]])
    op = op_of(m)
    assert op.output_datatype().name == "UINT2" and op.exp_cycles() == 4 * 4 // 2


def test_thresholding():
    T = np.sort(rng.integers(-20, 20, (6, 3)), axis=1)
    m = make_single_node_model("Thresholding", NumChannels=6, PE=3, numInputVectors=[1, 2, 2],
                               inputDataType="INT8", outputDataType="INT2", ActVal=-2, thresholds=T)
    x = rng.integers(-30, 30, (1, 2, 2, 6))
    ref = -2 + (x[..., None] >= T).sum(-1)
    np.testing.assert_array_equal(run(m, x), ref)
    lines = op_of(m).rtl_memories()["THRESH_FILE"]
    assert len(lines) == 2


def test_fifo_dwc_identity():
    m = make_single_node_model("StreamingDataWidthConverter", shape=[1, 2, 2, 8], inFold=2, outFold=8,
                               dataType="UINT4")
    x = rng.integers(0, 16, (1, 2, 2, 8))
    np.testing.assert_array_equal(run(m, x), x)
    assert op_of(m).rtl_parameters() == {"IN_WIDTH": 8, "OUT_WIDTH": 32, "NUM_IN_WORDS": 16}
    f = make_single_node_model("StreamingFIFO", shape=[1, 8], fold=4, depth=32, dataType="INT3")
    assert op_of(f).rtl_parameters() == {"WIDTH": 12, "DEPTH": 32, "RAM_STYLE": "auto"}


def test_fifo_ram_style_keeps_wide_shallow_fifos_out_of_bram():
    from fpga_flow.compiler.hw.stream import fifo_ram_style

    assert fifo_ram_style(384, 141) == "distributed"   # 11 BRAM18 at 27 % full
    assert fifo_ram_style(36, 4096) == "auto"         # 8 BRAM18, full
    assert fifo_ram_style(96, 1024) == "auto"         # 98 kbit: too big for LUTRAM
    assert fifo_ram_style(8, 32) == "auto"            # SRL/LUTRAM anyway


def test_mvau_resource_model():
    # MW=MH=64, PE=SIMD=4, W=A=4 (unsigned input): omega=256, m=64 -> ceil(256/512)*ceil(64/36)=2
    W = rng.integers(-8, 8, (64, 64))
    m = make_single_node_model("MVAU", MW=64, MH=64, PE=4, SIMD=4, inputDataType="UINT4",
                               weightDataType="INT4", weights=W)
    r = op_of(m).resource_estimate()
    assert r.bram18 == 2
    # LUTs model hls/mvau.v (tests/synth checks them against Yosys): multipliers on DSPs save LUTs,
    # and doubling SIMD costs about one more set of multipliers + tree leaves
    op = op_of(m)
    lut_4x4 = r.lut
    op.set_nodeattr("resType", "dsp")
    op.set_nodeattr("dsp_pack", 1)  # one product per DSP slice
    assert op.resource_estimate().lut < lut_4x4 - 4 * 4 * 20
    assert op.resource_estimate().dsp == 16
    # W4A4: 3 products per slice (hls/dsp_pack.v), PE 4 -> groups of 3 and 1; the lone PE's products
    # are small multipliers that Yosys maps to LUTs: 1 slice per lane
    op.set_nodeattr("dsp_pack", 0)
    assert op.products_per_dsp() == 3 and op.resource_estimate().dsp == 1 * 4
    assert op.rtl_parameters()["DSP_PACK"] == 3
    op.set_nodeattr("dsp_pack", 4)
    assert op.check_folding() == ["dsp_pack=4 exceeds the 3 products of W4A4 per DSP slice"]
    op.set_nodeattr("dsp_pack", 0)
    op.set_nodeattr("resType", "lut")
    assert op.products_per_dsp() == 0 and op.resource_estimate().dsp == 0
    op.set_nodeattr("SIMD", 8)
    assert 4 * 4 * 30 < op.resource_estimate().lut - lut_4x4 < 4 * 4 * 60


def test_max_dsp_pack_fits_the_dsp48_ports():
    """K offset weights in fields of W+A bits, (K-1)(W+A) + W + 1 <= 25 (A port), A + 1 <= 18 (B port)."""
    from fpga_flow.compiler.hw.mvau import max_dsp_pack

    assert [max_dsp_pack(w, a) for w, a in ((4, 4), (8, 8), (2, 2), (4, 8), (3, 3), (1, 1))] == [3, 2, 6, 2, 4, 12]
    assert max_dsp_pack(4, 17) == 1 and max_dsp_pack(24, 2) == 1  # input or weight too wide to pack
    for w in range(1, 12):
        for a in range(1, 17):
            k = max_dsp_pack(w, a)
            assert k == 1 or (k - 1) * (w + a) + w + 1 <= 25 < k * (w + a) + w + 1
