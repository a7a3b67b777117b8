"""BinaryMVAU's LUT/BRAM estimate against Yosys ``synth_xilinx`` of hls/mvau_binary.v."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = [pytest.mark.synth, pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")]


@pytest.mark.parametrize("mw,mh,pe,simd,idt,act", [
    (1024, 64, 4, 32, "BINARY", 1),                                        # XNOR-popcount, bipolar out
    pytest.param(288, 64, 4, 9, "UINT8", 1, marks=pytest.mark.slow),      # add/subtract (CNV's first layer)
])
def test_mvau_binary_lut_model_tracks_yosys(tmp_path, mw, mh, pe, simd, idt, act):
    """Within 25 % of Yosys' LUTs (LUTRAM included), the same BRAM count, no DSPs."""
    from fpga_flow.compiler.hw import make_hw_node
    from fpga_flow.compiler.hw.mvau_binary import BinaryMVAU
    from fpga_flow.sim.unit import hls_sources
    from fpga_flow.synth import run_yosys

    rng = np.random.default_rng(3)
    kw = dict(MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=[1, 4, 4], inputDataType=idt,
              weightDataType="INT2", weights=rng.choice([-1, 1], (mw, mh)))
    lo, hi = BinaryMVAU(make_hw_node("BinaryMVAU", "x", "y", **kw)).acc_range()
    op = BinaryMVAU(make_hw_node("BinaryMVAU", "x", "y", name="MVAU_b0", outputDataType=f"UINT{act}",
                                 thresholds=np.sort(rng.integers(lo, hi, (mh, 2 ** act - 1)), axis=1), **kw))
    params = op.rtl_parameters()
    for key, lines in op.rtl_memories().items():
        (tmp_path / params[key]).write_text("\n".join(lines) + "\n")
    r = run_yosys("MVAU_b0", "mvau_binary", hls_sources("mvau_binary"), "xc7", tmp_path / "ys", params=params,
                  dsp=False, cwd=tmp_path)
    got, est = r.as_dict()["resources"], op.resource_estimate()
    assert got["dsp"] == est.dsp == 0
    assert got["bram18"] == est.bram18
    assert 0.75 * got["lut"] <= est.lut <= 1.25 * got["lut"], (got["lut"], est.lut)
