"""VVAU (depthwise conv) RTL against its numpy semantics on random shapes, folds and datatypes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import make_hw_node

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")


def vvau(rng, C, PE, K, idt="UINT4", wdt="INT4", act=True, V=(1, 3, 2), SIMD=1):
    lo_w, hi_w = (-8, 7) if wdt == "INT4" else (-2, 1)
    W = rng.integers(lo_w, hi_w + 1, (C, K))
    kw = dict(NumChannels=C, Kernel=[K, 1] if K != 9 else [3, 3], PE=PE, SIMD=SIMD, numInputVectors=list(V),
              inputDataType=idt, weightDataType=wdt, weights=W, thresholds=np.zeros((0,)))
    if act:
        kw.update(thresholds=np.sort(rng.integers(-60, 60, (C, 15)), axis=1), outputDataType="INT4", ActVal=-8)
    return getCustomOp(make_hw_node("VVAU", "inp", "outp", name="VVAU_t", **kw))


def test_vvau_numpy_semantics_and_cycles():
    rng = np.random.default_rng(0)
    op = vvau(rng, C=6, PE=3, K=9, act=False)
    x = rng.integers(0, 16, (1, 3, 2, 9 * 6))
    y = op.execute_numpy(x)
    xs = x.reshape(1, 3, 2, 9, 6)
    ref = np.zeros((1, 3, 2, 6), dtype=np.int64)
    for c in range(6):
        for k in range(9):
            ref[..., c] += xs[..., k, c] * op.W()[c, k]
    np.testing.assert_array_equal(y, ref)
    assert op.exp_cycles() == 6 * 9 * 6 // 3
    assert op.output_datatype().name == f"INT{op.acc_bits()}"
    lo, hi = op.acc_range()
    assert lo <= y.min() and y.max() <= hi


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("seed", [1, 2])
def test_vvau_rtl_matches_numpy(seed):
    from fpga_flow.sim.unit import simulate_op

    rng = np.random.default_rng(seed)
    C = int(rng.choice([2, 4, 6]))
    PE = int(rng.choice([p for p in (1, 2, C) if C % p == 0]))
    K = int(rng.choice([9, 3]))
    op = vvau(rng, C, PE, K, idt=str(rng.choice(["UINT4", "INT3"])), wdt=str(rng.choice(["INT4", "INT2"])),
              act=bool(seed % 2))
    x = rng.integers(int(op.input_datatype().min()), int(op.input_datatype().max()) + 1,
                     (3,) + op.normal_input_shape()[1:])
    y, res = simulate_op(op, x, backpressure=0.3, gaps=0.2)
    ref = np.stack([op.execute_numpy(f[None])[0] for f in x])
    np.testing.assert_array_equal(y, ref)
    y, res = simulate_op(op, x)
    assert abs(res.cycles_per_frame - op.exp_cycles()) <= 0.02 * op.exp_cycles() + 4


def test_vvau_simd_folding_rules_and_model():
    rng = np.random.default_rng(5)
    op = vvau(rng, C=4, PE=4, K=9, SIMD=3)
    assert op.check_folding() == [] and op.exp_cycles() == 6 * 9 * 4 // 12
    assert op.instream_width() == 12 * 4 and op.outstream_width() == 4 * 4
    base = vvau(rng, C=4, PE=4, K=9, SIMD=1).resource_estimate().lut
    assert op.resource_estimate().lut > base  # three multipliers per lane instead of one
    lines = op.rtl_memories()["WEIGHT_FILE"]
    assert len(lines) == 3  # K/SIMD lines of SIMD·PE weights
    op.set_nodeattr("PE", 2)
    assert any("needs PE = NumChannels" in e for e in op.check_folding())
    op.set_nodeattr("PE", 4)
    op.set_nodeattr("SIMD", 2)
    assert any("not divisible by SIMD=2" in e for e in op.check_folding())


def test_fold_walks_vvau_simd_after_pe():
    """FINN's SetFolding order: PE up to the channels, then SIMD over the kernel."""
    from fpga_flow.compiler.transforms.fold import set_folding

    def fold_one(op, target):
        set_folding([(op.onnx_node, op)], target)

    rng = np.random.default_rng(6)
    op = vvau(rng, C=4, PE=1, K=9, V=(1, 8, 8))
    fold_one(op, target=64 * 9 * 4 / 4)      # PE = 4, SIMD = 1 meets it
    assert (op.get_nodeattr("PE"), op.get_nodeattr("SIMD")) == (4, 1)
    fold_one(op, target=64 * 3)              # needs 3 positions per word
    assert (op.get_nodeattr("PE"), op.get_nodeattr("SIMD")) == (4, 3) and op.exp_cycles() == 64 * 3


def test_finn_folding_json_sets_vvau_simd():
    from fpga_flow.compiler.folding_config import ApplyConfig, extract_folding_config
    from fpga_flow.compiler.hw import make_single_node_model

    m = make_single_node_model("VVAU", name="VVAU_0", NumChannels=4, Kernel=[3, 3], numInputVectors=[1, 2, 2],
                               weights=np.ones((4, 9)), thresholds=np.zeros((0,)))
    m, _ = ApplyConfig({"VVAU_hls_0": {"PE": 4, "SIMD": 3}}).apply(m)
    assert extract_folding_config(m)["VVAU_0"] == {"PE": 4, "SIMD": 3}
    with pytest.raises(Exception, match="SIMD=3 > 1 needs PE = NumChannels"):
        ApplyConfig({"VVAU_0": {"PE": 2, "SIMD": 3}}).apply(m)


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("seed", [3, 4])
def test_vvau_simd_rtl_matches_numpy(seed):
    from fpga_flow.sim.unit import simulate_op

    rng = np.random.default_rng(seed)
    C = int(rng.choice([1, 2, 4]))
    K = int(rng.choice([9, 3]))
    SIMD = int(rng.choice([s for s in (2, 3, 9) if K % s == 0 and s != 1]))
    op = vvau(rng, C, C, K, idt=str(rng.choice(["UINT4", "INT3"])), wdt=str(rng.choice(["INT4", "INT2"])),
              act=bool(seed % 2), SIMD=SIMD)
    assert op.check_folding() == []
    x = rng.integers(int(op.input_datatype().min()), int(op.input_datatype().max()) + 1,
                     (3,) + op.normal_input_shape()[1:])
    ref = np.stack([op.execute_numpy(f[None])[0] for f in x])
    y, res = simulate_op(op, x, backpressure=0.3, gaps=0.2)
    np.testing.assert_array_equal(y, ref)
    y, res = simulate_op(op, x)
    np.testing.assert_array_equal(y, ref)
    assert abs(res.cycles_per_frame - op.exp_cycles()) <= 0.02 * op.exp_cycles() + 4
