"""Forks and joins: the branch layers' numpy semantics, stitched DAG designs bit-exact in rtlsim
against the hw graph's execution, branch FIFO sizing, and a too-shallow branch FIFO reported as a
branch deadlock."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.codegen import generate
from fpga_flow.codegen.stages import build_chain
from fpga_flow.compiler.execute import execute_hw
from fpga_flow.errors import FlowError
from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, run_design, rtlsim

from .graphs import concat_block, dag_model, residual_block, write_build

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")


def test_branch_layers_numpy_semantics():
    rng = np.random.default_rng(0)
    m = residual_block(rng, rhs_scale=2)
    x = rng.integers(0, 16, (1, 6, 6, 4))
    y, ctx = execute_hw(m, x, return_all=True)
    np.testing.assert_array_equal(ctx["x0"], x)
    np.testing.assert_array_equal(ctx["x1"], x)
    np.testing.assert_array_equal(y, ctx["conv"] + 2 * x)
    add = getCustomOp(m.graph.node[-1])
    assert add.output_datatype().name == "UINT6" and add.exp_cycles() == 6 * 6 * 4 // 2
    # qonnx's executor runs the same graph through the CustomOps
    y_q = execute_onnx(m, {"inp": x.astype(np.float32)})["outp"]
    np.testing.assert_array_equal(y_q, y)

    m = concat_block(rng)
    x = rng.integers(0, 16, (1, 4, 6, 4))
    y, ctx = execute_hw(m, x, return_all=True)
    np.testing.assert_array_equal(y, np.concatenate([ctx["t"], ctx["conv"]], axis=-1))
    cat = getCustomOp(m.graph.node[-1])
    assert cat.output_datatype().name == "INT5" and cat.exp_cycles() == 4 * 6 * 10 // 2
    assert cat.instream_widths() == [2 * 3, 2 * 4] and cat.outstream_width() == 2 * 5


def test_dag_stages_streams_and_branch_need(tmp_path):
    m = residual_block(np.random.default_rng(1))
    chain = build_chain(m)
    ops = [s.op_type for s in chain.stages]
    assert ops[0] == "DuplicateStreams" and ops[-1] == "AddStreams"
    dup, add = chain.stages[0], chain.stages[-1]
    assert len(dup.outs) == 2 and len(add.ins) == 2 and chain.out_stream == add.outs[0]
    (short,) = [b for b in chain.branches if b.need]
    (long_,) = [b for b in chain.branches if not b.need]
    assert short.port == 1 and short.path == [short.fifo]          # the shortcut: one FIFO
    assert [chain.stage(n).op_type for n in long_.path][:2] == ["StreamingFIFO", "ConvolutionInputGenerator"]
    # the SWG holds ~2 rows + 6 pixels of 2 words: the shortcut FIFO needs more than that
    swg = chain.stage(long_.path[1])
    assert short.need > swg.buffered_words and chain.stage(short.fifo).params["DEPTH"] == short.need
    d = generate(write_build(m, tmp_path / "res"))
    top = (tmp_path / "res" / "rtl" / "top.v").read_text()
    assert f".m_axis_tvalid({{s{dup.outs[1]}_tvalid, s{dup.outs[0]}_tvalid}})" in top
    man = json.loads((tmp_path / "res" / "rtl" / "manifest.json").read_text())
    assert {b["fifo"] for b in man["branches"]} == {short.fifo, long_.fifo} and d.chain.n_streams == len(d.chain.widths)


def test_fan_out_without_fork_is_rejected():
    rng = np.random.default_rng(0)
    thr = dict(NumChannels=4, PE=1, numInputVectors=[1, 2, 2], inputDataType="UINT4", outputDataType="UINT2",
               thresholds=np.sort(rng.integers(0, 16, (4, 3)), axis=1))
    m = dag_model([("Thresholding", ["inp"], ["a"], thr), ("Thresholding", ["inp"], ["b"], thr),
                   ("AddStreams", ["a", "b"], ["outp"], dict(NumChannels=4, numInputVectors=[1, 2, 2],
                                                              lhsDataType="UINT2", rhsDataType="UINT2"))],
                  (1, 2, 2, 4), (1, 2, 2, 4))
    with pytest.raises(FlowError, match="tensor 'inp' feeds 2 nodes.*DuplicateStreams"):
        build_chain(m)


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("block", ["residual", "concat"])
def test_dag_rtlsim_bit_exact_and_deadlock_free(tmp_path, block):
    rng = np.random.default_rng(3)
    m = residual_block(rng, H=5, W=7, C=4, pe=2, simd=4, rhs_scale=4) if block == "residual" else concat_block(rng)
    b = write_build(m, tmp_path / block)
    d = generate(b)
    x = random_frames(d.chain, 3, seed=4)
    ref = execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x)
    # depths from the buffering model alone: no deadlock, exact, also under output backpressure
    res = run_design(d, x, backpressure=0.3)
    np.testing.assert_array_equal(res.outputs, ref)
    # rtlsim FIFO sizing (tensor-sized FIFOs, then capped; branch FIFOs keep their measured depth):
    # exact, no deadlock, and the throughput of the slowest layer
    res = rtlsim(b, x, size=True)
    np.testing.assert_array_equal(res.outputs, ref)
    sizing = json.loads((b / "rtl" / "fifo_depths.json").read_text())
    exp = max(s.exp_cycles for s in d.chain.stages)
    assert res.cycles_per_frame <= 1.005 * sizing["cycles_per_frame_large_fifos"]
    assert abs(res.cycles_per_frame - exp) <= 0.05 * exp


@pytest.mark.rtl
@needs_verilator
def test_shallow_branch_fifo_is_a_named_deadlock(tmp_path):
    m = residual_block(np.random.default_rng(5))
    b = write_build(m, tmp_path / "shallow")
    chain = generate(b).chain
    (short,) = [br for br in chain.branches if br.need]
    d = generate(b, {short.fifo: 2})
    with pytest.raises(FlowError, match=rf"branch deadlock: FIFO {short.fifo} \(depth 2\).*AddStreams"):
        run_design(d, random_frames(d.chain, 1), stall_limit=3000)


def fork_join(rng, join: str):
    """Random shapes/folds/types: fork -> [Thresholding] and [direct] -> AddStreams or StreamingConcat."""
    H, W = (int(v) for v in rng.integers(1, 5, 2))
    C = int(rng.choice([2, 4, 6, 8]))
    pes = [p for p in (1, 2, C) if C % p == 0]
    pe_fork, pe_thr, pe_join = (int(rng.choice(pes)) for _ in range(3))
    idt = str(rng.choice(["UINT4", "INT4", "UINT3"]))
    odt = str(rng.choice(["UINT2", "INT3"]))
    n_thr = (1 << int(odt[-1])) - 1
    lo, hi = (-8, 7) if idt == "INT4" else (0, 15 if idt == "UINT4" else 7)
    vec = [1, H, W]
    layers = [
        ("DuplicateStreams", ["inp"], ["x0", "x1"], dict(NumChannels=C, PE=pe_fork, numInputVectors=vec, inputDataType=idt)),
        ("Thresholding", ["x0"], ["t"], dict(NumChannels=C, PE=pe_thr, numInputVectors=vec, inputDataType=idt,
                                             outputDataType=odt, ActVal=-4 if odt.startswith("INT") else 0,
                                             thresholds=np.sort(rng.integers(lo, hi + 2, (C, n_thr)), axis=1))),
    ]
    if join == "add":
        layers.append(("AddStreams", ["t", "x1"], ["outp"], dict(NumChannels=C, PE=pe_join, numInputVectors=vec,
                                                                 lhsDataType=odt, rhsDataType=idt,
                                                                 lhsScale=int(rng.choice([1, 2, 4])),
                                                                 rhsScale=int(rng.choice([1, 3])))))
        cout = C
    else:
        layers.append(("StreamingConcat", ["x1", "t"], ["outp"], dict(ChannelsPerStream=[C, C], PE=pe_join,
                                                                      numInputVectors=vec, inputDataTypes=[idt, odt])))
        cout = 2 * C
    return dag_model(layers, (1, H, W, C), (1, H, W, cout))


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("join,seed", [("add", 11), ("concat", 12),
                                       pytest.param("add", 13, marks=pytest.mark.slow),
                                       pytest.param("concat", 14, marks=pytest.mark.slow)])
def test_fork_join_random_shapes_rtl_matches_numpy(tmp_path, join, seed):
    m = fork_join(np.random.default_rng(seed), join)
    b = write_build(m, tmp_path / f"{join}{seed}")
    d = generate(b)
    x = random_frames(d.chain, 3, seed=seed)
    res = run_design(d, x, backpressure=0.4)
    np.testing.assert_array_equal(res.outputs, execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x))
