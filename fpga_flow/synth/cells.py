"""Xilinx primitive cell types (as Yosys ``synth_xilinx`` emits them) -> resource counts.

LUT counts include LUTs used as memory (distributed RAM, SRL), like Vivado's "CLB LUTs"; ``lutram``
is the memory part of ``lut``. Yosys' INV cells are counted apart (``inv``): Vivado folds most of
them into neighbouring LUTs or the inversion bits of FFs/DSPs/BRAMs. BRAM is counted
as RAMB18 halves (``bram18`` = RAMB18 + 2·RAMB36) and 36 Kb blocks (``bram36`` = RAMB36 + RAMB18/2).
"""

from __future__ import annotations

import math
import re

RESOURCE_KEYS = ("lut", "lutram", "ff", "dsp", "bram18", "bram36", "uram", "carry", "muxf", "inv")

# LUTs used as memory: primitive -> LUTs it occupies
LUTRAM_CELLS = {
    "RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM16X1S_1": 1, "RAM32X1S_1": 1,
    "RAM64X1S_1": 1, "RAM128X1S_1": 2,
    "SRL16": 1, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1, "CFGLUT5": 1,
}
LOGIC_LUT_RE = re.compile(r"^LUT[1-6](_2)?$")
INV_RE = re.compile(r"^(INV|BUF)$")
FF_RE = re.compile(r"^(FD[A-Z]*(_1)?|LD[A-Z]*(_1)?)$")  # FDRE/FDSE/FDCE/FDPE(+_1), latches
DSP_RE = re.compile(r"^DSP48(E1|E2)?$|^DSP58$")
BRAM18_RE = re.compile(r"^RAMB18(E1|E2|SDP)?$")
BRAM36_RE = re.compile(r"^RAMB36(E1|E2|SDP)?$")
URAM_RE = re.compile(r"^URAM288(_BASE)?$")
CARRY_RE = re.compile(r"^(CARRY4|CARRY8|MUXCY|XORCY)$")
MUXF_RE = re.compile(r"^MUXF[5-9]$")
IGNORED = re.compile(r"^(IBUF|OBUF|IOBUF|OBUFT|BUFG|BUFGCE|BUFG_GT|VCC|GND|\$scopeinfo)$")


def resources_from_cells(cells: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """(resources, unmapped cell types) from ``{cell type: count}``."""
    r = {k: 0 for k in RESOURCE_KEYS}
    ramb18 = ramb36 = 0
    unknown = []
    for cell, n in cells.items():
        t = cell.lstrip("\\")
        if LOGIC_LUT_RE.match(t):
            r["lut"] += n
        elif t in LUTRAM_CELLS:
            r["lut"] += LUTRAM_CELLS[t] * n
            r["lutram"] += LUTRAM_CELLS[t] * n
        elif FF_RE.match(t):
            r["ff"] += n
        elif DSP_RE.match(t):
            r["dsp"] += n
        elif BRAM18_RE.match(t):
            ramb18 += n
        elif BRAM36_RE.match(t):
            ramb36 += n
        elif URAM_RE.match(t):
            r["uram"] += n
        elif INV_RE.match(t):
            r["inv"] += n
        elif CARRY_RE.match(t):
            r["carry"] += n
        elif MUXF_RE.match(t):
            r["muxf"] += n
        elif not IGNORED.match(t):
            unknown.append(t)
    r["bram18"] = ramb18 + 2 * ramb36
    r["bram36"] = ramb36 + math.ceil(ramb18 / 2)
    return r, sorted(unknown)


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in RESOURCE_KEYS}
