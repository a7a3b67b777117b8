"""Yosys resources / Vivado bitstream of a build.

``synthesize(build_dir, board)`` writes ``synth/report.json`` (source: yosys);
``bitstream(build_dir, board)`` writes the Vivado project TCL and runs it when vivado is on PATH.
Names load on first use (PEP 562): the CLI imports this package for its commands only.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "resources_from_cells": "cells", "board_of_build": "run", "synthesize": "run", "bitstream": "vivado",
    "write_vivado_tcl": "vivado", "SynthResult": "yosys", "parse_stat_json": "yosys", "run_yosys": "yosys",
}

__all__ = ["SynthResult", "bitstream", "board_of_build", "parse_stat_json", "resources_from_cells", "run_yosys",
           "synthesize", "write_vivado_tcl"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"fpga_flow.synth.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fpga_flow.synth' has no attribute {name!r}")
