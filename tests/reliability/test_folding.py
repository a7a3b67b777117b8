"""Folding JSON as FINN users write it: unmatched entries, FINN's max-pool default, the board budget,
and designs that codegen would reject. Each failure leaves the earlier build untouched."""

from __future__ import annotations

import json

import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler import build_dataflow
from fpga_flow.errors import FlowError

from .conftest import cli, committed, snapshot


def _cfg(build):
    return json.loads((build / "folding.json").read_text())


def test_config_matching_no_layer_is_an_error(tiny, build_copy, tmp_path):
    cfg = {"Defaults": {}, "MVAU_hls_7": {"PE": 2}, "conv_weird": {"SIMD": 3}}
    p = tmp_path / "other.json"
    p.write_text(json.dumps(cfg))
    before = snapshot(tiny, build_copy, p)
    r = cli("build", "--model", tiny, "--out", build_copy, "--folding-config", p)
    assert r.code == 1 and str(p) in r.message and "none of its 2 entries matches a layer" in r.message
    assert "MVAU_hls_7" in r.message and "MVAU_0" in r.message  # what it has, what the graph has
    assert committed(snapshot(tiny, build_copy, p)) == before


def test_unused_finn_entries_are_reported_not_dropped(tiny, tiny_build, tmp_path):
    cfg = _cfg(tiny_build)
    cfg["Thresholding_rtl_0"] = {"PE": 1}   # runs on the host in this build
    cfg["LabelSelect_hls_0"] = {"PE": 1}
    p = tmp_path / "finn.json"
    p.write_text(json.dumps(cfg))
    r = cli("build", "--model", tiny, "--out", tmp_path / "o", "--folding-config", p)
    assert r.code == 0, r.message
    flat = " ".join(r.output.split())
    assert "2 entries match no layer of this graph" in flat and "Thresholding_rtl_0, LabelSelect_hls_0" in flat
    est = json.loads((tmp_path / "o" / "estimates.json").read_text())
    assert any("Thresholding_rtl_0" in n for n in est["fold"]["notes"])
    # the entries that match are applied exactly
    assert _cfg(tmp_path / "o") == _cfg(tiny_build)


def test_maxpool_without_entry_takes_all_channels_like_finn(tiny, tiny_build, tmp_path):
    cfg = {k: v for k, v in _cfg(tiny_build).items() if not k.startswith("StreamingMaxPool")}
    for k in cfg:
        if k.startswith("MVAU") or k.startswith("ConvolutionInputGenerator"):
            cfg[k] = {a: 1 if a in ("PE", "SIMD", "parallel_window") else v for a, v in cfg[k].items()}
            cfg[k].pop("parallel_window", None)
    r = build_dataflow(tiny, "Pynq-Z2", tmp_path / "o", folding_config=cfg, quiet=True)
    m = ModelWrapper(str(tmp_path / "o" / "dataflow.onnx"))
    pool = getCustomOp(m.get_node_from_name("StreamingMaxPool_0"))
    assert pool.get_nodeattr("PE") == pool.get_nodeattr("NumChannels") == 4
    # 8x8 pixels, one per cycle: 64 cycles, not 8*8*4 = 256 as with PE = 1
    pool_est = next(ly for ly in r.estimates["layers"] if ly["name"] == "StreamingMaxPool_0")
    assert pool_est["cycles"] == 64
    assert not any("without an entry" in n for n in r.fold["notes"])  # the pool follows FINN: nothing to report


def test_config_over_board_fails_naming_the_resource_unless_best_effort(tiny, tiny_build, tmp_path):
    board = tmp_path / "Small-Board.yaml"
    board.write_text("name: Small-Board\npart: xc7z020clg400-1\nfamily: xc7\nps: zynq7\nclock_mhz: 100\n"
                     "axi_hp_width: 64\nresources: {lut: 2000, ff: 106400, dsp: 220, bram36: 140, bram18: 280, "
                     "uram: 0, lutram: 500}\n")
    cfg = tiny_build / "folding.json"
    lut = json.loads((tiny_build / "estimates.json").read_text())["total"]["resources"]["lut"]
    assert lut > 2000  # the fixture's design needs more LUTs than the small board has
    out = tmp_path / "o"
    r = cli("build", "--model", tiny, "--board", board, "--out", out, "--folding-config", cfg)
    assert r.code == 1
    assert f"exceeds board Small-Board: lut {lut:.0f} of 2000 ({lut / 2000:.0%})" in r.message
    assert "--best-effort" in r.message and not (out / "estimates.json").exists()
    r = cli("build", "--model", tiny, "--board", board, "--out", out, "--folding-config", cfg, "--best-effort")
    assert r.code == 0, r.message
    est = json.loads((out / "estimates.json").read_text())
    assert not est["total"]["fits"] and any("exceeds board Small-Board: lut" in n for n in est["fold"]["notes"])


def test_search_above_whole_board_fails(tiny, tmp_path):
    """The search itself never returns a design above 100 % (--budget-fraction > 1 lets it try)."""
    board = tmp_path / "Tiny-Board.yaml"
    board.write_text("name: Tiny-Board\npart: xc7z020clg400-1\nfamily: xc7\nps: zynq7\nclock_mhz: 100\n"
                     "axi_hp_width: 64\nresources: {lut: 1500, ff: 106400, dsp: 0, bram36: 0, bram18: 0, "
                     "uram: 0, lutram: 500}\n")
    with pytest.raises(FlowError, match=r"the design exceeds board Tiny-Board: lut [0-9]+ of 1500 \([1-9][0-9]{2}%\)"):
        build_dataflow(tiny, board, tmp_path / "o", budget_fraction=3.0, quiet=True)
    assert not (tmp_path / "o" / "estimates.json").exists()


def test_defaults_codegen_cannot_generate_fail_the_build(tiny, build_copy, tmp_path):
    """Defaults set PE = 3 on every MVAU (MH = 4 and 8): codegen would reject it, so no estimate."""
    p = tmp_path / "d.json"
    p.write_text(json.dumps({"Defaults": {"PE": [3, ["MVAU"]]}}))
    before = snapshot(build_copy / "dataflow.onnx", build_copy / "estimates.json", build_copy / "folding.json")
    r = cli("build", "--model", tiny, "--out", build_copy, "--folding-config", p)
    assert r.code == 1 and "layer MVAU_0: MH=4 not divisible by PE=3 (set by the Defaults)" in r.message
    assert snapshot(build_copy / "dataflow.onnx", build_copy / "estimates.json", build_copy / "folding.json") == before


def test_codegen_check_runs_on_every_build(tiny, tmp_path, monkeypatch):
    """A layer whose RTL codegen cannot produce fails the build naming the node, whatever the folding."""
    from fpga_flow.compiler.hw.pool import StreamingMaxPool

    monkeypatch.setattr(StreamingMaxPool, "rtl_module", "")
    with pytest.raises(FlowError, match=r"codegen cannot generate this design: node StreamingMaxPool_0: "
                                        r"StreamingMaxPool has no RTL module"):
        build_dataflow(tiny, "Pynq-Z2", tmp_path / "o", quiet=True)
    assert not (tmp_path / "o" / "estimates.json").exists()


CNV_FINN_STYLE = {  # FINN names after specialisation, in the style of finn-examples' cnv-w1a1 folding
    "Defaults": {},
    "Thresholding_rtl_0": {"PE": 1},
    "MVAU_hls_0": {"PE": 16, "SIMD": 3, "ram_style": "block"},
    "ConvolutionInputGenerator_rtl_0": {"SIMD": 3, "ram_style": "distributed"},
    "MVAU_hls_1": {"PE": 32, "SIMD": 32, "ram_style": "block"},
    "ConvolutionInputGenerator_rtl_1": {"SIMD": 32, "ram_style": "distributed"},
    "MVAU_hls_2": {"PE": 16, "SIMD": 32, "ram_style": "block"},
    "ConvolutionInputGenerator_rtl_2": {"SIMD": 32, "ram_style": "distributed"},
    "MVAU_hls_3": {"PE": 16, "SIMD": 32, "ram_style": "block"},
    "ConvolutionInputGenerator_rtl_3": {"SIMD": 32, "ram_style": "distributed"},
    "MVAU_hls_4": {"PE": 4, "SIMD": 32, "ram_style": "block"},
    "ConvolutionInputGenerator_rtl_4": {"SIMD": 32, "ram_style": "distributed"},
    "ConvolutionInputGenerator_rtl_5": {"SIMD": 32, "ram_style": "distributed"},
    "MVAU_hls_5": {"PE": 1, "SIMD": 32, "ram_style": "block"},
    "MVAU_hls_6": {"PE": 1, "SIMD": 4, "ram_style": "auto"},
    "MVAU_hls_7": {"PE": 1, "SIMD": 8, "ram_style": "auto"},
    "MVAU_hls_8": {"PE": 5, "SIMD": 1, "ram_style": "distributed"},
    "LabelSelect_hls_0": {"PE": 1},
}


@pytest.mark.slow
def test_cnv_with_finn_style_folding(tmp_path):
    """BNN-PYNQ CNV (Brevitas cnv_2w2a) with a FINN folding JSON: the max-pools have no entry and take
    all channels per cycle (784 and 100 cycles, not 50,176 and 12,800), an MVAU is the slowest layer
    (32,768 cycles), the host-side entries are reported, and BRAM above the board fails the build."""
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    from tests.compiler import nets

    m, _ = model_with_cfg("cnv_2w2a", False)
    m.eval()
    with torch.no_grad():
        p = nets.export(m, tmp_path / "cnv.onnx", (1, 3, 32, 32))
    with pytest.raises(FlowError, match=r"the design exceeds board Pynq-Z1: bram18 \d+ of 280 \(10\d%\)"):
        build_dataflow(p, "Pynq-Z1", tmp_path / "o", folding_config=CNV_FINN_STYLE, quiet=True)
    assert not (tmp_path / "o" / "estimates.json").exists()
    r = build_dataflow(p, "Pynq-Z1", tmp_path / "o", folding_config=CNV_FINN_STYLE, best_effort=True, quiet=True)
    cyc = {ly["name"]: ly["cycles"] for ly in r.estimates["layers"]}
    assert cyc["StreamingMaxPool_0"] == 28 * 28 and cyc["StreamingMaxPool_1"] == 10 * 10
    assert r.estimates["total"]["cycles_per_frame"] == 32768 and r.estimates["total"]["slowest_layer"].startswith("MVAU")
    assert any("Thresholding_rtl_0, LabelSelect_hls_0" in n for n in r.fold["notes"])
