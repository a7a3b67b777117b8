"""Stitched RTL of small hardware graphs (built from the layer classes): bit-exact rtlsim against
the hw graph's execution, cycles/frame against the cycle model, FIFO sizing, errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper

from fpga_flow.codegen import generate
from fpga_flow.errors import FlowError, ToolMissing
from fpga_flow.sim import verilator as vl
from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, round_depth, rtlsim, stalled_stage

from .graphs import conv_pool_fc, write_build

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(conv_pool_fc(np.random.default_rng(0)), tmp_path_factory.mktemp("b") / "tiny")


def test_generate_writes_rtl(build):
    d = generate(build, {})
    rtl = build / "rtl"
    man = json.loads((rtl / "manifest.json").read_text())
    assert man["top"] == "top" and man["sources"][-1] == "top.v"
    assert all((rtl / s).exists() for s in man["sources"])
    mods = [s["module"] for s in man["stages"]]
    # SWG(SIMD 2) -> dwc -> fifo -> MVAU(SIMD 6) ...: converters where folds differ, a FIFO between layers
    assert mods == ["swg", "dwc", "fifo", "mvau", "dwc", "fifo", "maxpool", "dwc", "fifo", "mvau"]
    assert len(list((rtl / "mem").glob("*.mem"))) == 3        # 2 weight files, 1 threshold file
    top = (rtl / "top.v").read_text()
    assert "output wire [31:0] m_axis_tdata" in top          # 26-bit stream padded to bytes
    assert d.chain.out_width == 26


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")
def test_top_reads_in_yosys(build):
    generate(build, {})
    rtl = build / "rtl"
    srcs = " ".join(json.loads((rtl / "manifest.json").read_text())["sources"])
    r = subprocess.run(["yosys", "-q", "-p", f"read_verilog {srcs}; hierarchy -check -top top; proc"],
                       cwd=rtl, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-500:]


@pytest.mark.rtl
@needs_verilator
def test_rtlsim_bit_exact_cycles_and_fifo_sizing(build):
    d = generate(build, {})
    x = random_frames(d.chain, 3, seed=5)
    res = rtlsim(build, x, size=True)
    ref = execute_hw_graph(ModelWrapper(str(build / "dataflow.onnx")), x)
    np.testing.assert_array_equal(res.outputs, ref)
    exp = max(s.exp_cycles for s in d.chain.stages)
    assert abs(res.cycles_per_frame - exp) <= 0.05 * exp
    assert res.latency_cycles >= exp
    sizing = json.loads((build / "rtl" / "fifo_depths.json").read_text())
    assert sizing["depths_measured"] == {k: round_depth(v) for k, v in sizing["max_occupancy"].items()}
    # the SWG is faster than the MVAU behind it: with large FIFOs it runs far ahead ...
    assert sizing["max_occupancy"]["fifo_ins1"] > 32
    # ... which the MVAU does not need: capped at 32 words the design keeps its throughput
    assert sizing["cap"] == 32 and max(sizing["depths"].values()) <= 32
    assert res.fifo_depths == sizing["depths"]
    assert res.cycles_per_frame <= sizing["cycles_per_frame_large_fifos"] * 1.005
    # AXI-lite readback after the run: ID, words in/out; soft reset clears the counters
    in_pf = int(np.prod(d.chain.in_shape)) // d.chain.in_fold
    out_pf = int(np.prod(d.chain.out_shape)) // d.chain.out_fold
    assert res.axil == [0x46464C57, 3 * in_pf, 3 * out_pf, 1, 0]
    # random output backpressure: still exact
    res2 = rtlsim(build, x, backpressure=0.5)
    np.testing.assert_array_equal(res2.outputs, ref)


@pytest.mark.rtl
@needs_verilator
def test_deadlock_is_reported(build):
    # an output that never drains: the simulation stops with a clear error instead of hanging
    d = generate(build, {})
    from fpga_flow.sim.rtlsim import run_design
    with pytest.raises(FlowError, match="deadlock"):
        run_design(d, random_frames(d.chain, 1), backpressure=1.0, stall_limit=2000)


def test_stalled_stage_decoding(build):
    d = generate(build, {})
    n = len(d.chain.stages)
    valid = [1] * (n + 1)
    ready = [1] * (n + 1)
    # stage 3 (the conv MVAU) holds a valid input it never takes and outputs nothing
    ready[3] = 0
    for i in range(4, n + 1):
        valid[i] = 0
    v = sum(b << i for i, b in enumerate(valid)) | sum(b << (n + 1 + i) for i, b in enumerate(ready))
    assert stalled_stage(d.chain, format(v, "x")) == d.chain.stages[3].name


def test_missing_verilator(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="verilator"):
        vl.build([vl.HLS_DIR / "fifo.v"], vl.TbSpec("fifo", 8, 8), {"WIDTH": 8, "DEPTH": 2})


def test_not_a_build(tmp_path):
    with pytest.raises(FlowError, match="dataflow.onnx"):
        generate(tmp_path)


def test_round_depth():
    assert [round_depth(m) for m in (0, 1, 2, 3, 32, 33, 256, 257, 1000)] == [2, 2, 2, 32, 32, 33, 256, 512, 1024]


@pytest.mark.rtl
@needs_verilator
def test_cli_sim(build):
    from typer.testing import CliRunner

    from fpga_flow.cli import app

    r = CliRunner().invoke(app, ["sim", "--build", str(build), "--frames", "2"])
    assert r.exit_code == 0, r.output
    assert "cycles/frame [rtlsim]" in r.output and "bit-exact" in r.output
    rec = json.loads((build / "sim" / "rtlsim.json").read_text())
    assert rec["bit_exact"] is True and rec["source"] == "rtlsim"
    assert abs(rec["rtlsim_over_estimate"] - 1) <= 0.05


@pytest.mark.rtl
@needs_verilator
def test_external_weights_stream(tmp_path):
    """mem_mode=external: the MVAU takes its weights from a top-level AXI-stream (DMA); in rtlsim a
    memstream plays the weight file in a loop."""
    b = write_build(conv_pool_fc(np.random.default_rng(1), fc_external=True), tmp_path / "ext")
    d = generate(b, {})
    top = (b / "rtl" / "top.v").read_text()
    assert "input  wire [63:0] s_axis_MVAU_3_w_tdata" in top and "memstream" in top
    man = json.loads((b / "rtl" / "manifest.json").read_text())
    (ws,) = man["external_weight_streams"]
    assert ws["width"] == 2 * 8 * 4 and ws["depth"] == (4 // 2) * (72 // 8) and ws["words_per_frame"] == ws["depth"]
    x = random_frames(d.chain, 2, seed=3)
    res = rtlsim(b, x, size=False)
    np.testing.assert_array_equal(res.outputs, execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x))
    if shutil.which("yosys"):
        srcs = " ".join(man["sources"])
        r = subprocess.run(["yosys", "-q", "-p", f"read_verilog {srcs}; hierarchy -check -top top; proc"],
                           cwd=b / "rtl", capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-500:]


def test_illegal_folding_names_the_layer(tmp_path):
    from .graphs import chain_model

    rng = np.random.default_rng(0)
    m = chain_model([("MVAU", dict(MW=6, MH=4, PE=3, SIMD=4, numInputVectors=[1], inputDataType="UINT4",
                                   weightDataType="INT4", weights=rng.integers(-8, 8, (6, 4)),
                                   thresholds=np.zeros((0,))))])
    b = write_build(m, tmp_path / "bad")
    with pytest.raises(FlowError, match=r"MVAU_0.*(SIMD|PE)"):
        generate(b)
