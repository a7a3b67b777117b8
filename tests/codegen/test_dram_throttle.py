"""Streamed weights (mem_mode=external) at the board's DRAM bandwidth: cycle model, fold, rtlsim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.boards import BOARDS_DIR, load_board, load_board_file
from fpga_flow.compiler.transforms.dram import RATE_DEN, dram_bound_cycles, share_dram_bandwidth
from fpga_flow.compiler.transforms.fold import hw_ops
from fpga_flow.errors import FlowError

from .graphs import conv_pool_fc, write_build
from .test_stitch import needs_verilator


def _fc(model):
    (n,) = [n for n in model.graph.node if n.op_type == "MVAU" and getCustomOp(n).get_nodeattr("mem_mode") == "external"]
    return getCustomOp(n)


def test_board_dram_figures():
    z2, zcu = load_board("Pynq-Z2"), load_board("ZCU104")
    # one 64-bit HP port at 100 MHz (800 MB/s) is below the DDR3 x16 peak (2100 MB/s); x 0.7 derating
    assert z2.weight_bytes_per_cycle() == pytest.approx(8 * 0.7)
    assert zcu.weight_bytes_per_cycle() == pytest.approx(16 * 0.7)
    assert z2.dram.peak_mb_s == 2100 and "1050" in z2.dram.source


@pytest.mark.parametrize("dram, message", [
    ({"peak_mb_s": -5}, r"dram.peak_mb_s must be a positive number"),
    ({"peak_mb_s": 100, "derating": 1.5}, r"dram.derating must be in \(0, 1\]"),
    ({"peak_mb_s": 100, "speed": 3}, r"unknown dram key\(s\) speed"),
    ({"type": "DDR3"}, r"dram.peak_mb_s is missing"),
    ("fast", r"dram must be a mapping"),
])
def test_bad_dram_block_named(tmp_path, dram, message):
    data = yaml.safe_load((BOARDS_DIR / "Pynq-Z2.yaml").read_text())
    data["dram"] = dram
    p = tmp_path / "Bad.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(FlowError, match=message) as e:
        load_board_file(p)
    assert str(p) in str(e.value)


def test_cycle_model_follows_the_share():
    m = conv_pool_fc(np.random.default_rng(1), fc_external=True)
    fc = _fc(m)
    words = fc.exp_cycles()
    assert words == 18 and fc.weight_word_bytes() == 8  # 2x8 INT4 weights per word
    fc.set_nodeattr("ext_bw_num", 295)
    fc.set_nodeattr("ext_bw_den", RATE_DEN)
    assert fc.exp_cycles() == math.ceil(18 * 8 * RATE_DEN / 295)  # 1,999 cycles: the link is the bound
    fc.set_nodeattr("ext_bw_num", 64 * RATE_DEN)  # faster than one word per cycle: compute-bound again
    assert fc.exp_cycles() == words


def test_shares_split_the_link_by_bytes():
    """Two streamed layers: each gets bandwidth in proportion to its bytes, so both need the same
    total / (bytes per cycle) cycles, and the sum of the shares is the link."""
    m = conv_pool_fc(np.random.default_rng(1), fc_external=True)
    ops = hw_ops(m)
    conv = [op for n, op in ops if n.op_type == "MVAU"][0]
    conv.set_nodeattr("mem_mode", "external")
    from dataclasses import replace

    from fpga_flow.boards import DramLink

    board = replace(load_board("Pynq-Z2"), dram=DramLink(type="test", peak_mb_s=100.0, derating=1.0))  # 1 B/cycle
    assert share_dram_bandwidth(ops, board)
    streamed = [op for n, op in ops if n.op_type == "MVAU"]
    total = sum(op.weight_stream_bytes() for op in streamed)
    bound = dram_bound_cycles(ops, board)
    assert bound == total > max(op.attrs.MW * op.attrs.MH * op.V() // (op.attrs.PE * op.attrs.SIMD) for op in streamed)
    for op in streamed:
        assert op.exp_cycles() == pytest.approx(bound, rel=2e-3)
    assert sum(op.get_nodeattr("ext_bw_num") for op in streamed) <= RATE_DEN
    assert not share_dram_bandwidth(ops, board)  # idempotent
    share_dram_bandwidth(ops, None)  # no dram figure: ideal streams again
    assert all(op.get_nodeattr("ext_bw_num") == 0 for op in streamed)


def test_fold_counts_the_dram_link():
    """BRAM too small for the conv weights: the fold streams them, and the design's cycles are the
    DRAM link's (bytes per frame / bytes per cycle), not an ideal stream's; the limit is named."""
    from dataclasses import replace

    from fpga_flow.boards import DramLink
    from fpga_flow.compiler.transforms.fold import fold

    from ..compiler.test_fold import board_with, hw_chain

    # 2 BRAM18 (the SWG's line buffer, which hls/swg.v builds in BRAM) and 6,000 LUTs: no room for the
    # weights on chip, in BRAM or LUTRAM (at 8,000 LUTs they go to LUTRAM)
    slow_link = replace(board_with(bram18=2, bram36=1, lut=6000),
                        dram=DramLink(type="test", peak_mb_s=20.0, derating=1.0))
    m, res = fold(hw_chain(np.random.default_rng(0), C=64, F=96), slow_link)  # 0.2 B/cycle
    ops = hw_ops(m)
    streamed = [op for n, op in ops if n.op_type == "MVAU" and op.get_nodeattr("mem_mode") == "external"]
    assert res.external == ["MVAU_0"] and len(streamed) == 1
    assert res.max_cycles == streamed[0].exp_cycles() == pytest.approx(streamed[0].weight_stream_bytes() / 0.2, rel=1e-3)
    assert "DRAM" in res.limiting
    _, ideal = fold(hw_chain(np.random.default_rng(0), C=64, F=96), replace(slow_link, dram=None))
    assert ideal.max_cycles < res.max_cycles / 10  # without the link figure the stream looked free


@pytest.mark.rtl
@needs_verilator
def test_rtlsim_throttled_stream_matches_estimate(tmp_path):
    """rtlsim's weight source honours the share: cycles/frame follow the bandwidth (within 2 % of the
    cycle model) and outputs stay bit-exact."""
    from fpga_flow.codegen import generate
    from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, rtlsim

    m = conv_pool_fc(np.random.default_rng(1), fc_external=True)
    fc = _fc(m)
    results = {}
    for num in (295, 590):  # 0.072 and 0.144 bytes per cycle
        fc.set_nodeattr("ext_bw_num", num)
        fc.set_nodeattr("ext_bw_den", RATE_DEN)
        b = write_build(m, tmp_path / f"r{num}")
        d = generate(b, {})
        assert f".RATE_NUM({num})" in (b / "rtl" / "top.v").read_text()
        x = random_frames(d.chain, 3, seed=2)
        res = rtlsim(b, x, size=False)
        np.testing.assert_array_equal(res.outputs, execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x))
        est = max(getCustomOp(n).exp_cycles() for n in m.graph.node)
        assert res.cycles_per_frame == pytest.approx(est, rel=0.02), (num, res.cycles_per_frame, est)
        results[num] = res.cycles_per_frame
    assert results[295] == pytest.approx(2 * results[590], rel=0.03)  # half the bandwidth, twice the cycles
