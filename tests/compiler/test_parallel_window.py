"""Parallel-window SWG (``parallel_window = 1``, hls/swg_pw.v): the layer class, the folding switch
to it when SIMD = IFMChannels misses the cycle target, the width converters behind it, and a tiny
conv net folded that tight, bit-exact end to end in rtlsim."""

import json
import shutil
import subprocess

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.boards import load_board
from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.folding_config import ApplyConfig, extract_folding_config
from fpga_flow.compiler.hw import ConvolutionInputGenerator, make_hw_node, make_single_node_model
from fpga_flow.compiler.transforms.fold import fold, hw_ops
from fpga_flow.compiler.transforms.streams import InsertStreams
from fpga_flow.errors import FlowError

from .chains import chain_model

CLK = 100e6  # Pynq-Z2


def swg_op(**kw):
    a = dict(IFMDim=[6, 5], IFMChannels=3, ConvKernelDim=[3, 3], Stride=[1, 1], Padding=[1, 1, 1, 1], SIMD=3,
             inputDataType="INT4")
    a.update(kw)
    return getCustomOp(make_single_node_model("ConvolutionInputGenerator", **a).graph.node[0])


def test_layer_class_parallel_window():
    seq, par = swg_op(), swg_op(parallel_window=1)
    x = np.random.default_rng(0).integers(-8, 8, (1, 6, 5, 3))
    np.testing.assert_array_equal(par.execute_numpy(x), seq.execute_numpy(x))  # same tensor, same order
    assert (seq.rtl_module, par.rtl_module, ConvolutionInputGenerator.rtl_module) == ("swg", "swg_pw", "swg")
    assert par.out_fold() == 27 and par.outstream_width() == 27 * 4 and par.instream_width() == 3 * 4
    assert par.folded_output_shape() == (1, 6, 5, 1, 27) and par.folded_input_shape() == (1, 6, 5, 1, 3)
    assert "SIMD" not in par.rtl_parameters() and par.rtl_parameters()["PAD_B"] == 1
    assert par.check_folding() == []
    # (H + PAD_B) x (W + PAD_R) positions, one per cycle; the sequential SWG needs 9 cycles per window
    assert par.exp_cycles() == 7 * 6 and seq.exp_cycles() >= 9 * 30
    big = swg_op(IFMDim=[224, 224], parallel_window=1, inputDataType="INT8")
    assert big.exp_cycles() == 225 * 225
    assert big.resource_estimate().bram18 == 2  # 224 words x 2 pixels x 24 bits
    # stride 2, the last window row needs no bottom padding: just the image
    assert swg_op(IFMDim=[8, 8], Stride=[2, 2], parallel_window=1).exp_cycles() == 64


def test_parallel_window_illegal_foldings():
    e = swg_op(SIMD=1, parallel_window=1).check_folding()
    assert len(e) == 1 and "parallel_window=1 needs SIMD == IFMChannels" in e[0] and "SIMD=1" in e[0]
    e = swg_op(Padding=[3, 0, 0, 0], parallel_window=1).check_folding()
    assert any("padding smaller than the kernel" in s for s in e)
    with pytest.raises(FlowError, match=r"layer ConvolutionInputGenerator_0: parallel_window=1 needs SIMD == IFM"):
        ApplyConfig({"ConvolutionInputGenerator_0": {"SIMD": 1, "parallel_window": 1}}).apply(first_conv())


def first_conv(H=16, C=3, F=8, seed=0):
    """SWG(3x3, pad 1, C channels) -> MVAU(conv, INT4 weights, UINT4 activation)."""
    rng = np.random.default_rng(seed)
    nodes = [
        make_hw_node("ConvolutionInputGenerator", "x", "t0", "ConvolutionInputGenerator_0", IFMDim=[H, H],
                     IFMChannels=C, ConvKernelDim=[3, 3], Stride=[1, 1], Padding=[1, 1, 1, 1], inputDataType="INT8"),
        make_hw_node("MVAU", "t0", "y", "MVAU_0", MW=9 * C, MH=F, numInputVectors=[1, H, H], inputDataType="INT8",
                     weightDataType="INT4", outputDataType="UINT4", weights=rng.integers(-8, 8, (9 * C, F)),
                     thresholds=np.sort(rng.integers(-600, 600, (F, 15)), axis=1)),
    ]
    return chain_model(nodes, "first_conv", [1, H, H, C], [1, H, H, F])


def folds(m):
    return {n.name: {a: op.get_nodeattr(a) for a in ("SIMD", "PE", "parallel_window") if a in op.get_nodeattr_types()}
            for n, op in hw_ops(m)}


def test_fold_goes_parallel_when_simd_is_not_enough():
    board = load_board("Pynq-Z2")
    # 16x16x3, 3x3: the sequential SWG needs >= 9*256 cycles even at SIMD = 3; the MVAU (MW 27, INT4
    # weights: SIMD up to 9) can do 3*256
    target = 1000
    m, r = fold(first_conv(), board, target_fps=CLK / target)
    f = folds(m)
    assert f["ConvolutionInputGenerator_0"] == {"SIMD": 3, "parallel_window": 1}
    assert f["MVAU_0"]["SIMD"] == 9 and r.met and r.max_cycles <= target
    for _, op in hw_ops(m):
        assert op.check_folding() == [] and op.exp_cycles() <= target
    assert extract_folding_config(m)["ConvolutionInputGenerator_0"]["parallel_window"] == 1
    # SWG word 27 elements -> MVAU SIMD 9: one 3:1 width converter, same numbers as without it
    x = np.random.default_rng(1).integers(-128, 128, (1, 16, 16, 3)).astype(np.float32)
    y0 = execute_hw(m, x)
    ms, _ = InsertStreams(fifo_depth=8).apply(ModelWrapper(m.model))
    dwcs = [getCustomOp(n) for n in ms.graph.node if n.op_type == "StreamingDataWidthConverter"]
    assert [(d.in_fold(), d.out_fold()) for d in dwcs] == [(27, 9)] and dwcs[0].check_folding() == []
    np.testing.assert_array_equal(execute_hw(ms, x), y0)
    # set_folding runs again for every target: a loose one puts the SWG back to one word per (kh, kw)
    m, r = fold(m, board, target_fps=CLK / 20000)
    assert folds(m)["ConvolutionInputGenerator_0"]["parallel_window"] == 0 and r.met


def test_fold_parallel_window_equal_and_larger_mvau_simd():
    board = load_board("Pynq-Z2")
    # 300 cycles for 256 windows: the MVAU needs SIMD = MW = 27 (wider weights allowed): no converter
    m, r = fold(first_conv(), board, target_fps=CLK / 300, mvau_wwidth_max=108)
    f = folds(m)
    assert f["ConvolutionInputGenerator_0"]["parallel_window"] == 1 and f["MVAU_0"]["SIMD"] == 27 and r.met
    ms, _ = InsertStreams().apply(m)
    assert [n.op_type for n in ms.graph.node] == ["ConvolutionInputGenerator", "StreamingFIFO", "MVAU"]
    # an MVAU word wider than the window cannot exist (SIMD divides MW = K*K*CH)
    with pytest.raises(FlowError, match=r"layer MVAU_0: MW=27 not divisible by SIMD=54"):
        ApplyConfig({"ConvolutionInputGenerator_0": {"SIMD": 3, "parallel_window": 1},
                     "MVAU_0": {"SIMD": 54}}).apply(first_conv())


def test_fold_unreachable_keeps_a_consistent_design():
    """The limit search (hard_limit) probes every layer at its fastest folding (a parallel-window SWG)
    and must put each back as it was."""
    m, r = fold(first_conv(), load_board("Pynq-Z2"), target_fps=1e9, best_effort=True)
    # the MVAU widens SIMD past mvau_wwidth_max (a soft limit) to one vector per cycle; the
    # parallel-window SWG (16x16 plus one row and column of padding) is then the limit
    assert not r.met
    assert r.limiting == "layer ConvolutionInputGenerator_0 at its maximum parallelism (289 cycles/frame)"
    assert folds(m) == {"ConvolutionInputGenerator_0": {"SIMD": 3, "parallel_window": 1},
                        "MVAU_0": {"SIMD": 27, "PE": 8}}
    m, r = fold(first_conv(C=6), load_board("Pynq-Z2"), target_fps=1e9, best_effort=True, mvau_wwidth_max=4)
    assert folds(m) == {"ConvolutionInputGenerator_0": {"SIMD": 6, "parallel_window": 1},
                        "MVAU_0": {"SIMD": 54, "PE": 8}}
    for _, op in hw_ops(m):
        assert op.check_folding() == []


@pytest.mark.rtl
@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")
def test_tight_target_conv_net_bit_exact_in_rtlsim(qonnx_nets, tmp_path):
    """conv_po2 (3->8->16 channels, 16x16) built for 1000 cycles/frame: the first SWG must go
    parallel; codegen, rtlsim and synth find hls/swg_pw.v; rtlsim is bit-exact and within 5 % of
    the estimate."""
    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.sim.cli import run_sim
    from fpga_flow.synth.layers import HLS_DIR, layers_from_dataflow, module_library

    path, _ = qonnx_nets("conv_po2")
    out = tmp_path / "pw"
    build_dataflow(path, "Pynq-Z2", out, target_fps=CLK / 1000, quiet=True)
    fcfg = json.loads((out / "folding.json").read_text())
    assert fcfg["ConvolutionInputGenerator_0"]["parallel_window"] == 1
    assert fcfg["ConvolutionInputGenerator_1"]["parallel_window"] == 0  # 8x8x8: SIMD is enough there
    est = json.loads((out / "estimates.json").read_text())
    assert est["total"]["cycles_per_frame"] <= 1000
    rec = run_sim(out, frames=2)
    assert rec["bit_exact"] is True
    assert abs(rec["cycles_per_frame"] - est["total"]["cycles_per_frame"]) <= 0.05 * est["total"]["cycles_per_frame"]
    man = json.loads((out / "rtl" / "manifest.json").read_text())
    assert [s["module"] for s in man["stages"]][:2] == ["swg_pw", "dwc"] and "swg_pw.v" in man["sources"]
    jobs = {j.name: j.module for j in layers_from_dataflow(out)}
    assert jobs["ConvolutionInputGenerator_0"] == "swg_pw" and jobs["ConvolutionInputGenerator_1"] == "swg"
    assert module_library([HLS_DIR])["swg_pw"] == HLS_DIR / "swg_pw.v"
    if shutil.which("yosys"):
        srcs = " ".join(man["sources"])
        r = subprocess.run(["yosys", "-q", "-p", f"read_verilog {srcs}; hierarchy -check -top top; proc"],
                           cwd=out / "rtl", capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-500:]
