"""StreamingConcat of N > 2 inputs (FINN's StreamingConcat takes any number): numpy semantics,
cycle and resource model, and hls/stream_concat.v in Verilator bit-exact against numpy on random
shapes, folds and input types (fork -> N branches of different channels/types -> concat)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.codegen import generate
from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.hw.base import PackedParam
from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, run_design

from .graphs import dag_model, write_build

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")

TYPES = {"UINT4": (0, 15), "INT4": (-8, 7), "UINT3": (0, 7), "UINT2": (0, 3), "INT3": (-4, 3), "INT6": (-32, 31)}


def fork_concat(rng, n: int):
    """fork (n outputs) -> branch 0 direct, branch k: a Thresholding (C channels) or a 1x1 MVAU
    (F_k channels, thresholded to a random type) -> StreamingConcat of the n branches."""
    H, W = (int(v) for v in rng.integers(1, 4, 2))
    pe = int(rng.choice([1, 2]))
    C = pe * int(rng.integers(1, 4))
    idt = str(rng.choice(["UINT4", "INT4", "UINT3"]))
    vec = [1, H, W]
    layers = [("DuplicateStreams", ["inp"], [f"x{k}" for k in range(n)],
               dict(NumChannels=C, PE=int(rng.choice([p for p in (1, 2, C) if C % p == 0])), numInputVectors=vec,
                    inputDataType=idt, NumOutputStreams=n))]
    srcs, chans, dts = ["x0"], [C], [idt]
    lo, hi = TYPES[idt]
    for k in range(1, n):
        odt = str(rng.choice(["UINT2", "INT3", "INT6"]))
        nthr = (1 << int(odt[-1])) - 1
        act = -(1 << (int(odt[-1]) - 1)) if odt.startswith("INT") else 0
        if rng.random() < 0.5:
            layers.append(("Thresholding", [f"x{k}"], [f"b{k}"], dict(
                NumChannels=C, PE=int(rng.choice([p for p in (1, C) if C % p == 0])), numInputVectors=vec,
                inputDataType=idt, outputDataType=odt, ActVal=act,
                thresholds=np.sort(rng.integers(lo, hi + 2, (C, nthr)), axis=1))))
            F = C
        else:
            F = pe * int(rng.integers(1, 4))
            layers.append(("MVAU", [f"x{k}"], [f"b{k}"], dict(
                MW=C, MH=F, PE=int(rng.choice([p for p in (1, F) if F % p == 0])), SIMD=1, numInputVectors=vec,
                inputDataType=idt, weightDataType="INT3", weights=rng.integers(-4, 4, (C, F)),
                thresholds=np.sort(rng.integers(-40, 40, (F, nthr)), axis=1), outputDataType=odt, ActVal=act)))
        srcs.append(f"b{k}")
        chans.append(F)
        dts.append(odt)
    layers.append(("StreamingConcat", srcs, ["outp"], dict(ChannelsPerStream=chans, PE=pe, numInputVectors=vec,
                                                          inputDataTypes=dts)))
    return dag_model(layers, (1, H, W, C), (1, H, W, sum(chans)))


def test_concat_n_semantics_cycles_and_parameters():
    rng = np.random.default_rng(0)
    m = fork_concat(rng, 4)
    cat = getCustomOp(m.graph.node[-1])
    chans, pe = cat.get_nodeattr("ChannelsPerStream"), cat.get_nodeattr("PE")
    x = rng.integers(*TYPES[cat.input_datatypes()[0].name], (1,) + cat.normal_input_shape()[1:])
    y, ctx = execute_hw(m, x, return_all=True)
    np.testing.assert_array_equal(y, np.concatenate([ctx[t] for t in m.graph.node[-1].input], axis=-1))
    lo = min(int(d.min()) for d in cat.input_datatypes())
    hi = max(int(d.max()) for d in cat.input_datatypes())
    assert cat.output_datatype().min() <= lo and cat.output_datatype().max() >= hi
    assert cat.exp_cycles() == int(np.prod(cat.normal_output_shape())) // pe
    p = cat.rtl_parameters()
    assert p["N_IN"] == 4 and p["IN_WIDTH"] == pe * sum(d.bitwidth() for d in cat.input_datatypes())
    words = [(int(p["WORDS"]) >> (16 * k)) & 0xFFFF for k in range(4)]
    assert words == [c // pe for c in chans] and p["WORDS"].verilog().startswith("64'h")
    # the mux grows with N: 2 -> one LUT per output bit, 5..7 inputs -> two
    two = dag_model([("StreamingConcat", ["a", "b"], ["outp"], dict(ChannelsPerStream=[2, 2], inputDataTypes=["UINT4"] * 2))],
                    (1, 2), (1, 4))
    five = dag_model([("StreamingConcat", list("abcde"), ["outp"], dict(ChannelsPerStream=[2] * 5,
                                                                          inputDataTypes=["UINT4"] * 5))], (1, 2), (1, 10))
    r2, r5 = (getCustomOp(mm.graph.node[0]).resource_estimate() for mm in (two, five))
    assert r5.lut - r2.lut >= 4
    with pytest.raises(ValueError):
        PackedParam([256], 8)


def test_concat_n_checks_inputs():
    m = dag_model([("StreamingConcat", ["a", "b", "c"], ["outp"], dict(ChannelsPerStream=[2, 2],
                                                                      inputDataTypes=["UINT4"] * 3))], (1, 2), (1, 4))
    errs = getCustomOp(m.graph.node[0]).check_folding()
    assert errs and "one of each per input stream" in errs[0]


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("n,seed", [(3, 21), (5, 22), pytest.param(4, 23, marks=pytest.mark.slow),
                                    pytest.param(7, 24, marks=pytest.mark.slow)])
def test_concat_n_random_shapes_rtl_matches_numpy(tmp_path, n, seed):
    m = fork_concat(np.random.default_rng(seed), n)
    b = write_build(m, tmp_path / f"cat{n}_{seed}")
    d = generate(b)
    x = random_frames(d.chain, 3, seed=seed)
    ref = execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x)
    res = run_design(d, x, backpressure=0.4)
    np.testing.assert_array_equal(res.outputs, ref)
    res = run_design(d, x)
    cat = next(s for s in d.chain.stages if s.op_type == "StreamingConcat")
    slow = max(s.exp_cycles for s in d.chain.stages)
    # one output word per cycle: the concat's words, unless another layer is slower (small frames:
    # a few cycles of pipeline fill per frame on top)
    assert cat.exp_cycles <= res.cycles_per_frame <= 1.1 * slow + 20
