"""Weight memories over the BRAM budget: the fold keeps weights on chip (slower foldings, better-packed ROM
shapes, LUTRAM) when that is faster than streaming them from DRAM (transforms/wmem.py)."""

import dataclasses

import numpy as np
import pytest
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.boards import load_board
from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.transforms.dram import dram_bound_cycles
from fpga_flow.compiler.transforms.fold import fold, hw_ops, set_folding

from .chains import chain_model


def big_conv_chain(rng, C=192, H=14, n=4):
    """``n`` x (SWG 3x3 pad 1 -> MVAU 9C x C, W4A4): VGG16's conv5 block at 37 % of its channels (one
    layer more), 1.33 Mbit of weights per layer, 5.3 Mbit in all: more than Pynq-Z2's BRAM (5.2 Mbit,
    4.4 within the fold's 85 % budget), so one layer's weights must go to LUTRAM or DRAM."""
    nodes = []
    for i in range(n):
        x, t, y = ("x" if i == 0 else f"a{i}"), f"w{i}", (f"a{i + 1}" if i < n - 1 else "y")
        W = rng.integers(-7, 8, (9 * C, C))
        T = np.sort(rng.integers(-400, 400, (C, 15)), axis=1)
        nodes += [
            make_hw_node("ConvolutionInputGenerator", x, t, f"ConvolutionInputGenerator_{i}", IFMDim=[H, H],
                         IFMChannels=C, ConvKernelDim=[3, 3], Stride=[1, 1], Padding=[1, 1, 1, 1],
                         inputDataType="UINT4"),
            make_hw_node("MVAU", t, y, f"MVAU_{i}", MW=9 * C, MH=C, numInputVectors=[1, H, H],
                         inputDataType="UINT4", weightDataType="INT4", outputDataType="UINT4", weights=W, thresholds=T),
        ]
    return chain_model(nodes, "big", [1, H, H, C], [1, H, H, C])


def mvaus(model):
    return [(n, op) for n, op in hw_ops(model) if n.op_type == "MVAU"]


def test_weights_stay_on_chip_when_faster_than_dram():
    """Pynq-Z2, 172 channels (1.07 Mbit of weights per layer, and 8 BRAM18 of SWG line buffers): the fold
    before transforms/wmem.py streamed MVAU_0 from DRAM (the largest ROM); keeping one layer's weights in
    LUTRAM, the others in well-packed BRAM, is several times faster. (At 176 channels, with the SWGs'
    BRAM that hls/swg.v builds, on-chip no longer fits: streamed.)"""
    board = load_board("Pynq-Z2")
    m, r = fold(big_conv_chain(np.random.default_rng(0), C=172), board)
    assert r.fits and r.external == []
    assert r.resources.bram18 == 200 and r.resources.lut <= 0.85 * 53200
    # [estimate] cycles per frame and FPS at 100 MHz (pinned: the search is deterministic)
    assert r.max_cycles == 362404 and round(r.fps, 1) == 275.9
    styles = []
    for _, op in mvaus(m):
        assert op.get_nodeattr("mem_mode") == "internal_decoupled"
        assert op.exp_cycles() <= r.max_cycles
        styles.append(op.get_nodeattr("ram_style"))
    assert styles.count("distributed") == 1  # one layer's weights in LUTRAM, three in BRAM

    # the best a DRAM-streamed MVAU_0 can do: the link's bytes per cycle, and at most
    # axi_hp_width / W_BITS = 16 weights per cycle
    alt = big_conv_chain(np.random.default_rng(0), C=172)
    getCustomOp(alt.get_node_from_name("MVAU_0")).set_nodeattr("mem_mode", "external")
    ops = hw_ops(alt)
    set_folding(ops, 1.0, axi_hp_width=board.axi_hp_width)
    weights_per_frame = 9 * 172 * 172 * 14 * 14
    dram_cycles = max(dram_bound_cycles(ops, board), weights_per_frame / (board.axi_hp_width // 4))
    dram_fps = board.clock_mhz * 1e6 / dram_cycles
    assert dram_fps < 31 and r.fps > 8 * dram_fps


def test_dram_streaming_when_chip_memory_cannot_hold_the_weights():
    """With a quarter of Pynq-Z2's BRAM (59 BRAM18 in budget, a layer needs 72) and LUTs for one layer's
    weights, the fold streams three layers, keeps the fourth in LUTRAM, and runs at the DRAM link's rate."""
    b = load_board("Pynq-Z2")
    small = dataclasses.replace(b, resources=dataclasses.replace(b.resources, bram18=70, bram36=35))
    m, r = fold(big_conv_chain(np.random.default_rng(0)), small)
    assert r.fits and r.external == ["MVAU_0", "MVAU_1", "MVAU_2"]
    assert any("external" in n for n in r.notes)
    for name in r.external:
        op = getCustomOp(m.get_node_from_name(name))
        assert op.resource_estimate().bram18 == 0
        assert op.get_nodeattr("PE") * op.get_nodeattr("SIMD") * op.weight_bits() <= small.axi_hp_width
    assert getCustomOp(m.get_node_from_name("MVAU_3")).get_nodeattr("ram_style") == "distributed"
    assert r.max_cycles == 17420215  # [estimate] 5.7 FPS
    assert r.max_cycles == pytest.approx(dram_bound_cycles(hw_ops(m), small), rel=0.01)
