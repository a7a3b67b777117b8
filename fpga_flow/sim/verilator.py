"""Generic Verilator harness: build a top module with a generated C++ testbench and run it.

The testbench drives ``s_axis`` from a buffer of packed words (optionally with random
gaps), drains ``m_axis`` (optionally with random backpressure), counts cycles per frame,
tracks the maximum of monitor ports (FIFO occupancy) and stops with ``FlowError`` when
nothing moves for ``stall_limit`` cycles (deadlock). Builds are cached under
``$FPGA_FLOW_CACHE`` (default ``~/.cache/fpga_flow/verilator``) by a hash of the
sources, the top, its parameters and the testbench, so a test re-run costs no compile.
Memory files are opened at run time relative to the run directory (``cwd``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError, ToolMissing
from fpga_flow.sim.packing import word_bytes

HLS_DIR = Path(__file__).resolve().parents[2] / "hls"
_TEMPLATE = Path(__file__).with_name("tb_template.cpp")


def verilator_bin() -> str:
    exe = shutil.which("verilator")
    if not exe:
        raise ToolMissing("verilator not found on PATH (install it: `make hwtools` or apt-get install verilator)")
    return exe


def cache_root() -> Path:
    return Path(os.environ.get("FPGA_FLOW_CACHE", Path.home() / ".cache" / "fpga_flow")) / "verilator"


@dataclass
class Port:
    """A testbench-visible output port: a monitor (max tracked) or the debug handshake vector."""
    name: str
    width: int


@dataclass
class TbSpec:
    top: str
    in_width: int
    out_width: int
    monitors: list[Port] = field(default_factory=list)   # widths <= 64
    dbg: Port | None = None                              # any width, dumped at the end
    progress: str | None = None                          # 1-bit port: internal progress this cycle
    axilite: str | None = None                           # AXI-lite slave prefix (e.g. "s_axi_ctrl")


def _setter(port: str, width: int, nb: int, write: bool) -> str:
    """C++ body copying ``nb`` little-endian bytes to/from a Verilator port of ``width`` bits."""
    if width <= 64:
        if write:
            return f"    uint64_t v = 0; memcpy(&v, p, {nb}); t->{port} = v;"
        return f"    uint64_t v = (uint64_t)t->{port}; memcpy(p, &v, {nb});"
    nwords = (width + 31) // 32
    lines = []
    for i in range(nwords):
        n = min(4, nb - 4 * i)
        if n <= 0:
            break
        if write:
            lines.append(f"    {{ uint32_t w = 0; memcpy(&w, p + {4*i}, {n}); t->{port}[{i}] = w; }}")
        else:
            lines.append(f"    {{ uint32_t w = t->{port}[{i}]; memcpy(p + {4*i}, &w, {n}); }}")
    return "\n".join(lines)


def _axil_code(p: str) -> str:
    """After the run: read ID/IN_WORDS/OUT_WORDS, set the soft reset, read CONTROL and OUT_WORDS."""
    return f"""    {{
        top->s_axis_tvalid = 0; top->m_axis_tready = 1;
        auto tick = [&]() {{ top->ap_clk = 1; top->eval(); top->ap_clk = 0; top->eval(); }};
        auto rd = [&](int a) -> long long {{
            top->{p}_araddr = a; top->{p}_arvalid = 1; top->{p}_rready = 0;
            for (int i = 0; i < 64; i++) {{ top->eval(); bool hs = top->{p}_arready; tick(); if (hs) break; }}
            top->{p}_arvalid = 0; top->{p}_rready = 1;
            long long v = -1;
            for (int i = 0; i < 64; i++) {{ top->eval(); if (top->{p}_rvalid) {{ v = top->{p}_rdata; tick(); break; }} tick(); }}
            top->{p}_rready = 0; top->eval();
            return v;
        }};
        auto wr = [&](int a, unsigned d) {{
            top->{p}_awaddr = a; top->{p}_awvalid = 1; top->{p}_wdata = d; top->{p}_wstrb = 0xF;
            top->{p}_wvalid = 1; top->{p}_bready = 1;
            for (int i = 0; i < 64; i++) {{ top->eval(); bool hs = top->{p}_awready; tick(); if (hs) break; }}
            top->{p}_awvalid = 0; top->{p}_wvalid = 0;
            for (int i = 0; i < 64; i++) {{ top->eval(); bool b = top->{p}_bvalid; tick(); if (b) break; }}
            top->{p}_bready = 0; top->eval();
        }};
        axil[0] = rd(0x0); axil[1] = rd(0x8); axil[2] = rd(0xC);
        wr(0x4, 1); axil[3] = rd(0x4); axil[4] = rd(0xC); wr(0x4, 0);
    }}"""


def generate_tb(spec: TbSpec) -> str:
    in_nb, out_nb = word_bytes(spec.in_width), word_bytes(spec.out_width)
    mon = []
    for i, m in enumerate(spec.monitors):
        if m.width > 64:
            raise FlowError(f"monitor port {m.name} is wider than 64 bits")
        mon.append(f"        {{ long long m = (long long)top->{m.name}; if (m > mon_max[{i}]) mon_max[{i}] = m; }}")
    dbg_nb = word_bytes(spec.dbg.width) if spec.dbg else 0
    rep = {
        "@TOP@": spec.top,
        "@IN_NB@": str(in_nb),
        "@OUT_NB@": str(out_nb),
        "@SET_IN@": _setter("s_axis_tdata", spec.in_width, in_nb, True),
        "@GET_OUT@": _setter("m_axis_tdata", spec.out_width, out_nb, False),
        "@GET_DBG@": _setter(spec.dbg.name, spec.dbg.width, dbg_nb, False) if spec.dbg else "    (void)t; (void)p;",
        "@NMON@": str(len(spec.monitors)),
        "@MONITORS@": "\n".join(mon),
        "@DBG_NB@": str(dbg_nb),
        "@PROGRESS@": f" || top->{spec.progress}" if spec.progress else "",
        "@AXIL@": _axil_code(spec.axilite) if spec.axilite else "",
    }
    text = _TEMPLATE.read_text()
    for k, v in rep.items():
        text = text.replace(k, v)
    return text


def _param_arg(name: str, value) -> str:
    if isinstance(value, str):
        return f'-G{name}="{value}"'
    if hasattr(value, "verilog"):  # PackedParam
        return f"-G{name}={value.verilog()}"
    if isinstance(value, bool):
        value = int(value)
    return f"-G{name}={int(value)}"


def _version() -> str:
    try:
        return subprocess.run([verilator_bin(), "--version"], capture_output=True, text=True).stdout.strip()
    except OSError as err:  # pragma: no cover
        raise ToolMissing(f"verilator cannot run: {err}") from err


def build(sources: list[Path], spec: TbSpec, params: dict | None = None, *, opt: str = "-O1",
          cache: Path | None = None, jobs: int = 1) -> Path:
    """Build (or reuse) the simulator of ``spec.top``; returns the executable's path."""
    exe = verilator_bin()
    params = dict(params or {})
    tb = generate_tb(spec)
    h = hashlib.sha256()
    h.update(_version().encode())
    h.update(f"{spec.top}|{opt}|{sorted(params.items())}".encode())
    for s in sorted(Path(p) for p in sources):
        h.update(s.name.encode())
        h.update(Path(s).read_bytes())
    h.update(tb.encode())
    key = h.hexdigest()[:20]
    root = Path(cache) if cache else cache_root()
    d = root / f"{spec.top}-{key}"
    binary = d / "obj" / "simv"
    if binary.exists():
        return binary
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{spec.top}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists():
            return binary
        tmp = Path(tempfile.mkdtemp(prefix=f"{spec.top}-", dir=root))
        (tmp / "tb.cpp").write_text(tb)
        cmd = [exe, "--cc", "--exe", "--build", "-O1", "--x-assign", "fast", "--x-initial", "fast",
               "--noassert", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--default-language", "1364-2005",
               "--build-jobs", str(jobs), "--top-module", spec.top, "-Mdir", str(tmp / "obj"), "-o", "simv",
               "-MAKEFLAGS", f"OPT_FAST={opt} OPT_SLOW=-O0 OPT_GLOBAL={opt}"]
        cmd += [_param_arg(k, v) for k, v in params.items()]
        cmd += [str(Path(s).resolve()) for s in sources] + [str(tmp / "tb.cpp")]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            err = [ln for ln in (r.stderr + r.stdout).splitlines() if "rror" in ln][:5]
            shutil.rmtree(tmp, ignore_errors=True)
            raise FlowError(f"verilator build of {spec.top} failed: {' | '.join(err) or r.stderr[-500:]}")
        (tmp / "build.json").write_text(json.dumps({"cmd": cmd, "build_s": round(time.time() - t0, 2)}))
        # keep only what running needs
        for p in (tmp / "obj").iterdir():
            if p.name != "simv":
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
        if d.exists():
            shutil.rmtree(d, ignore_errors=True)
        tmp.rename(d)
    return binary


@dataclass
class SimResult:
    outputs: np.ndarray          # (n_out_words, out_nbytes) uint8
    cycles: int                  # total simulated cycles
    first_in: list[int]
    first_out: list[int]
    last_out: list[int]
    mon_max: list[int]
    wall_s: float
    status: str
    dbg: str
    axil: list = field(default_factory=list)   # AXI-lite readback: ID, IN_WORDS, OUT_WORDS, CONTROL, OUT_WORDS in reset

    @property
    def latency(self) -> int:
        """First input word accepted to last output word of frame 0, in cycles."""
        return self.last_out[0] - self.first_in[0] + 1

    @property
    def cycles_per_frame(self) -> float:
        """Steady-state cycles per frame: spacing of the last output words of the frames."""
        n = len(self.last_out)
        if n < 2:
            return float(self.latency)
        return (self.last_out[-1] - self.last_out[0]) / (n - 1)


def run(binary: Path, words: np.ndarray, *, frames: int, in_per_frame: int, out_per_frame: int,
        out_width: int, cwd: Path | None = None, backpressure: float = 0.0, gaps: float = 0.0,
        seed: int = 1, stall_limit: int = 100_000, max_cycles: int = 0, name: str = "design",
        stalled_layer=None) -> SimResult:
    """Run ``frames`` frames of packed input ``words`` (``(n, in_nbytes)`` uint8).

    Raises FlowError on deadlock (``stalled_layer(dbg_hex) -> str`` names the layer) or timeout.
    """
    words = np.ascontiguousarray(words, dtype=np.uint8)
    if words.shape[0] != frames * in_per_frame:
        raise FlowError(f"{name}: {words.shape[0]} input words for {frames} frames of {in_per_frame}")
    with tempfile.TemporaryDirectory(prefix="rtlsim-") as tmp:
        t = Path(tmp)
        (t / "in.bin").write_bytes(words.tobytes())
        args = [str(binary), str(t / "in.bin"), str(t / "out.bin"), str(t / "stats.json"),
                str(words.shape[0]), str(in_per_frame), str(out_per_frame), str(frames),
                str(int(backpressure * 1000)), str(int(gaps * 1000)), str(seed), str(stall_limit),
                str(max_cycles)]
        prefix = os.environ.get("FPGA_FLOW_SIM_PREFIX", "").split()   # e.g. "perf record -o /tmp/p.data"
        t0 = time.time()
        r = subprocess.run(prefix + args, cwd=str(cwd) if cwd else tmp, capture_output=True, text=True)
        wall = time.time() - t0
        if not (t / "stats.json").exists():
            raise FlowError(f"{name}: simulator failed (rc {r.returncode}): {(r.stderr or r.stdout)[-300:]}")
        st = json.loads((t / "stats.json").read_text())
        out = np.frombuffer((t / "out.bin").read_bytes(), np.uint8).reshape(-1, word_bytes(out_width))
    res = SimResult(out, st["cycles"], st["first_in"], st["first_out"], st["last_out"], st["mon_max"],
                    wall, st["status"], st["dbg"], st.get("axil", []))
    if res.status != "ok":
        where = stalled_layer(res.dbg) if stalled_layer else None
        what = "deadlock (no progress for %d cycles)" % stall_limit if res.status == "deadlock" else "timeout"
        raise FlowError(f"{name}: rtlsim {what} after {res.cycles} cycles, {st['in_words']}/{words.shape[0]} "
                        f"words in, {st['out_words']}/{frames * out_per_frame} out"
                        + (f"; stalled layer: {where}" if where else ""))
    return res
