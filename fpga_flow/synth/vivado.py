"""Vivado: a project TCL in the manner of FINN's ZynqBuild (Zynq PS + AXI DMA + the accelerator as
an RTL module reference) and, when ``vivado`` is on PATH, the bitstream and ``.hwh``.

Without vivado the TCL is still written and :class:`BitstreamSkipped` says so in one line;
every earlier artefact stays, and a re-run picks up from here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from fpga_flow.boards import Board
from fpga_flow.errors import BitstreamSkipped, FlowError
from fpga_flow.synth.layers import HLS_DIR, module_library, read_manifest, top_candidates
from fpga_flow.synth.yosys import COMMENT_RE, sources_for

VIVADO_VERSION = "2022.2"  # the version build.tcl is written for (FINN's too); others get a warning
DMA_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
BD = "fpga_flow_bd"  # block design name (not "top": codegen's accelerator module is called top)

# AXI DMA's S2MM channel ends a transfer on TLAST; the accelerator streams have none.
TLAST_GEN = HLS_DIR / "axis_tlast_gen.v"


def port_width(verilog: str, module: str, port: str) -> int | None:
    """Width of ``port`` in ``module`` when declared with a literal range ``[N:0]``."""
    text = COMMENT_RE.sub("", verilog)
    m = re.search(rf"\bmodule\s+{module}\b(.*?)\bendmodule\b", text, re.S)
    if not m:
        return None
    body = m.group(1)
    d = re.search(rf"(input|output)\s+(?:wire|reg)?\s*(?:signed\s*)?\[\s*(\d+)\s*:\s*0\s*\]\s*{port}\b", body)
    if d:
        return int(d.group(2)) + 1
    if re.search(rf"(input|output)\s+(?:wire|reg)?\s*{port}\b", body):
        return 1
    return None


def has_port(verilog: str, module: str, prefix: str) -> bool:
    text = COMMENT_RE.sub("", verilog)
    m = re.search(rf"\bmodule\s+{module}\b(.*?)\bendmodule\b", text, re.S)
    return bool(m and re.search(rf"\b{prefix}\w*", m.group(1)))


def dma_width(bits: int) -> int:
    padded = max(8, -(-bits // 8) * 8)
    for w in DMA_WIDTHS:
        if w >= padded:
            return w
    raise FlowError(f"stream width {bits} bits exceeds the AXI DMA maximum (1024)")


def _ps_tcl(board: Board) -> str:
    mhz = int(board.clock_mhz)
    if board.ps == "zynq_us+":
        return f"""create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e zynq_ps
if {{$use_board_preset}} {{
  apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {{apply_board_preset "1"}} [get_bd_cells zynq_ps]
}}
set_property -dict [list CONFIG.PSU__USE__M_AXI_GP0 {{1}} CONFIG.PSU__USE__M_AXI_GP1 {{0}} CONFIG.PSU__USE__M_AXI_GP2 {{0}} \\
  CONFIG.PSU__USE__S_AXI_GP2 {{1}} CONFIG.PSU__SAXIGP2__DATA_WIDTH {{{board.axi_hp_width}}} \\
  CONFIG.PSU__OVERRIDE__BASIC_CLOCK {{0}} CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {{{mhz}}}] [get_bd_cells zynq_ps]
set ps_clk [get_bd_pins zynq_ps/pl_clk0]
set ps_rstn [get_bd_pins zynq_ps/pl_resetn0]
set ps_master [get_bd_intf_pins zynq_ps/M_AXI_HPM0_FPD]
set ps_master_clk [get_bd_pins zynq_ps/maxihpm0_fpd_aclk]
set ps_slave [get_bd_intf_pins zynq_ps/S_AXI_HP0_FPD]
set ps_slave_clk [get_bd_pins zynq_ps/saxihp0_fpd_aclk]
"""
    return f"""create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7 zynq_ps
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config [list make_external "FIXED_IO, DDR" apply_board_preset $use_board_preset Master Disable Slave Disable] [get_bd_cells zynq_ps]
set_property -dict [list CONFIG.PCW_USE_M_AXI_GP0 {{1}} CONFIG.PCW_USE_S_AXI_HP0 {{1}} \\
  CONFIG.PCW_S_AXI_HP0_DATA_WIDTH {{{board.axi_hp_width}}} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{mhz}}}] [get_bd_cells zynq_ps]
set ps_clk [get_bd_pins zynq_ps/FCLK_CLK0]
set ps_rstn [get_bd_pins zynq_ps/FCLK_RESET0_N]
set ps_master [get_bd_intf_pins zynq_ps/M_AXI_GP0]
set ps_master_clk [get_bd_pins zynq_ps/M_AXI_GP0_ACLK]
set ps_slave [get_bd_intf_pins zynq_ps/S_AXI_HP0]
set ps_slave_clk [get_bd_pins zynq_ps/S_AXI_HP0_ACLK]
"""


def _stream_tcl(direction: str, accel_bits: int, dma_bits: int) -> str:
    """Connect DMA <-> accelerator, through an AXIS width converter when the widths differ."""
    a_bytes, d_bytes = -(-accel_bits // 8), dma_bits // 8
    if direction == "in":
        src, dst, name = "axi_dma_0/M_AXIS_MM2S", "accel/s_axis", "dwc_in"
        s_bytes, m_bytes = d_bytes, a_bytes
    else:
        src, dst, name = "tlast/m_axis", "axi_dma_0/S_AXIS_S2MM", "dwc_out"
        s_bytes, m_bytes = a_bytes, d_bytes
    if s_bytes == m_bytes:
        return f"connect_bd_intf_net [get_bd_intf_pins {src}] [get_bd_intf_pins {dst}]\n"
    return f"""create_bd_cell -type ip -vlnv xilinx.com:ip:axis_dwidth_converter {name}
set_property -dict [list CONFIG.S_TDATA_NUM_BYTES {{{s_bytes}}} CONFIG.M_TDATA_NUM_BYTES {{{m_bytes}}} CONFIG.HAS_TLAST {{1}}] [get_bd_cells {name}]
connect_bd_intf_net [get_bd_intf_pins {src}] [get_bd_intf_pins {name}/S_AXIS]
connect_bd_intf_net [get_bd_intf_pins {name}/M_AXIS] [get_bd_intf_pins {dst}]
connect_bd_net $ps_clk [get_bd_pins {name}/aclk]
connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] [get_bd_pins {name}/aresetn]
"""


def vivado_tcl(board: Board, top: str, sources: list[Path], mem_files: list[Path], in_bits: int, out_bits: int,
               axilite: bool, out_dir: Path, out_words: int) -> str:
    """The project TCL: part and PS from the board YAML, DMA widths from the accelerator ports."""
    din, dout = dma_width(in_bits), dma_width(out_bits)
    files = " ".join(f'"{relative_to(p, out_dir)}"' for p in sources + [out_dir / "axis_tlast_gen.v"] + mem_files)
    deploy = relative_to(out_dir.parent / "deploy" / "bitfile", out_dir)
    lines = [
        f"# fpga_flow Vivado project for {board.name} ({board.part}), accelerator top `{top}`.",
        "# Zynq PS + AXI DMA (simple mode) + accelerator, as FINN's ZynqBuild. Run: vivado -mode batch -source build.tcl",
        f"# Written for Vivado {VIVADO_VERSION}. Paths are relative to this script's folder: copy the build folder",
        "# (rtl/, vivado/, deploy/) to a machine with Vivado and run it there.",
        f'if {{[string first "{VIVADO_VERSION}" [version -short]] != 0}} {{',
        f'  puts "WARNING: build.tcl was written for Vivado {VIVADO_VERSION}, this is Vivado [version -short]"',
        "}",
        "cd [file dirname [file normalize [info script]]]",
        "set here [pwd]",
        f"set part {board.part}",
        f'set board_part "{board.board_part}"',
        f"create_project -force fpga_flow_{board.name} [file normalize ./project] -part $part",
        "set use_board_preset 0",
        'if {$board_part ne "" && [llength [get_board_parts -quiet $board_part]] > 0} {',
        "  set_property board_part $board_part [current_project]",
        "  set use_board_preset 1",
        "}",
        f"add_files -norecurse [list {files}]",
        f"set_property top {top} [current_fileset]",
        "update_compile_order -fileset sources_1",
        f'create_bd_design "{BD}"',
        _ps_tcl(board),
        "create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset rst_0",
        "connect_bd_net $ps_clk [get_bd_pins rst_0/slowest_sync_clk]",
        "connect_bd_net $ps_rstn [get_bd_pins rst_0/ext_reset_in]",
        f"create_bd_cell -type module -reference {top} accel",
        "connect_bd_net $ps_clk [get_bd_pins accel/ap_clk]",
        "connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] [get_bd_pins accel/ap_rst_n]",
        f"create_bd_cell -type module -reference axis_tlast_gen tlast",
        f"set_property -dict [list CONFIG.WIDTH {{{out_bits}}} CONFIG.WORDS {{{out_words}}}] [get_bd_cells tlast]",
        "connect_bd_net $ps_clk [get_bd_pins tlast/ap_clk]",
        "connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] [get_bd_pins tlast/ap_rst_n]",
        "connect_bd_intf_net [get_bd_intf_pins accel/m_axis] [get_bd_intf_pins tlast/s_axis]",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma axi_dma_0",
        "set_property -dict [list CONFIG.c_include_sg {0} CONFIG.c_sg_length_width {26} \\",
        f"  CONFIG.c_m_axi_mm2s_data_width {{{board.axi_hp_width}}} CONFIG.c_m_axi_s2mm_data_width {{{board.axi_hp_width}}} \\",
        f"  CONFIG.c_m_axis_mm2s_tdata_width {{{din}}} CONFIG.c_s_axis_s2mm_tdata_width {{{dout}}} \\",
        "  CONFIG.c_mm2s_burst_size {64} CONFIG.c_s2mm_burst_size {64}] [get_bd_cells axi_dma_0]",
        "connect_bd_net $ps_clk [get_bd_pins axi_dma_0/s_axi_lite_aclk] [get_bd_pins axi_dma_0/m_axi_mm2s_aclk] [get_bd_pins axi_dma_0/m_axi_s2mm_aclk]",
        "connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] [get_bd_pins axi_dma_0/axi_resetn]",
        _stream_tcl("in", in_bits, din),
        _stream_tcl("out", out_bits, dout),
        "# control: PS master -> DMA AXI-lite (+ accelerator AXI-lite when present)",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_interconnect axi_ctrl",
        f"set_property CONFIG.NUM_MI {{{2 if axilite else 1}}} [get_bd_cells axi_ctrl]",
        "connect_bd_intf_net $ps_master [get_bd_intf_pins axi_ctrl/S00_AXI]",
        "connect_bd_intf_net [get_bd_intf_pins axi_ctrl/M00_AXI] [get_bd_intf_pins axi_dma_0/S_AXI_LITE]",
    ]
    if axilite:
        lines.append("connect_bd_intf_net [get_bd_intf_pins axi_ctrl/M01_AXI] [get_bd_intf_pins accel/s_axi_control]")
    lines += [
        "foreach p [get_bd_pins -quiet axi_ctrl/*ACLK] { connect_bd_net $ps_clk $p }",
        "foreach p [get_bd_pins -quiet axi_ctrl/*ARESETN] { connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] $p }",
        "connect_bd_net $ps_clk $ps_master_clk $ps_slave_clk",
        "# data: DMA masters -> PS high-performance port",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect axi_mem",
        "set_property CONFIG.NUM_SI {2} [get_bd_cells axi_mem]",
        "connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_MM2S] [get_bd_intf_pins axi_mem/S00_AXI]",
        "connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_S2MM] [get_bd_intf_pins axi_mem/S01_AXI]",
        "connect_bd_intf_net [get_bd_intf_pins axi_mem/M00_AXI] $ps_slave",
        "connect_bd_net $ps_clk [get_bd_pins axi_mem/aclk]",
        "connect_bd_net [get_bd_pins rst_0/peripheral_aresetn] [get_bd_pins axi_mem/aresetn]",
        "assign_bd_address",
        "validate_bd_design",
        "save_bd_design",
        f"set_property synth_checkpoint_mode None [get_files {BD}.bd]",
        f"make_wrapper -files [get_files {BD}.bd] -top",
        f"add_files -norecurse [glob ./project/*.srcs/sources_1/bd/{BD}/hdl/{BD}_wrapper.v ./project/*.gen/sources_1/bd/{BD}/hdl/{BD}_wrapper.v]",
        f"set_property top {BD}_wrapper [current_fileset]",
        "update_compile_order -fileset sources_1",
        'set_property STEPS.SYNTH_DESIGN.TCL.PRE [file join $here pre_synth.tcl] [get_runs synth_1]',
        "launch_runs impl_1 -to_step write_bitstream -jobs 4",
        "wait_on_run impl_1",
        'if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} { error "implementation failed" }',
        "open_run impl_1",
        "report_utilization -file utilization.rpt",
        "report_timing_summary -file timing.rpt",
        f'file mkdir "{deploy}"',
        f'file copy -force [glob ./project/*.runs/impl_1/{BD}_wrapper.bit] "{deploy}/accel.bit"',
        f'file copy -force [lindex [glob ./project/*.gen/sources_1/bd/{BD}/hw_handoff/{BD}.hwh ./project/*.srcs/sources_1/bd/{BD}/hw_handoff/{BD}.hwh] 0] "{deploy}/accel.hwh"',
    ]
    return "\n".join(lines) + "\n"


def relative_to(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (POSIX form, for TCL)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def frame_words(manifest: dict | None) -> int | None:
    """Output words per frame: prod(out_shape) / out_fold, from codegen's manifest."""
    if not manifest or not manifest.get("out_shape") or not manifest.get("out_fold"):
        return None
    n = 1
    for d in manifest["out_shape"]:
        n *= int(d)
    return n // int(manifest["out_fold"])


def write_vivado_tcl(build_dir: str | os.PathLike, board: Board, top: str | None = None,
                     out_words: int | None = None) -> Path:
    """Write ``build_dir/vivado/build.tcl`` for the stitched top in ``build_dir/rtl``; return its path.

    Top, sources and port widths come from codegen's ``rtl/manifest.json`` when present, else
    from the Verilog files (the single module of ``rtl/`` nobody instantiates).
    """
    build_dir = Path(build_dir)
    rtl_dir = build_dir / "rtl"
    if not rtl_dir.is_dir():
        raise FlowError(f"{rtl_dir}: not found (run codegen first); no Vivado project written")
    manifest = read_manifest(build_dir)
    lib = {k: v.resolve() for k, v in module_library([rtl_dir, HLS_DIR]).items()}
    if top is None:
        top = (manifest or {}).get("top")
    if top is None:
        cands = top_candidates(rtl_dir.resolve(), lib)
        if len(cands) != 1:
            raise FlowError(f"{rtl_dir}: cannot tell the top module (candidates: {', '.join(cands) or 'none'})")
        top = cands[0]
    if manifest and manifest.get("top") == top and manifest.get("sources"):
        sources = [(rtl_dir / s).resolve() for s in manifest["sources"]]
    else:
        sources = sources_for(top, lib)
    out = build_dir / "vivado"
    out.mkdir(parents=True, exist_ok=True)
    sources = [_inside(src, build_dir, out / "hls") for src in sources]
    if top not in lib:
        raise FlowError(f"{rtl_dir}: top module {top!r} not found")
    text = lib[top].read_text(errors="replace")
    widths = {"s_axis_tdata": (manifest or {}).get("in_port_width"), "m_axis_tdata": (manifest or {}).get("out_port_width")}
    for p in widths:
        if manifest is None or manifest.get("top") != top or not isinstance(widths[p], int):
            widths[p] = port_width(text, top, p)
        if widths[p] is None:
            raise FlowError(f"{lib[top]}: top module {top} has no {p} port with a literal width")
    out_words = out_words or frame_words(manifest)
    if not out_words:
        raise FlowError(f"{rtl_dir / 'manifest.json'}: output words per frame unknown (needs out_shape and out_fold)")
    mems = sorted(p for p in rtl_dir.rglob("*") if p.suffix in (".mem", ".dat", ".hex"))
    shutil.copy2(TLAST_GEN, out / "axis_tlast_gen.v")
    # $readmemh paths are relative to rtl/: copy the memory files into the synthesis run folder
    pre = out / "pre_synth.tcl"
    pre.write_text("# copy rtl/ memory files next to the synthesis run ($readmemh paths are relative to rtl/)\n"
                   "set here [file dirname [file normalize [info script]]]\n"
                   + "".join(f'file mkdir [file dirname "{p.relative_to(rtl_dir).as_posix()}"]\n'
                             f'file copy -force "[file join $here {relative_to(p, out)}]" '
                             f'"{p.relative_to(rtl_dir).as_posix()}"\n' for p in mems))
    tcl = out / "build.tcl"
    tcl.write_text(vivado_tcl(board, top, sources, mems, widths["s_axis_tdata"], widths["m_axis_tdata"],
                              has_port(text, top, "s_axi_control_"), out, out_words))
    return tcl


def _inside(src: Path, build_dir: Path, library_copy: Path) -> Path:
    """``src`` when it lies in the build folder, else its copy in ``library_copy`` (hls/ modules), so that
    the build folder alone holds every source the project needs."""
    src = Path(src).resolve()
    if src.is_relative_to(build_dir.resolve()):
        return src
    library_copy.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, library_copy / src.name)
    return (library_copy / src.name).resolve()


def bitstream(build_dir: str | os.PathLike, board: Board, top: str | None = None, timeout: float = 4 * 3600,
              out_words: int | None = None) -> Path:
    """Write the project TCL, then build ``deploy/bitfile/accel.bit`` + ``.hwh`` with vivado.

    Raises :class:`BitstreamSkipped` (TCL kept) when vivado is not on PATH. An up-to-date
    bitfile (newer than every RTL file) is reused.
    """
    build_dir = Path(build_dir)
    tcl = write_vivado_tcl(build_dir, board, top, out_words)
    bit = build_dir / "deploy" / "bitfile" / "accel.bit"
    hwh = bit.with_suffix(".hwh")
    rtl_mtime = max(p.stat().st_mtime for p in (build_dir / "rtl").rglob("*") if p.is_file())
    if bit.is_file() and hwh.is_file() and bit.stat().st_mtime >= rtl_mtime:
        return bit
    exe = shutil.which("vivado")
    if exe is None:
        raise BitstreamSkipped(f"bitstream not built: vivado is not on PATH (project TCL kept at {tcl}; "
                               f"run `vivado -mode batch -source build.tcl` in {tcl.parent})")
    try:
        proc = subprocess.run([exe, "-mode", "batch", "-nojournal", "-log", "vivado.log", "-source", tcl.name],
                              cwd=tcl.parent, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise FlowError(f"{tcl}: vivado timed out after {timeout:.0f} s (log: {tcl.parent / 'vivado.log'})") from err
    if proc.returncode != 0 or not bit.is_file():
        errs = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("ERROR")]
        raise FlowError(f"{tcl}: vivado failed: {errs[0] if errs else 'see ' + str(tcl.parent / 'vivado.log')}")
    return bit
