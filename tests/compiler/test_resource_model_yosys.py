"""The layers' resource estimates against recorded Yosys ``synth_xilinx`` counts (Yosys 0.23, per layer out
of context) of two synthesized builds: vgg16-hcr at 224x224 and vgg16-pruned at 32x32 on Pynq-Z2
(benchmarks/resource_model_vs_yosys.py, benchmarks/results/resource-model-vs-yosys.json). BRAM18 and DSP
exactly, LUTs within 25 %. No synthesis here: the shapes are rebuilt and the recorded counts asserted."""

from __future__ import annotations

import numpy as np
import pytest

from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.hw.mvau import MVAU
from fpga_flow.compiler.hw.pool import StreamingMaxPool
from fpga_flow.compiler.hw.stream import StreamingDataWidthConverter, StreamingFIFO
from fpga_flow.compiler.hw.swg import ConvolutionInputGenerator


def _swg(hw, ch, simd, bits=4, ram_style="distributed"):
    return ConvolutionInputGenerator(make_hw_node(
        "ConvolutionInputGenerator", "x", "y", IFMDim=[hw, hw], IFMChannels=ch, ConvKernelDim=[3, 3],
        Stride=[1, 1], Padding=[1, 1, 1, 1], SIMD=simd, inputDataType=f"UINT{bits}", ram_style=ram_style))


# (IFM, CH, SIMD, bits) -> Yosys LUT, BRAM18, DSP48 of hls/swg.v; the fold had set ram_style=distributed
# on most of them, which swg.v has no parameter for: Yosys takes BRAM all the same
@pytest.mark.parametrize("hw,ch,simd,bits,lut,bram,dsp", [
    (224, 3, 3, 8, 294, 1, 1),     # ConvolutionInputGenerator_0: ry * 224 in a DSP
    (56, 24, 1, 4, 257, 1, 3),     # _4: ry * 56 and both pa * 24 (AW 12 bits)
    (56, 96, 3, 4, 259, 3, 1),     # _6: CF = 32 is a shift
    (28, 96, 1, 4, 255, 2, 1),     # _9: pa * 96 = (pa * 3) << 5 is 8 bits wide: LUTs
    (14, 128, 1, 4, 226, 2, 0),    # _11: 4,356 words of 4 bits
])
def test_swg_estimate_matches_yosys(hw, ch, simd, bits, lut, bram, dsp):
    r = _swg(hw, ch, simd, bits).resource_estimate()
    assert (r.bram18, r.dsp) == (bram, dsp)
    assert 0.75 * lut <= r.lut <= 1.25 * lut, r.lut


@pytest.mark.parametrize("hw,ch,lut,dsp", [
    (224, 16, 226, 0),   # StreamingMaxPool_0: 7,168 bits of LUTRAM (28 RAM256X1S), no BRAM
    (56, 104, 331, 1),   # _2: ox * 104 (12-bit address) in a DSP
    (28, 88, 186, 0),    # _3
])
def test_maxpool_row_buffer_is_lutram(hw, ch, lut, dsp):
    op = StreamingMaxPool(make_hw_node("StreamingMaxPool", "x", "y", IFMDim=[hw, hw], NumChannels=ch,
                                       PoolDim=2, PE=1, inputDataType="UINT4"))
    r = op.resource_estimate()
    assert (r.bram18, r.dsp) == (0, dsp)
    assert 0.75 * lut <= r.lut <= 1.25 * lut, r.lut


@pytest.mark.parametrize("width,depth,style,lut,bram", [
    (252, 220, "distributed", 1639, 0),   # StreamingFIFO_19: 336 RAM64M + a 4:1 read multiplexer
    (8, 1024, "distributed", 304, 0),     # StreamingFIFO_4
    (160, 1024, "auto", 43, 9),           # StreamingFIFO_12
])
def test_fifo_estimate_matches_yosys(width, depth, style, lut, bram):
    op = StreamingFIFO(make_hw_node("StreamingFIFO", "x", "y", shape=[1, 4, 4, width // 4], fold=width // 4,
                                    depth=depth, dataType="UINT4", ram_style=style))
    r = op.resource_estimate()
    assert op.instream_width() == width and r.bram18 == bram
    assert abs(r.lut - lut) <= max(0.25 * lut, 15), r.lut


@pytest.mark.parametrize("w_in,w_out,lut", [
    (24, 72, 5),      # gathering: a register loaded in place
    (288, 144, 293),  # splitting: a shift register of the input word
    (16, 72, 497),    # any ratio: a buffer behind a variable shifter
])
def test_dwc_estimate_matches_yosys(w_in, w_out, lut):
    op = StreamingDataWidthConverter(make_hw_node("StreamingDataWidthConverter", "x", "y", shape=[1, 2, 2, 144],
                                                  inFold=w_in // 4, outFold=w_out // 4, dataType="UINT4"))
    assert abs(op.resource_estimate().lut - lut) <= max(0.25 * lut, 10)


def test_one_word_weight_rom_is_constants():
    """vgg16-pruned 32x32 MVAU_1 (MW 72, MH 8, PE 8, SIMD 72, W4A4, bit-plane LUT MACs): its ROM is one
    2,304-bit word, which Yosys turns into constants: 0 BRAM18 (the full width would take 64) and
    7,901 LUTs for MACs of constant weights."""
    rng = np.random.default_rng(0)
    w = rng.integers(-7, 7, (72, 8))
    w[rng.random(w.shape) < 0.15] = 0  # 86 % of the trained weights are non-zero
    thr = np.sort(rng.integers(-300, 300, (8, 15)), axis=1)
    op = MVAU(make_hw_node("MVAU", "x", "y", MW=72, MH=8, PE=8, SIMD=72, numInputVectors=[1, 32, 32],
                           inputDataType="UINT4", weightDataType="INT4", resType="lut", lut_mac="bitplane",
                           weights=w, thresholds=thr))
    r = op.resource_estimate()
    assert op.wmem() == 1 and op.rom_width() == 0 and r.bram18 == 0
    assert 0.75 * 7901 <= r.lut <= 1.25 * 7901, r.lut


def test_rom_constant_columns_narrow_the_bram():
    """A 4-word ROM 576 bits wide (the shape of vgg16-pruned MVAU_2, whose trained weights vary in 499
    columns: 14 BRAM18 by Yosys, not 16): BRAM for the columns that differ between the words, counted
    here independently from the WEIGHT_FILE codegen writes."""
    rng = np.random.default_rng(1)
    w = rng.integers(-7, 7, (72, 8))
    w[:, [3, 7]] = 0  # both channels of PE 3 pruned: 36 x 4 columns zero in every word
    op = MVAU(make_hw_node("MVAU", "x", "y", MW=72, MH=8, PE=4, SIMD=36, numInputVectors=[1],
                           inputDataType="UINT4", weightDataType="INT4", weights=w))
    words = [int(x, 16) for x in op.rtl_memories()["WEIGHT_FILE"]]
    varying = sum(len({(x >> b) & 1 for x in words}) > 1 for b in range(576))
    assert len(words) == op.wmem() == 4 and op.rom_width() == varying
    assert varying <= 576 - 36 * 4
    assert op.bram_estimate() == -(-varying // 36) < 16
