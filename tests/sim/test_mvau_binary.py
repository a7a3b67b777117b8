"""hls/mvau_binary.v in Verilator against BinaryMVAU's numpy semantics (= the MVAU's on ±1
weights): XNOR-popcount on 0/1 inputs (with and without activation) and add/subtract on multi-bit
inputs, random shapes and values, under input gaps and output backpressure; cycles/frame equal the
class's exp_cycles() when streaming freely."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpga_flow.sim.unit import simulate_op

from . import cases

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]


def binary_mvau(rng, *, MW, MH, PE, SIMD, V=(1, 3), idt="UINT1", act_bits=1, act_bias=0):
    W = rng.choice([-1, 1], (MW, MH))
    kw = dict(MW=MW, MH=MH, PE=PE, SIMD=SIMD, numInputVectors=list(V), inputDataType=idt,
              weightDataType="INT2", weights=W)
    if act_bits:
        lo, hi = cases.make_op("BinaryMVAU", **kw).acc_range()
        span, mid = max(2, (hi - lo) // 4), (hi + lo) // 2
        kw.update(thresholds=cases._thresholds(rng, MH, act_bits, mid - span, mid + span), ActVal=act_bias,
                  outputDataType=f"INT{act_bits}" if act_bias < 0 else f"UINT{act_bits}")
    op = cases.make_op("BinaryMVAU", **kw)
    assert op.rtl_module == "mvau_binary" and op.resource_estimate().dsp == 0
    return op


def check(op, rng, frames=3):
    x = cases.rand_input(op, rng, frames)
    ref = cases.reference(op, x)
    y, _ = simulate_op(op, x, backpressure=0.3, gaps=0.2, seed=7)
    np.testing.assert_array_equal(y, ref)
    y2, res = simulate_op(op, x)
    np.testing.assert_array_equal(y2, ref)
    assert res.cycles_per_frame == op.exp_cycles(), (res.cycles_per_frame, op.exp_cycles())


FAST = [
    ("xnor_bipolar_out", dict(MW=12, MH=8, PE=2, SIMD=4, V=(1, 2, 2))),
    ("xnor_noact", dict(MW=20, MH=6, PE=3, SIMD=20, act_bits=0)),     # ACC_INIT_FILE, SIMD > 16
    ("addsub_int2_act", dict(MW=8, MH=4, PE=4, SIMD=2, idt="INT2", act_bits=2, act_bias=-2)),
    pytest.param("addsub_uint8_act", dict(MW=27, MH=4, PE=2, SIMD=3, idt="UINT8", act_bits=1), marks=pytest.mark.slow),
    pytest.param("addsub_int8_noact", dict(MW=6, MH=5, PE=5, SIMD=6, V=(1,), idt="INT8", act_bits=0),
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,kw", FAST)
def test_mvau_binary(name, kw):
    rng = np.random.default_rng(sum(map(ord, name)))
    op = binary_mvau(rng, **kw)
    assert op.xnor() == (op.input_datatype().name in ("UINT1", "BINARY"))
    check(op, rng)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_mvau_binary_random(seed):
    rng = np.random.default_rng(7000 + seed)

    def div(n):
        return int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))

    MW, MH = int(rng.integers(2, 70)), int(rng.integers(1, 24))
    idt = str(rng.choice(["BINARY", "BINARY", "INT2", "UINT2", "INT4", "UINT8"]))
    act = int(rng.choice([0, 1, 2]))
    op = binary_mvau(rng, MW=MW, MH=MH, PE=div(MH), SIMD=div(MW), V=(1, int(rng.integers(1, 4))), idt=idt,
                     act_bits=act, act_bias=-2 if act == 2 and rng.random() < 0.5 else 0)
    check(op, rng, frames=2)
