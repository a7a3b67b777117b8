"""Run Yosys ``synth_xilinx`` out-of-context on one Verilog top and parse its ``stat``/``ltp``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError, ToolMissing
from fpga_flow.synth.cells import resources_from_cells

MODULE_RE = re.compile(r"^\s*module\s+([A-Za-z_][A-Za-z0-9_$]*)", re.M)
IDENT_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_$]*)\b")
COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
LTP_RE = re.compile(r"Longest topological path in \S+ \(length=(-?\d+)\)")
VERILOG_EXTS = (".v", ".sv", ".vh")
COMB_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV", "CARRY4", "CARRY8", "MUXF7", "MUXF8",
              "MUXF9", "MUXCY", "XORCY")


def yosys_exe() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise ToolMissing("yosys not found on PATH (install it: `make hwtools` or apt-get install yosys)")
    return exe


def yosys_version() -> str:
    out = subprocess.run([yosys_exe(), "-V"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


@dataclass
class SynthResult:
    """Resources of one synthesized top (source: yosys)."""

    name: str
    top: str
    family: str
    resources: dict[str, int]
    cells: dict[str, int]
    logic_depth: int | None  # cells on the longest FF-to-FF path (LUT, carry, MUXF)
    lut_depth: int | None  # LUT levels only (carry chains cut the path)
    seconds: float
    log: str
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = {"source": "yosys", "top": self.top, "family": self.family, "resources": self.resources,
             "cells": self.cells, "logic_depth": self.logic_depth,
             "lut_depth": self.lut_depth, "seconds": round(self.seconds, 2),
             "log": self.log, "unmapped_cells": self.unmapped}
        if self.notes:
            d["notes"] = self.notes
        return d


def sources_for(top: str, lib: dict[str, Path]) -> list[Path]:
    """The files defining ``top`` and every library module it (transitively) mentions."""
    if top not in lib:
        raise FlowError(f"RTL module {top!r} not found (searched: {', '.join(sorted({str(p.parent) for p in lib.values()})) or 'no Verilog files'})")
    files: list[Path] = []
    todo = [lib[top]]
    while todo:
        f = todo.pop()
        if f in files:
            continue
        files.append(f)
        text = COMMENT_RE.sub("", f.read_text(errors="replace"))
        for ident in sorted(set(IDENT_RE.findall(text))):  # sorted: the order must not follow the hash seed
            if ident in lib and lib[ident] not in files:
                todo.append(lib[ident])
    return files


def _param_value(v: Any) -> str:
    """A Verilog literal for a parameter value (negative numbers stay signed)."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (str, os.PathLike)):
        s = str(v)
        if '"' in s or "\n" in s or "\\" in s:
            raise FlowError(f"parameter value {s!r} cannot be written as a Verilog string")
        return f'"{s}"'
    raise FlowError(f"unsupported parameter value {v!r} ({type(v).__name__})")


def _expr_end(text: str, i: int) -> int:
    """Index where the constant expression starting at ``i`` ends (``,`` ``;`` or ``)`` at depth 0)."""
    depth, in_str = 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            in_str = c != '"' or text[i - 1] == "\\"
        elif c == '"':
            in_str = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif c in ",;" and depth == 0:
            break
        elif c == "/" and text[i:i + 2] == "//" and depth == 0:  # trailing comment: keep it
            break
        i += 1
    while i > 0 and text[i - 1] in " \t\n":
        i -= 1
    return i


def with_parameters(text: str, top: str, params: dict[str, Any], origin: str = "") -> str:
    """``text`` with the defaults of ``top``'s header parameters replaced by ``params``.

    Used instead of yosys ``chparam``, which drops the sign of negative values (``ACT_BIAS=-128``).
    """
    m = re.search(rf"\bmodule\s+{re.escape(top)}\b", text)
    if not m:
        raise FlowError(f"{origin or 'source'}: module {top} not found")
    end = text.find("endmodule", m.end())
    end = len(text) if end < 0 else end
    body = text[m.start():end]
    for name, value in params.items():
        pat = re.compile(rf"(?<![A-Za-z0-9_$])parameter\s+(?:(?:integer|signed|real|string)\s+)?(?:\[[^\]]*\]\s*)?"
                         rf"{re.escape(name)}\s*=\s*")
        d = pat.search(body)
        if not d:
            raise FlowError(f"{origin or 'source'}: module {top} has no parameter {name}")
        stop = _expr_end(body, d.end())
        body = body[:d.end()] + _param_value(value) + body[stop:]
    return text[:m.start()] + body + text[end:]


LUTRAM_MAP_BUG = "invalid OPTION_ABITS/WIDTH combination"


def yosys_script(sources: list[Path], top: str, family: str, stat_json: Path, ltp: bool = True,
                 flatten: bool = True, dsp: bool = True, extra: str = "") -> str:
    lines = []
    for src in sources:
        flag = " -sv" if src.suffix == ".sv" else ""
        lines.append(f'read_verilog -defer{flag} "{src}"')
    opts = f"-family {family} -top {top} -noiopad -noclkbuf"
    opts += " -flatten" if flatten else ""
    opts += " -nodsp" if not dsp else ""
    opts += " -uram" if family == "xcup" else ""
    lines.append(f"synth_xilinx {opts} {extra}".rstrip())
    lines.append(f"tee -q -o {stat_json} stat -json")
    if ltp:  # combinational cells only: paths cut at FFs, BRAM/DSP/URAM ports and LUTRAM/SRL
        lines.append("ltp -noff w:* " + " ".join(f"t:{c}" for c in COMB_CELLS))
        lines.append("ltp -noff w:* t:LUT1 t:LUT2 t:LUT3 t:LUT4 t:LUT5 t:LUT6")
    return "\n".join(lines) + "\n"


def run_yosys(name: str, top: str, sources: list[Path], family: str, workdir: Path,
              params: dict[str, Any] | None = None, ltp: bool = True, dsp: bool = True,
              timeout: float = 1800, cwd: Path | None = None, extra: str = "") -> SynthResult:
    """Synthesize ``top`` (parameters ``params``) from ``sources``; parse the counts.

    Script, log and ``stat.json`` go to ``workdir``; yosys runs in ``cwd`` (default ``workdir``),
    where relative ``$readmemh`` paths resolve.
    """
    exe = yosys_exe()
    if family not in ("xc7", "xcup"):
        raise FlowError(f"{name}: unsupported yosys family {family!r} (xc7 | xcup)")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stat_json = workdir / "stat.json"
    log = workdir / "yosys.log"
    stat_json.unlink(missing_ok=True)
    sources = [Path(s).resolve() for s in sources]
    if params:  # a copy of the top's file with the parameter defaults set (the module keeps its name)
        defines = re.compile(rf"\bmodule\s+{re.escape(top)}\b")
        top_file = next((f for f in sources if defines.search(COMMENT_RE.sub("", f.read_text(errors="replace")))), None)
        if top_file is None:
            raise FlowError(f"{name}: module {top} not found in {', '.join(map(str, sources))}")
        patched = workdir / f"{top}.params{top_file.suffix}"
        patched.write_text(with_parameters(top_file.read_text(errors="replace"), top, params, str(top_file)))
        sources = [patched if f == top_file else f for f in sources]
    script = workdir / "synth.ys"
    script.write_text(yosys_script(sources, top, family, stat_json, ltp=ltp, dsp=dsp, extra=extra))
    t0 = time.monotonic()
    try:
        proc = subprocess.run([exe, "-q", "-l", str(log), "-s", str(script)], cwd=cwd or workdir,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise FlowError(f"{name}: yosys timed out after {timeout:.0f} s (log: {log})") from err
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or not stat_json.is_file():
        msg = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        err_lines = [ln for ln in msg if "ERROR" in ln] or msg[-1:]
        if log.is_file():
            err_lines = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln] or err_lines
        if LUTRAM_MAP_BUG in err_lines[0] and "-nolutram" not in extra:
            # Yosys 0.23 cannot map some LUTRAM shapes on xcup (lutrams_xc5v_map.v): memories in
            # registers/BRAM instead, said in the report
            res = run_yosys(name, top, sources, family, workdir, params=None, ltp=ltp, dsp=dsp, timeout=timeout,
                            cwd=cwd, extra=(extra + " -nolutram").strip())
            res.notes.append(f"synthesized with -nolutram: yosys {LUTRAM_MAP_BUG!r} without it")
            return res
        raise FlowError(f"{name}: yosys failed on module {top}: {err_lines[0].strip()} (log: {log})")
    cells = parse_stat_json(stat_json.read_text(), top)
    res, unknown = resources_from_cells(cells)
    depth = lut_depth = None
    if ltp:
        m = [max(0, int(x)) for x in LTP_RE.findall(log.read_text(errors="replace"))]
        if len(m) >= 2:
            depth, lut_depth = m[-2], m[-1]
    return SynthResult(name=name, top=top, family=family, resources=res, cells=cells, logic_depth=depth,
                       lut_depth=lut_depth,
                       seconds=seconds, log=str(log), unmapped=unknown)


def parse_stat_json(text: str, top: str | None = None) -> dict[str, int]:
    """``{cell type: count}`` for the whole design from ``stat -json`` output."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FlowError(f"cannot parse yosys stat JSON ({err})") from err
    if "design" in data and "num_cells_by_type" in data["design"]:
        by_type = data["design"]["num_cells_by_type"]
    else:
        mods = data.get("modules", {})
        key = f"\\{top}" if top and f"\\{top}" in mods else next(iter(mods), None)
        if key is None:
            raise FlowError("yosys stat JSON holds no module")
        by_type = mods[key].get("num_cells_by_type", {})
    return {str(k).lstrip("\\"): int(v) for k, v in by_type.items()}
