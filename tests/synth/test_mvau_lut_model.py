"""The MVAU's LUT model (what folding fills the board with) against Yosys ``synth_xilinx`` of
hls/mvau.v: within 25 % on the kinds of layer vgg16-pruned's folding picks (issue 15). The model's
coefficients were fitted on benchmarks/mvau_lut_model.py's runs; these cases use other weights and
thresholds (their own seed), so they check the fit rather than repeat it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.hw.mvau import MVAU
from fpga_flow.sim.unit import hls_sources
from fpga_flow.synth import run_yosys

needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")


def _mvau(mw, mh, pe, simd, res_type, lut_mac="multiplier", ram_style="auto", idt="UINT4", wdt="INT4",
          same_thresholds=False, seed=3):
    rng = np.random.default_rng(seed)
    wb = int(wdt[3:])
    thr = np.sort(rng.integers(-400, 400, (mh, 15)), axis=1)
    if same_thresholds:  # untrained BatchNorm: every channel alike (vgg16-pruned with random weights)
        thr = np.repeat(thr[:1], mh, axis=0)
    node = make_hw_node("MVAU", "x", "y", name="MVAU_0", MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=[1, 4, 4],
                        inputDataType=idt, weightDataType=wdt, outputDataType="UINT4", resType=res_type,
                        lut_mac=lut_mac, ram_style=ram_style,
                        weights=rng.integers(-(1 << (wb - 1)), 1 << (wb - 1), (mw, mh)), thresholds=thr)
    return MVAU(node)


def _yosys(op, tmp_path):
    params = op.rtl_parameters()
    for key, lines in op.rtl_memories().items():
        (tmp_path / params[key]).write_text("\n".join(lines) + "\n")
    r = run_yosys("MVAU_0", "mvau", hls_sources("mvau"), "xc7", tmp_path / "ys", params=params,
                  dsp=op.get_nodeattr("resType") == "dsp", cwd=tmp_path, ltp=False)
    return r.as_dict()["resources"]


CASES = [
    # (id, kwargs, slow), the kinds of layer vgg16-pruned's folding picks on Pynq-Z2: packed DSPs with a
    # ragged last group and weights in LUTs; bit-plane LUT MACs one PE wide; then (slow) several PEs
    # with thresholds that differ per channel (a trained network's), weights in BRAM
    ("dsp_packed_lutrom", dict(mw=216, mh=16, pe=4, simd=3, res_type="dsp", ram_style="distributed",
                               same_thresholds=True), False),
    ("bitplane_simd48_lutrom", dict(mw=144, mh=16, pe=1, simd=48, res_type="lut", lut_mac="bitplane",
                                    ram_style="distributed", same_thresholds=True), False),
    ("bitplane_bram", dict(mw=288, mh=64, pe=4, simd=16, res_type="lut", lut_mac="bitplane"), True),
    ("lut_multiplier_bram", dict(mw=288, mh=64, pe=4, simd=16, res_type="lut"), True),
    ("dsp_packed_bram", dict(mw=1008, mh=128, pe=4, simd=8, res_type="dsp"), True),
]


@needs_yosys
@pytest.mark.synth
@pytest.mark.parametrize("kw", [pytest.param(kw, id=i, marks=[pytest.mark.slow] if slow else [])
                                for i, kw, slow in CASES])
def test_mvau_lut_model_within_25_percent_of_yosys(tmp_path, kw):
    op = _mvau(**kw)
    got, est = _yosys(op, tmp_path), op.resource_estimate()
    assert got["dsp"] == est.dsp
    assert 0.75 * got["lut"] <= est.lut <= 1.25 * got["lut"], (got["lut"], round(est.lut))


def test_threshold_rows_alike_cost_no_threshold_luts():
    """Yosys folds a threshold ROM column that is the same in every word into constants; the model
    counts the columns that differ, here read back from the THRESH_FILE codegen writes."""
    same = _mvau(144, 24, 6, 8, "dsp", same_thresholds=True)
    diff = _mvau(144, 24, 6, 8, "dsp")
    assert same.threshold_variety() == 0.0 and diff.threshold_variety() == 1.0
    assert same.lut_terms()["thresholds"] == 0.0
    words = [int(w, 16) for w in diff.rtl_memories()["THRESH_FILE"]]
    tw = 6 * 15 * diff.thr_bits()  # 900 bits a word, 4 words (NF = 24 / 6)
    varying = sum(len({(w >> b) & 1 for w in words}) > 1 for b in range(tw))
    assert len(words) == 4 and varying == diff.lut_terms()["thresholds"] == 717
