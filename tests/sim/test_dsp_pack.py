"""hls/dsp_pack.v (K products per DSP slice) in Verilator: every product equals (w + 2^(W-1))·x, for
every combination of the extreme values of each signed weight and signed/unsigned input width, and
exhaustively over all (w_k, x) at small widths; packing factors as the compiler chooses them."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest

from fpga_flow.compiler.hw.mvau import max_dsp_pack
from fpga_flow.sim import verilator as vl
from fpga_flow.sim.packing import pack, unpack

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]

# stream wrapper: one input word {x, w_{K-1} .. w_0} per cycle -> one output word {p_{K-1} .. p_0}
WRAPPER = """
module dsp_pack_probe #(parameter K = 3, parameter W_BITS = 4, parameter IN_BITS = 4, parameter IN_SIGNED = 0,
                        parameter PW = W_BITS + IN_BITS + 1) (
    input  wire ap_clk, input wire ap_rst_n,
    input  wire [K*W_BITS+IN_BITS-1:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [K*PW-1:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready
);
    reg v;
    wire en = !v || m_axis_tready;
    assign s_axis_tready = en;
    assign m_axis_tvalid = v;
    always @(posedge ap_clk) if (!ap_rst_n) v <= 1'b0; else if (en) v <= s_axis_tvalid;
    dsp_pack #(.K(K), .W_BITS(W_BITS), .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .PW(PW)) u (
        .clk(ap_clk), .en(en), .w(s_axis_tdata[K*W_BITS-1:0]), .x(s_axis_tdata[K*W_BITS +: IN_BITS]),
        .p(m_axis_tdata));
endmodule
"""


def _extremes(bits: int, signed: bool) -> list[int]:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return sorted({lo, lo + 1, -1 if signed else 1, 0, 1, hi - 1, hi} & set(range(lo, hi + 1)))


def _run(tmp_path, k, wb, ib, signed, w, x):
    """w: (n, k) signed weights, x: (n,) inputs -> (n, k) products from the RTL."""
    wrapper = tmp_path / "dsp_pack_probe.v"
    wrapper.write_text(WRAPPER)
    pw = wb + ib + 1
    spec = vl.TbSpec(top="dsp_pack_probe", in_width=k * wb + ib, out_width=k * pw)
    binary = vl.build([vl.HLS_DIR / "dsp_pack.v", wrapper], spec,
                      {"K": k, "W_BITS": wb, "IN_BITS": ib, "IN_SIGNED": int(signed)})
    # the input word as one unsigned integer (weights two's complement in the low fields)
    mask_w, mask_x = (1 << wb) - 1, (1 << ib) - 1
    word = np.zeros(len(x), dtype=object)
    for j in range(k):
        word = word + ((w[:, j].astype(object) & mask_w) << (j * wb))
    word = word + ((x.astype(object) & mask_x) << (k * wb))
    in_w = k * wb + ib
    res = vl.run(binary, pack(word.reshape(-1, 1), in_w, 1, signed=False), frames=1, in_per_frame=len(x),
                 out_per_frame=len(x), out_width=k * pw, backpressure=0.3, gaps=0.2, seed=3)
    return unpack(res.outputs, pw, k, True).reshape(len(x), k)


# (W_BITS, IN_BITS, IN_SIGNED): the widths of the flow's layers and the corners of the packing
# (one Verilator build each, ~30 s: the flow's W4A4 in `make test`, the rest in `make test-slow`)
_SLOW = [(2, 2, False), (2, 2, True), (8, 8, False), (8, 8, True), (3, 5, True), (4, 8, False), (6, 3, False)]
CASES = [(4, 4, False), (4, 4, True)] + [pytest.param(*c, marks=pytest.mark.slow) for c in _SLOW]


def _id(c):
    w, a, s = c.values if hasattr(c, "values") else c
    return f"W{w}A{a}{'s' if s else 'u'}"


@pytest.mark.parametrize("wb,ib,signed", CASES, ids=[_id(c) for c in CASES])
def test_extreme_values_bit_exact(tmp_path, wb, ib, signed):
    k = max_dsp_pack(wb, ib)
    assert k >= 2
    wvals = _extremes(wb, True)
    xvals = _extremes(ib, signed)
    rng = np.random.default_rng(wb * 100 + ib * 10 + signed)
    # every x against every weight value in every field, the other fields at random extremes
    rows = []
    for xv, wv, j in itertools.product(xvals, wvals, range(k)):
        r = rng.choice(wvals, k)
        r[j] = wv
        rows.append((xv, *r))
    # all fields at the same extreme (largest borrows / carries between fields)
    rows += [(xv, *([wv] * k)) for xv in xvals for wv in wvals]
    a = np.array(rows, dtype=np.int64)
    x, w = a[:, 0], a[:, 1:]
    got = _run(tmp_path, k, wb, ib, signed, w, x)
    np.testing.assert_array_equal(got, (w + (1 << (wb - 1))) * x[:, None])


@pytest.mark.parametrize("wb,ib,signed", [(2, 2, True), pytest.param(3, 3, False, marks=pytest.mark.slow),
                                          pytest.param(3, 2, True, marks=pytest.mark.slow)])
def test_exhaustive_small_widths(tmp_path, wb, ib, signed):
    """All (w_0 .. w_{K-1}, x) of small widths, K as packed (up to 7 fields: first three exhaustive)."""
    k = max_dsp_pack(wb, ib)
    wr = range(-(1 << (wb - 1)), 1 << (wb - 1))
    xr = range(-(1 << (ib - 1)), 1 << (ib - 1)) if signed else range(1 << ib)
    rng = np.random.default_rng(1)
    rows = [(xv, *ws, *rng.choice(list(wr), k - 3)) for xv in xr for ws in itertools.product(wr, repeat=min(k, 3))]
    a = np.array(rows, dtype=np.int64)
    x, w = a[:, 0], a[:, 1:k + 1]
    got = _run(tmp_path, k, wb, ib, signed, w, x)
    np.testing.assert_array_equal(got, (w + (1 << (wb - 1))) * x[:, None])
