"""The MVAU weight ROM's BRAM18 estimate (``MVAU.bram_estimate``: the best RAMB18 aspect ratio) against
Yosys ``synth_xilinx`` of hls/mvau_ctrl.v's ROM, on ROM shapes where FINN's table (1024x18 for every ROM
deeper than 512 words) over-counts and on wide, shallow ones where every model must waste depth."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.hw.mvau import MVAU
from fpga_flow.sim.unit import hls_sources
from fpga_flow.synth import run_yosys

pytestmark = [pytest.mark.synth, pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")]


# (MW, MH, PE, SIMD) at W4: ROM width PE·SIMD·4 bits, depth MW·MH/(PE·SIMD) words; Yosys counts measured
# on mvau_ctrl (random words): 36x1500 -> 3 RAMB18E1 (FINN: 4), 72x1100 -> 3 RAMB36E1 (FINN: 8),
# 288x9 -> 4 RAMB36E1 (8 BRAM18: 2.6 Kbit in 147 Kbit of BRAM), 20x2000 -> 3 RAMB18E1 (FINN: 4)
@pytest.mark.parametrize("mw,mh,pe,simd,yosys_bram18", [
    (1500, 9, 9, 1, 3),       # 36 bits x 1500
    (1100, 18, 18, 1, 6),     # 72 bits x 1100
    (72, 9, 9, 8, 8),         # 288 bits x 9
    pytest.param(2000, 5, 5, 1, 3, marks=pytest.mark.slow),   # 20 bits x 2000
])
def test_rom_bram_estimate_matches_yosys(tmp_path, mw, mh, pe, simd, yosys_bram18):
    rng = np.random.default_rng(5)
    op = MVAU(make_hw_node("MVAU", "x", "y", name="MVAU_0", MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=[1],
                           inputDataType="UINT4", weightDataType="INT4", weights=rng.integers(-8, 8, (mw, mh))))
    ww, wd = pe * simd * 4, mw * mh // (pe * simd)
    (tmp_path / "w.mem").write_text("\n".join(op.rtl_memories()["WEIGHT_FILE"]) + "\n")
    r = run_yosys("rom", "mvau_ctrl", hls_sources("mvau_ctrl"), "xc7", tmp_path / "ys", cwd=tmp_path, ltp=False,
                  dsp=False, params={"NF": mh // pe, "SF": mw // simd, "WW": ww, "XWORD": 4,
                                     "WEIGHT_FILE": "w.mem", "RAM_STYLE": "block"})
    got = r.as_dict()["resources"]["bram18"]
    assert got == yosys_bram18 == op.bram_estimate(), (ww, wd, got, op.bram_estimate())
