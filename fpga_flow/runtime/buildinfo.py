"""Read what the other stages leave in a build folder, tolerant of missing files.

One place that knows the file names of ``build/<model>-<board>/``: the bench, the deploy step,
the flow and the report all ask here.  A reader returns ``None`` when its file does not exist
and raises FlowError (naming the file) when it exists but cannot be read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError

FLOW_JSON = "flow.json"  # written by fpga_flow.flow: model, board, task, stage status
IO_JSON = "io.json"  # compiler: host side of the accelerator
ESTIMATES_JSON = "estimates.json"  # compiler: per-layer cycles/resources, fps
SYNTH_JSON = "synth/report.json"  # synth: Yosys counts + budget
METRICS_JSON = "metrics.json"  # flow: accuracy of float / pruned / quantized / hardware
BENCH_DIR = "bench"  # runtime: one <backend>.json per bench run
DEPLOY_DIR = "deploy"


def read_json(path: Path) -> Any | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise FlowError(f"{path}: unreadable JSON ({err})") from None


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default) + "\n")
    tmp.replace(path)
    return path


def _default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "value"):
        return o.value
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _num(d: Any, *keys: str) -> float | None:
    """First numeric value under any of ``keys`` (dotted paths allowed)."""
    if not isinstance(d, dict):
        return None
    for key in keys:
        cur: Any = d
        for part in key.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if isinstance(cur, (int, float)) and not isinstance(cur, bool):
            return float(cur)
    return None


@dataclass
class Estimates:
    """The compiler's totals (``estimate`` figures) and per-layer rows."""

    clock_mhz: float | None
    cycles_per_frame: float | None  # slowest layer (throughput)
    latency_cycles: float | None  # critical path
    fps: float | None
    latency_ms: float | None
    macs_per_frame: float | None
    mac_units: float | None  # Σ PE·SIMD
    layers: list[dict]
    resources: dict[str, float]
    raw: dict

    @classmethod
    def from_dict(cls, d: dict) -> "Estimates":
        tot = d.get("total") if isinstance(d.get("total"), dict) else d
        clock = _num(d, "clock_mhz", "fclk_mhz", "total.clock_mhz", "board.clock_mhz")
        if clock is None and _num(d, "clk_ns", "synth_clk_period_ns") is not None:
            clock = 1e3 / _num(d, "clk_ns", "synth_clk_period_ns")
        cycles = _num(tot, "max_cycles", "cycles_per_frame", "cycles")
        latency_cycles = _num(tot, "critical_path_cycles", "latency_cycles")
        fps = _num(tot, "fps", "estimated_throughput_fps", "throughput_fps")
        if fps is None and cycles and clock:
            fps = clock * 1e6 / cycles
        lat_ms = _num(tot, "latency_ms")
        if lat_ms is None and _num(tot, "latency_ns", "estimated_latency_ns") is not None:
            lat_ms = _num(tot, "latency_ns", "estimated_latency_ns") * 1e-6
        if lat_ms is None and latency_cycles and clock:
            lat_ms = latency_cycles / (clock * 1e3)
        layers = d.get("layers") or d.get("nodes") or []
        if isinstance(layers, dict):
            layers = [{"name": k, **v} for k, v in layers.items()]
        res = tot.get("resources") if isinstance(tot.get("resources"), dict) else {
            k: tot[k] for k in ("lut", "ff", "dsp", "bram18", "uram", "LUT", "FF", "DSP", "BRAM18", "URAM") if k in tot}
        macs = _num(tot, "macs_per_frame", "macs")
        units = _num(tot, "mac_units")
        if macs is None and layers:
            macs = sum(float(l.get("macs", 0) or 0) for l in layers) or None
        if units is None and layers:
            units = sum(float(l.get("mac_units") or (l.get("PE", 0) * l.get("SIMD", 0)) or 0) for l in layers) or None
        return cls(clock, cycles, latency_cycles, fps, lat_ms, macs, units, list(layers),
                   {k.lower(): float(v) for k, v in res.items() if isinstance(v, (int, float))}, d)


def read_estimates(build_dir: Path) -> Estimates | None:
    d = read_json(Path(build_dir) / ESTIMATES_JSON)
    return Estimates.from_dict(d) if isinstance(d, dict) else None


def read_flow(build_dir: Path) -> dict:
    return read_json(Path(build_dir) / FLOW_JSON) or {}


def read_benches(build_dir: Path) -> list[dict]:
    folder = Path(build_dir) / BENCH_DIR
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        d = read_json(p)
        if isinstance(d, dict):
            out.append(d)
    return out


def board_clock_mhz(board: str | None, build_dir: Path | None = None) -> float | None:
    """The fabric clock used for rtlsim/estimate figures: estimates.json, io.json, else the board YAML."""
    if build_dir is not None:
        est = read_estimates(build_dir)
        if est and est.clock_mhz:
            return est.clock_mhz
        io = read_json(Path(build_dir) / IO_JSON)
        if isinstance(io, dict) and _num(io, "clock_mhz", "fclk_mhz"):
            return _num(io, "clock_mhz", "fclk_mhz")
    if board:
        try:
            from fpga_flow import boards

            b = boards.load_board(board)
            for attr in ("clock_mhz", "fclk_mhz", "default_clock_mhz"):
                if getattr(b, attr, None):
                    return float(getattr(b, attr))
        except (ImportError, AttributeError):
            return None
    return None


def dataflow_macs(build_dir: Path) -> float | None:
    """MACs per frame of the hardware graph: Σ MW·MH·prod(numInputVectors) over its MVAU nodes."""
    p = Path(build_dir) / "dataflow.onnx"
    if not p.is_file():
        return None
    import onnx
    from onnx import helper

    total = 0.0
    for node in onnx.load(str(p)).graph.node:
        if node.op_type not in ("MVAU", "BinaryMVAU"):
            continue
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute if at.name in ("MW", "MH", "numInputVectors")}
        vectors = 1
        for v in a.get("numInputVectors", [1]):
            vectors *= int(v)
        total += float(a.get("MW", 0)) * float(a.get("MH", 0)) * vectors
    return total or None
