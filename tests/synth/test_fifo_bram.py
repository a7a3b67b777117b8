"""A sized FIFO's BRAM18 (``fifo_bram18``, what the FIFO fit of the build stage counts: flow/fifo_fit.py)
against Yosys ``synth_xilinx`` of hls/fifo.v at the RAM style codegen gives it (``fifo_ram_style``)."""

from __future__ import annotations

import shutil

import pytest

from fpga_flow.compiler.hw.stream import fifo_bram18, fifo_ram_style
from fpga_flow.sim.unit import hls_sources
from fpga_flow.synth import run_yosys

pytestmark = [pytest.mark.synth, pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")]


# Yosys 0.23 counts measured here: 12x4096 -> 3 RAMB18 (4096x4 each), 128x512 -> 4, 96x1024 -> 6;
# 384x141 is LUTRAM by fifo_ram_style (11 BRAM18 at 27 %), 8x32 a RAM32M: 0
@pytest.mark.parametrize("width,depth,yosys_bram18", [
    (12, 4096, 3),
    (128, 512, 4),
    (384, 141, 0),
    (8, 32, 0),
    pytest.param(96, 1024, 6, marks=pytest.mark.slow),
])
def test_fifo_bram_model_matches_yosys(tmp_path, width, depth, yosys_bram18):
    r = run_yosys("fifo", "fifo", hls_sources("fifo"), "xc7", tmp_path / "ys", ltp=False, dsp=False,
                  params={"WIDTH": width, "DEPTH": depth, "RAM_STYLE": fifo_ram_style(width, depth)})
    got = r.as_dict()["resources"]["bram18"]
    assert got == yosys_bram18 == fifo_bram18(width, depth), (width, depth, got, fifo_bram18(width, depth))
