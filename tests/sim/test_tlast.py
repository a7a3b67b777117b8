"""hls/axis_tlast_gen.v (the DMA shell's TLAST) in Verilator: data and flow untouched, TLAST high
on exactly the last word of every frame, under input gaps and output backpressure."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpga_flow.sim import verilator as vl
from fpga_flow.sim.packing import pack, unpack

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]

# the testbench sees data only: a wrapper puts TLAST above the data bits
WRAPPER = """
module tlast_probe #(parameter WIDTH = 8, parameter WORDS = 1) (
    input  wire ap_clk, input wire ap_rst_n,
    input  wire [WIDTH-1:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [WIDTH:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready
);
    wire [WIDTH-1:0] d;
    wire last;
    axis_tlast_gen #(.WIDTH(WIDTH), .WORDS(WORDS)) u (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .m_axis_tdata(d), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tlast(last));
    assign m_axis_tdata = {last, d};
endmodule
"""


@pytest.mark.parametrize("words_per_frame", [1, 5])
def test_tlast_on_last_word_of_each_frame(tmp_path, words_per_frame):
    width, frames = 12, 4
    wrapper = tmp_path / "tlast_probe.v"
    wrapper.write_text(WRAPPER)
    spec = vl.TbSpec(top="tlast_probe", in_width=width, out_width=width + 1)
    binary = vl.build([vl.HLS_DIR / "axis_tlast_gen.v", wrapper], spec, {"WIDTH": width, "WORDS": words_per_frame})
    rng = np.random.default_rng(words_per_frame)
    data = rng.integers(0, 2**width, (frames * words_per_frame, 1))
    res = vl.run(binary, pack(data, width, 1, signed=False), frames=frames, in_per_frame=words_per_frame,
                 out_per_frame=words_per_frame, out_width=width + 1, backpressure=0.4, gaps=0.3, seed=5)
    out = unpack(res.outputs, width + 1, 1, False).reshape(-1)
    np.testing.assert_array_equal(out & (2**width - 1), data.reshape(-1))
    last = (out >> width).astype(bool)
    expected = np.zeros(frames * words_per_frame, dtype=bool)
    expected[words_per_frame - 1::words_per_frame] = True
    np.testing.assert_array_equal(last, expected)
