"""Yosys runner and parser on a small design, report.json and budget check, the Vivado step."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fpga_flow.boards import load_board
from fpga_flow.errors import BitstreamSkipped, FlowError, ToolMissing
from fpga_flow.synth import bitstream, parse_stat_json, resources_from_cells, run_yosys, synthesize
from fpga_flow.synth.vivado import dma_width, port_width

RTL = Path(__file__).parent / "rtl"
_no_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")


def needs_yosys(fn):
    return pytest.mark.synth(_no_yosys(fn))


def _mem(path: Path, words: int, bits: int, seed: int) -> None:
    r = random.Random(seed)
    path.write_text("".join(format(r.getrandbits(bits), f"0{bits // 4}x") + "\n" for _ in range(words)))


# ---------------------------------------------------------------- parser (no yosys needed)
def test_cell_mapping_hand_counted():
    cells = {"LUT1": 2, "LUT6": 10, "LUT6_2": 1, "INV": 3, "RAM32M": 2, "RAM64X1D": 1, "SRLC32E": 5,
             "FDRE": 40, "FDCE": 2, "FDSE_1": 1, "DSP48E1": 3, "RAMB18E1": 3, "RAMB36E1": 2,
             "URAM288": 1, "CARRY4": 7, "MUXF7": 4, "IBUF": 9, "BUFG": 1, "FOO": 1}
    r, unknown = resources_from_cells(cells)
    assert r["lut"] == 2 + 10 + 1 + 2 * 4 + 2 + 5  # logic LUTs + LUTRAM (RAM32M = 4 LUTs) + SRL
    assert r["lutram"] == 15 and r["inv"] == 3
    assert r["ff"] == 43 and r["dsp"] == 3
    assert r["bram18"] == 3 + 2 * 2 and r["bram36"] == 2 + 2  # ceil(3/2) = 2
    assert r["uram"] == 1 and r["carry"] == 7 and r["muxf"] == 4
    assert unknown == ["FOO"]


def test_parse_stat_json():
    text = json.dumps({"modules": {"\\top": {"num_cells_by_type": {"LUT2": 4, "FDRE": 2}}},
                       "design": {"num_cells_by_type": {"LUT2": 5, "FDRE": 3, "DSP48E2": 1}}})
    assert parse_stat_json(text) == {"LUT2": 5, "FDRE": 3, "DSP48E2": 1}
    no_design = json.dumps({"modules": {"\\top": {"num_cells_by_type": {"LUT2": 4}}}})
    assert parse_stat_json(no_design, "top") == {"LUT2": 4}
    with pytest.raises(FlowError, match="cannot parse yosys stat JSON"):
        parse_stat_json("{not json")


# ---------------------------------------------------------------- yosys on a small design
@needs_yosys
def test_yosys_counts_xc7(tmp_path):
    _mem(tmp_path / "w.mem", 1024, 16, 0)
    r = run_yosys("mac", "mac_array", [RTL / "mac_array.v"], "xc7", tmp_path, {"PE": 2, "WEIGHT_FILE": "w.mem"})
    # 1024 x 16-bit weight ROM -> one RAMB18E1; 2 MAC lanes -> 2 DSP48E1 (accumulator absorbed);
    # 32 x 8 delay line -> one RAM32M (4 LUTs)
    assert r.cells["RAMB18E1"] == 1 and r.cells["DSP48E1"] == 2 and r.cells["RAM32M"] == 1
    assert r.resources["bram18"] == 1 and r.resources["dsp"] == 2 and r.resources["uram"] == 0
    assert r.resources["lutram"] == 4
    assert r.resources["ff"] == 26
    assert r.resources["lut"] == 15
    assert r.logic_depth == 4  # LUT2 -> 3 x CARRY4 (10-bit address counter)
    assert r.lut_depth == 1
    assert r.unmapped == []


@needs_yosys
def test_yosys_counts_xcup_wider(tmp_path):
    _mem(tmp_path / "w.mem", 1024, 32, 1)
    r = run_yosys("mac", "mac_array", [RTL / "mac_array.v"], "xcup", tmp_path, {"PE": 4, "WEIGHT_FILE": "w.mem"})
    # 1024 x 32-bit ROM -> one RAMB36E2 (= 2 BRAM18); 4 lanes -> 4 DSP48E2
    assert r.cells["RAMB36E2"] == 1 and r.cells["DSP48E2"] == 4
    assert r.resources["bram18"] == 2 and r.resources["bram36"] == 1 and r.resources["dsp"] == 4
    assert r.resources["lutram"] == 8  # RAM32M16
    assert r.resources["ff"] == 130 and r.resources["lut"] == 83


@needs_yosys
def test_yosys_error_names_module(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, output b); assign b = a &; endmodule\n")
    with pytest.raises(FlowError, match=r"bad: yosys failed on module bad: .*ERROR"):
        run_yosys("bad", "bad", [bad], "xc7", tmp_path / "w")


def test_missing_yosys_is_toolmissing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="yosys not found on PATH"):
        run_yosys("x", "mac_array", [RTL / "mac_array.v"], "xc7", tmp_path)
    (tmp_path / "b-Pynq-Z2").mkdir()
    with pytest.raises(ToolMissing, match="yosys"):
        synthesize(tmp_path / "b-Pynq-Z2", "Pynq-Z2")


# ---------------------------------------------------------------- build folder: report + budget
@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """A build folder with a stitched top in rtl/ (stand-in for codegen output) and estimates."""
    b = tmp_path_factory.mktemp("builds") / "tiny-Pynq-Z2"
    (b / "rtl").mkdir(parents=True)
    for f in ("accel_top.v", "mac_array.v"):
        shutil.copy(RTL / f, b / "rtl" / f)
    _mem(b / "rtl" / "weights.mem", 1024, 16, 2)
    manifest = {  # what codegen writes beside its top
        "top": "accel_top", "sources": ["mac_array.v", "accel_top.v"], "in_port_width": 8, "out_port_width": 48,
        "out_shape": [1, 4, 2], "out_fold": 2,
        "stages": [{"name": "core", "node": "MAC_0", "op_type": "MAC", "module": "mac_array",
                    "params": {"PE": 2, "A_BITS": 8, "W_BITS": 8, "ACC_BITS": 24, "DEPTH": 1024,
                               "WEIGHT_FILE": "weights.mem"}}],
    }
    (b / "rtl" / "manifest.json").write_text(json.dumps(manifest))
    (b / "estimates.json").write_text(json.dumps({"total": {"resources": {"lut": 120, "ff": 90, "dsp": 2, "bram18": 1}},
                                                  "layers": {"MAC_0": {"lut": 100, "ff": 80, "dsp": 2}}}))
    return b


@needs_yosys
def test_report_for_stitched_top(build):
    rep = synthesize(build)  # board from the folder name; stages and top from rtl/manifest.json
    assert rep["board"]["name"] == "Pynq-Z2" and rep["board"]["family"] == "xc7"
    assert rep["top"]["top"] == "accel_top"
    core = rep["layers"]["core"]  # the stage out-of-context, memory file resolved in rtl/
    assert core["source"] == "yosys" and core["module"] == "mac_array" and core["node"] == "MAC_0"
    assert (core["resources"]["dsp"], core["resources"]["bram18"], core["resources"]["ff"]) == (2, 1, 26)
    assert core["estimate"] == {"lut": 100.0, "ff": 80.0, "dsp": 2.0, "source": "estimate"}
    assert rep["layer_sum"]["dsp"] == 2
    tot = rep["total"]
    assert tot["source"] == "yosys" and tot["scope"] == "stitched top"
    assert (tot["dsp"], tot["bram18"], tot["lutram"]) == (2, 1, 4)
    assert rep["estimate_total"] == {"lut": 120.0, "ff": 90.0, "dsp": 2.0, "bram18": 1.0, "source": "estimate"}
    assert rep["budget"] == {"lut": 53200, "ff": 106400, "dsp": 220, "bram18": 280, "uram": 0}
    assert rep["utilization"]["dsp"] == round(2 / 220, 4)
    assert rep["fits"] is True
    top = rep["top"]
    # delay estimate: 1.0 + 0.85 * LUT levels + 0.15 * other cells on the path (xc7)
    assert top["path_delay_ns"] == round(1.0 + 0.85 * top["lut_depth"] + 0.15 * (top["logic_depth"] - top["lut_depth"]), 2)
    assert top["timing_risk"] is False and rep["timing_risk"] == [] and top["timing_source"] == "estimate"
    on_disk = json.loads((build / "synth" / "report.json").read_text())
    assert on_disk["total"]["dsp"] == 2


@needs_yosys
def test_over_budget_names_resource(build, tmp_path):
    d = json.loads(json.dumps(load_board("Pynq-Z2").as_dict()))
    d["name"] = "Tiny"
    d["resources"] = {"lut": 100, "ff": 10, "dsp": 1, "bram18": 0, "bram36": 0, "uram": 0, "lutram": 10}
    d.pop("description")
    import yaml

    (tmp_path / "Tiny.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(FlowError, match=r"over the Tiny budget: FF \d+ > 10 .*DSP 2 > 1 .*BRAM18 1 > 0"):
        synthesize(build, tmp_path / "Tiny.yaml", layers=False)
    rep = json.loads((build / "synth" / "report.json").read_text())  # written before the error
    assert rep["fits"] is False and rep["over_budget"] == ["ff", "dsp", "bram18"]


@needs_yosys
def test_hls_layer_out_of_context(tmp_path):
    """A real hardware layer (compiler class + hls/ module), when both have landed."""
    hw = pytest.importorskip("fpga_flow.compiler.hw")
    if not (Path(__file__).parents[2] / "hls" / "label_select.v").is_file():
        pytest.skip("hls/label_select.v not there yet")
    import numpy as np
    from onnx import TensorProto, helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.basic import qonnx_make_model

    node = hw.make_hw_node("LabelSelect", "inp", "outp", name="LabelSelect_0", Labels=8, PE=2, inputDataType="UINT4")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("outp", TensorProto.FLOAT, [1, 1])])
    b = tmp_path / "ls-ZCU104"
    b.mkdir()
    ModelWrapper(qonnx_make_model(g, producer_name="t")).save(str(b / "dataflow.onnx"))
    (b / "estimates.json").write_text(json.dumps({"layers": [{"name": "LabelSelect_0", "lut": 40, "ff": 30}]}))
    rep = synthesize(b)
    layer = rep["layers"]["LabelSelect_0"]
    assert rep["board"]["family"] == "xcup" and layer["module"] == "label_select"
    assert layer["params"]["LABELS"] == 8 and layer["source"] == "yosys"
    assert layer["resources"]["ff"] > 0 and layer["resources"]["lut"] > 0 and layer["resources"]["dsp"] == 0
    assert layer["estimate"] == {"lut": 40.0, "ff": 30.0, "source": "estimate"}
    assert rep["total"]["scope"] == "sum of layers (out-of-context)"
    assert rep["total"]["ff"] == layer["resources"]["ff"]
    del np


# ---------------------------------------------------------------- Vivado step
def test_vivado_tcl_and_skip(build, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no vivado
    with pytest.raises(BitstreamSkipped, match="bitstream not built: vivado is not on PATH") as err:
        bitstream(build, load_board("Pynq-Z2"))
    assert err.value.exit_code == 3
    tcl = (build / "vivado" / "build.tcl").read_text()
    assert "set part xc7z020clg400-1" in tcl and "processing_system7" in tcl
    assert "create_bd_cell -type module -reference accel_top accel" in tcl
    assert "CONFIG.c_m_axi_mm2s_data_width {64}" in tcl  # Pynq HP port width
    assert "CONFIG.c_m_axis_mm2s_tdata_width {8}" in tcl and "CONFIG.c_s_axis_s2mm_tdata_width {64}" in tcl
    assert "CONFIG.S_TDATA_NUM_BYTES {6} CONFIG.M_TDATA_NUM_BYTES {8}" in tcl  # 48-bit output -> 64-bit DMA
    assert "CONFIG.WIDTH {48} CONFIG.WORDS {4}" in tcl  # TLAST every 4 words (1*4*2 / fold 2)
    assert (build / "vivado" / "axis_tlast_gen.v").is_file()
    assert 'file copy -force "' in (build / "vivado" / "pre_synth.tcl").read_text()
    assert 'create_bd_design "fpga_flow_bd"' in tcl
    assert "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}" in tcl
    assert "weights.mem" in tcl
    # relative to its own folder: the build folder copied elsewhere (here: without the repo) still has every file
    assert "Written for Vivado 2022.2" in tcl and "cd [file dirname [file normalize [info script]]]" in tcl
    assert str(build.resolve()) not in tcl and '"/' not in tcl
    moved = tmp_path / "elsewhere" / "b"
    shutil.copytree(build, moved)
    listed = re.search(r"add_files -norecurse \[list (.*)\]", tcl).group(1)
    paths = re.findall(r'"([^"]+)"', listed)
    assert paths and all((moved / "vivado" / p).is_file() for p in paths), paths
    assert any(p.startswith("hls/") for p in paths) or all(p.startswith("../rtl/") or "/" not in p for p in paths)
    pre = (build / "vivado" / "pre_synth.tcl").read_text()
    assert str(build.resolve()) not in pre and "[file join $here ../rtl/" in pre
    with pytest.raises(BitstreamSkipped):
        bitstream(build, load_board("ZCU104"))
    tcl = (build / "vivado" / "build.tcl").read_text()
    assert "zynq_ultra_ps_e" in tcl and "set part xczu7ev-ffvc1156-2-e" in tcl
    assert "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {200}" in tcl and "{128}" in tcl


def test_vivado_helpers():
    assert [dma_width(b) for b in (1, 8, 9, 24, 48, 64, 65, 1024)] == [8, 8, 16, 32, 64, 64, 128, 1024]
    with pytest.raises(FlowError):
        dma_width(1025)
    v = (RTL / "accel_top.v").read_text()
    assert port_width(v, "accel_top", "s_axis_tdata") == 8 and port_width(v, "accel_top", "m_axis_tdata") == 48
    assert port_width(v, "accel_top", "s_axis_tvalid") == 1 and port_width(v, "accel_top", "nope") is None


def test_top_detection_without_manifest(tmp_path):
    from fpga_flow.synth.layers import module_library, top_candidates

    rtl = tmp_path / "rtl"
    rtl.mkdir()
    for f in ("accel_top.v", "mac_array.v"):
        shutil.copy(RTL / f, rtl / f)
    lib = module_library([rtl])
    assert set(lib) == {"accel_top", "mac_array"}
    assert top_candidates(rtl, lib) == ["accel_top"]


def test_vivado_without_rtl(tmp_path):
    with pytest.raises(FlowError, match=r"rtl: not found \(run codegen first\)"):
        bitstream(tmp_path, load_board("Pynq-Z2"))


@needs_yosys
def test_cli_synth(build):
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "synth", "--build", str(build),
                        "--board", "pynq-z2", "--no-layers"], capture_output=True, text=True, timeout=300,
                       env={"PATH": str(Path(shutil.which("yosys")).parent), "HOME": str(build)})
    assert r.returncode == 0, r.stderr  # report written, bitstream skipped (no vivado): said once, not a failure
    assert r.stdout.count("bitstream not built") == 1 and "everything but the bitstream is built" in r.stdout
    assert "accel_top" in r.stdout
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "synth", "--build", str(build),
                        "--board", "pynq-z2", "--no-layers", "--require-bitstream"], capture_output=True, text=True,
                       timeout=300, env={"PATH": str(Path(shutil.which("yosys")).parent), "HOME": str(build)})
    assert r.returncode == 3 and "bitstream not built" in r.stderr
    assert json.loads((build / "synth" / "report.json").read_text())["total"]["dsp"] == 2
    with pytest.raises(FlowError, match="nope: build folder not found"):
        synthesize(build.parent / "nope", "Pynq-Z2")


def test_with_parameters_keeps_signs_and_strings():
    from fpga_flow.synth.yosys import with_parameters

    src = ("module other #(parameter B = 1) ();\nendmodule\n"
           "module m #(\n    parameter A = 4,\n    parameter integer B = 0,  // bias\n    parameter [7:0] C = 8'd3,\n"
           "    parameter F = \"x.mem\",\n    parameter G = (A > 2) ? 1 : 0\n) (input a);\n"
           "    localparam B2 = B;\nendmodule\n")
    out = with_parameters(src, "m", {"B": -128, "F": "mem/w.mem", "G": 7, "A": 16})
    assert "parameter integer B = -128,  // bias" in out and 'parameter F = "mem/w.mem",' in out
    assert "parameter G = 7\n" in out and "parameter A = 16," in out and "parameter [7:0] C = 8'd3," in out
    assert out.startswith("module other #(parameter B = 1)")  # other modules untouched
    assert "localparam B2 = B;" in out
    with pytest.raises(FlowError, match="module m has no parameter Z"):
        with_parameters(src, "m", {"Z": 1})


@needs_yosys
def test_negative_parameter_reaches_yosys(tmp_path):
    """chparam would drop the sign: B=-128 must make y = a + B, not y = a."""
    v = tmp_path / "neg.v"
    v.write_text("module neg #(parameter B = 0) (input [7:0] a, output [9:0] y);\n"
                 "  assign y = (B < 0) ? a + B : {a, 2'b11};\nendmodule\n")
    neg = run_yosys("neg", "neg", [v], "xc7", tmp_path / "n", {"B": -3}, ltp=False)
    assert neg.cells == {"CARRY4": 3, "INV": 7}  # a + (-3) over 10 bits; with the sign lost: wires only


@needs_yosys
def test_fifo_ram_style_reaches_yosys(tmp_path):
    """RAM_STYLE=distributed (chosen by fifo_ram_style for wide, shallow FIFOs) maps to LUTRAM."""
    from fpga_flow.sim.unit import hls_sources

    got = {}
    for style in ("auto", "distributed"):
        r = run_yosys("fifo", "fifo", hls_sources("fifo"), "xc7", tmp_path / style,
                      params={"WIDTH": 384, "DEPTH": 141, "RAM_STYLE": style}, ltp=False)
        got[style] = r.as_dict()["resources"]
    assert got["auto"]["bram18"] == 11 and got["auto"]["lutram"] == 0
    assert got["distributed"]["bram18"] == 0 and got["distributed"]["lutram"] >= 384 * 141 // 64
