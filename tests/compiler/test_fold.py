"""Folding search (SetFolding + budget), DWC/FIFO insertion, FINN folding JSON round trip."""

import dataclasses
import json

import numpy as np
import pytest
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.boards import load_board
from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.folding_config import ApplyConfig, extract_folding_config
from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.transforms.fold import divisors, fold, hw_ops
from fpga_flow.compiler.transforms.streams import InsertStreams
from fpga_flow.errors import FlowError

from .chains import chain_model


def hw_chain(rng, C=16, H=12, F=24, classes=10):
    """SWG(3x3,pad1) -> MVAU(conv) -> maxpool -> GAP -> MVAU(fc, no activation)."""
    W1 = rng.integers(-7, 8, (9 * C, F))
    T1 = np.sort(rng.integers(-200, 200, (F, 15)), axis=1)
    W2 = rng.integers(-7, 8, (F, classes))
    nodes = [
        make_hw_node("ConvolutionInputGenerator", "x", "t0", "ConvolutionInputGenerator_0", IFMDim=[H, H],
                     IFMChannels=C, ConvKernelDim=[3, 3], Stride=[1, 1], Padding=[1, 1, 1, 1], inputDataType="UINT4"),
        make_hw_node("MVAU", "t0", "t1", "MVAU_0", MW=9 * C, MH=F, numInputVectors=[1, H, H], inputDataType="UINT4",
                     weightDataType="INT4", outputDataType="UINT4", weights=W1, thresholds=T1),
        make_hw_node("StreamingMaxPool", "t1", "t2", "StreamingMaxPool_0", IFMDim=[H, H], NumChannels=F, PoolDim=2,
                     inputDataType="UINT4"),
        make_hw_node("GlobalAccPool", "t2", "t3", "GlobalAccPool_0", IFMDim=[H // 2, H // 2], NumChannels=F,
                     inputDataType="UINT4"),
        make_hw_node("MVAU", "t3", "y", "MVAU_1", MW=F, MH=classes, numInputVectors=[1, 1, 1], inputDataType="UINT10",
                     weightDataType="INT4", weights=W2),
    ]
    return chain_model(nodes, "chain", [1, H, H, C], [1, 1, 1, classes])


def board_with(**res):
    b = load_board("Pynq-Z2")
    r = dataclasses.replace(b.resources, **res)
    return dataclasses.replace(b, resources=r)


def check_legal(model):
    for n, op in hw_ops(model):
        assert op.check_folding() == []
        if n.op_type == "MVAU":
            assert op.get_nodeattr("MW") % op.get_nodeattr("SIMD") == 0
            assert op.get_nodeattr("MH") % op.get_nodeattr("PE") == 0


def test_divisors():
    assert divisors(12) == [1, 2, 3, 4, 6, 12]


@pytest.mark.parametrize("fps", [50.0, 2000.0, 20000.0])
def test_fold_reaches_target(rng, fps):
    m = hw_chain(rng)
    board = load_board("Pynq-Z2")
    m, r = fold(m, board, target_fps=fps)
    check_legal(m)
    clk = board.clock_mhz * 1e6
    assert r.met and r.fits and r.fps >= fps
    for n, op in hw_ops(m):
        assert op.exp_cycles() <= clk / fps
    # balanced, not maximal: the slowest layer is within one divisor step of the target
    assert r.max_cycles > clk / fps / 16


def test_fold_unreachable_target_reports_best(rng):
    m = hw_chain(rng)
    with pytest.raises(FlowError, match=r"best feasible [0-9.]+ FPS.*ConvolutionInputGenerator_0|best feasible"):
        fold(m, load_board("Pynq-Z2"), target_fps=1e9)
    m2, r = fold(hw_chain(rng), load_board("Pynq-Z2"), target_fps=1e9, best_effort=True)
    assert not r.met and r.fps > 0 and "best feasible" in r.notes[-1]


def test_fold_respects_lut_budget(rng):
    small = board_with(lut=6000)
    m, r = fold(hw_chain(rng), small)
    assert r.fits and r.resources.lut <= 6000 * 0.85
    assert "resource lut" in r.limiting
    m_big, r_big = fold(hw_chain(rng), load_board("Pynq-Z2"))
    assert r_big.fps > r.fps  # the budget is what limits the small board
    with pytest.raises(FlowError, match="resource lut"):
        fold(hw_chain(rng), small, target_fps=r_big.fps)


@pytest.mark.parametrize("lut", [4500, 9000])
def test_fold_without_target_is_the_fastest_fit(rng, lut):
    """No folding that a target can reach and that fits is faster than the untargeted search's result
    (fitting is not monotonic in the cycle target, so a plain bisection can stop short)."""
    board = board_with(lut=lut)
    _, best = fold(hw_chain(np.random.default_rng(1)), board)
    assert best.fits
    for k in range(1, 25):
        _, r = fold(hw_chain(np.random.default_rng(1)), board, target_fps=best.fps * 1.04 ** k, best_effort=True)
        assert not (r.met and r.fits), (lut, best.fps, r.fps)


def test_fold_budget_too_small_even_folded(rng):
    with pytest.raises(FlowError, match=r"board Pynq-Z2: even the fully folded design needs lut"):
        fold(hw_chain(rng), board_with(lut=100))


def test_lutram_weights_when_bram_too_small(rng):
    """576x96 weights (221 Kbit) on a board with 2 BRAM18: LUTRAM holds them (about 3,500 LUTs), faster
    than streaming them from DRAM (streaming: tests/compiler/test_fold_wmem.py). The one BRAM18 used is
    the SWG's line buffer, which hls/swg.v builds in BRAM whatever its ram_style."""
    b = board_with(bram18=2, bram36=1)
    m, r = fold(hw_chain(rng, C=64, F=96), b)
    swg = getCustomOp(m.get_node_from_name("ConvolutionInputGenerator_0")).resource_estimate()
    assert r.external == [] and r.fits and r.resources.bram18 == swg.bram18 == 1
    op = getCustomOp(m.get_node_from_name("MVAU_0"))
    assert op.get_nodeattr("ram_style") == "distributed" and op.get_nodeattr("mem_mode") == "internal_decoupled"


def test_folding_json_roundtrip_and_finn_names(rng, tmp_path):
    m, _ = fold(hw_chain(rng), load_board("Pynq-Z2"), target_fps=3000.0)
    cfg = extract_folding_config(m)
    assert cfg["Defaults"] == {} and cfg["MVAU_0"]["PE"] >= 1 and "SIMD" in cfg["ConvolutionInputGenerator_0"]
    p = tmp_path / "f.json"
    p.write_text(json.dumps(cfg))
    fresh = hw_chain(np.random.default_rng(0))
    t = ApplyConfig(str(p))
    fresh, _ = t.apply(fresh)
    assert extract_folding_config(fresh) == cfg and not t.unused
    # FINN-style names after specialisation + Defaults
    finn = {"Defaults": {"ram_style": ["distributed", ["MVAU"]]},
            "MVAU_hls_0": {"PE": 4, "SIMD": 16}, "ConvolutionInputGenerator_rtl_0": {"SIMD": 4}}
    fresh2, _ = ApplyConfig(finn, warn=False).apply(hw_chain(np.random.default_rng(0)))
    op = getCustomOp(fresh2.get_node_from_name("MVAU_0"))
    assert (op.get_nodeattr("PE"), op.get_nodeattr("SIMD"), op.get_nodeattr("ram_style")) == (4, 16, "distributed")


def test_folding_json_illegal_values(rng):
    with pytest.raises(FlowError, match=r"layer MVAU_0: MH=24 not divisible by PE=5"):
        ApplyConfig({"MVAU_0": {"PE": 5}}).apply(hw_chain(rng))
    with pytest.raises(FlowError, match=r"layer StreamingMaxPool_0 .* no attribute 'SIMD'"):
        ApplyConfig({"StreamingMaxPool_0": {"SIMD": 2}}).apply(hw_chain(rng))


def test_insert_streams_dwc_gcd_and_identity(rng):
    m = hw_chain(rng)
    ApplyConfig({"ConvolutionInputGenerator_0": {"SIMD": 4}, "MVAU_0": {"SIMD": 6, "PE": 4},
                 "StreamingMaxPool_0": {"PE": 6}}, warn=False).apply(m)
    x = rng.integers(0, 16, (1, 12, 12, 16)).astype(np.float32)
    y0 = execute_hw(m, x)
    m, _ = InsertStreams(fifo_depth=16).apply(m)
    ops = [n.op_type for n in m.graph.node]
    # SWG SIMD 4 -> MVAU SIMD 6: two DWCs through gcd 2; MVAU PE 4 -> pool PE 6: again two
    dwcs = [getCustomOp(n) for n in m.graph.node if n.op_type == "StreamingDataWidthConverter"]
    assert [(d.in_fold(), d.out_fold()) for d in dwcs][:4] == [(4, 2), (2, 6), (4, 2), (2, 6)]
    assert ops.count("StreamingFIFO") == 4
    for d in dwcs:
        assert d.check_folding() == []
    np.testing.assert_array_equal(execute_hw(m, x), y0)
    y1 = execute_onnx(m, {"x": x})["y"]
    np.testing.assert_array_equal(y1, y0)
