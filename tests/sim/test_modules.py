"""Each hls/ module in Verilator against the numpy semantics of its hardware layer class:
bit-exact on random values, under random input gaps and output backpressure, and with the
cycles/frame of its ``exp_cycles()`` model (within 5 %) when streaming freely."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpga_flow.sim.unit import simulate_op

from . import cases

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]


def _check(op, rng, frames=3):
    x = cases.rand_input(op, rng, frames)
    ref = cases.reference(op, x)
    y, _ = simulate_op(op, x, backpressure=0.3, gaps=0.2, seed=7)
    assert y.shape == ref.shape
    np.testing.assert_array_equal(y, ref)
    y2, res = simulate_op(op, x)
    np.testing.assert_array_equal(y2, ref)
    exp = op.exp_cycles()
    if exp:
        assert abs(res.cycles_per_frame - exp) <= 0.05 * exp + 2, (res.cycles_per_frame, exp)
    return res


@pytest.mark.parametrize("name,builder,kw", cases.FAST, ids=[c[0] for c in cases.FAST])
def test_module(name, builder, kw):
    rng = np.random.default_rng(sum(map(ord, name)))
    op = builder(rng, **kw)
    _check(op, rng)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", cases.SLOW_KINDS)
def test_module_random(kind, seed):
    rng = np.random.default_rng(1000 * seed + sum(map(ord, kind)))
    op = cases.random_case(rng, kind)
    _check(op, rng, frames=2)


PW_CASES = [c for c in cases.FAST if c[1] is cases.swg_pw]


@pytest.mark.parametrize("name,builder,kw", PW_CASES, ids=[c[0] for c in PW_CASES])
def test_swg_parallel_window_cycles_exact(name, builder, kw):
    """hls/swg_pw.v streams frames back to back at one position per cycle, so its cycle model
    (the image extended by the bottom/right padding, RH·RW) is exact; a frame's last window leaves
    at most two cycles (line-buffer read, window register) after the frame's last position."""
    rng = np.random.default_rng(sum(map(ord, name)))
    op = builder(rng, **kw)
    assert op.rtl_module == "swg_pw" and op.out_fold() == kw["K"][0] * kw["K"][1] * kw["C"]
    x = cases.rand_input(op, rng, 4)
    y, res = simulate_op(op, x)
    np.testing.assert_array_equal(y, cases.reference(op, x))
    assert res.cycles_per_frame == op.exp_cycles()
    assert res.latency <= op.exp_cycles() + 2
