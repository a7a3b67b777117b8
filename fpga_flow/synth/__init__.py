"""Yosys resources / Vivado bitstream of a build.

``synthesize(build_dir, board)`` writes ``synth/report.json`` (source: yosys);
``bitstream(build_dir, board)`` writes the Vivado project TCL and runs it when vivado is on PATH.
"""

from __future__ import annotations

from fpga_flow.synth.cells import resources_from_cells
from fpga_flow.synth.run import board_of_build, synthesize
from fpga_flow.synth.vivado import bitstream, write_vivado_tcl
from fpga_flow.synth.yosys import SynthResult, parse_stat_json, run_yosys

__all__ = ["SynthResult", "bitstream", "board_of_build", "parse_stat_json", "resources_from_cells", "run_yosys",
           "synthesize", "write_vivado_tcl"]
