"""Batch-1 latency/throughput of one backend, every figure tagged with its source, saved as JSON.

``measured``: wall clock of ``Accelerator.execute`` on one image (host pre/post-processing
included), after warm-up, over repeats -> median/min/max.  ``rtlsim``: Verilator cycles per
frame divided by the board clock (deterministic: median = min = max).  ``estimate``: the
compiler's ``estimates.json``.
"""

from __future__ import annotations

import datetime as _dt
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Source
from fpga_flow.runtime.buildinfo import BENCH_DIR, read_estimates, write_json
from fpga_flow.runtime.driver import CPU_BACKENDS
from fpga_flow.runtime.timing import MIN_RUNS, time_until_stable

BENCH_BACKENDS = (*CPU_BACKENDS, "rtlsim", "pynq", "estimate")


@dataclass
class Stat:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> "Stat":
        return cls(float(statistics.median(values)), float(min(values)), float(max(values)))


@dataclass
class BenchResult:
    model: str
    board: str
    backend: str
    source: str  # measured | rtlsim | estimate
    device: str
    latency_ms: Stat
    fps: Stat
    batch_size: int = 1
    warmup: int = 0
    repeats: int = 1
    details: dict = field(default_factory=dict)
    numeric_format: str = ""  # CPU rows: fp32 / bf16 / int8 ...; hardware rows: the accelerator's bit widths
    runtime: str = ""  # library and version (CPU rows)
    threads: int | None = None  # CPU threads (CPU rows)
    stability: dict = field(default_factory=dict)  # timing.Stability of measured figures; empty otherwise
    fingerprint: str = ""  # model files + runtime + threads: an unchanged fingerprint is not re-timed
    host: str = field(default_factory=platform.node)
    timestamp: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def noisy(self) -> bool:
        return bool(self.stability.get("noisy"))

    def save(self, build_dir: str | Path) -> Path:
        return write_json(Path(build_dir) / BENCH_DIR / f"{self.backend}.json", self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "BenchResult":
        known = {f for f in cls.__dataclass_fields__}
        d = {k: v for k, v in d.items() if k in known}
        d["latency_ms"], d["fps"] = Stat(**d["latency_ms"]), Stat(**d["fps"])
        return cls(**d)


def _stats_from_latencies(lat_ms: list[float]) -> tuple[Stat, Stat]:
    lat = Stat.of(lat_ms)
    # FPS of the median run is 1000/median latency; min FPS comes from the slowest run
    return lat, Stat(1e3 / lat.median, 1e3 / lat.max, 1e3 / lat.min)


def bench_accelerator(acc, *, model: str, board: str, warmup: int = 3, repeats: int = MIN_RUNS,
                      images=None, max_rounds: int = 3) -> BenchResult:
    """Time batch-1 ``execute`` on ``acc`` (cpu / pynq: measured; rtlsim: from cycles).

    Measured figures come from the most stable of up to ``max_rounds`` windows of ``repeats`` runs
    (``timing.time_until_stable``); a window that never settles is kept and flagged noisy."""
    shape = acc.input_shape
    if images is None:
        if shape is None:
            raise FlowError(f"bench {acc.name}: input shape unknown (no io.json, no static ONNX shape)")
        images = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    x = acc.prepare(images)[:1]
    if acc.source is Source.RTLSIM:
        t0 = time.perf_counter()
        figs = acc.throughput_test(images=x)
        wall = time.perf_counter() - t0
        fps, lat_ms = figs["throughput_fps"], figs["latency_ms"]
        details = {k: v for k, v in figs.items() if k not in ("throughput_fps", "latency_ms", "backend", "source")}
        details["sim_wall_s"] = wall
        return BenchResult(model, board, acc.name, Source.RTLSIM.value, acc.backend.device,
                           Stat(lat_ms, lat_ms, lat_ms), Stat(fps, fps, fps), 1, 0, 1, details)
    lat, stability = time_until_stable(lambda: acc.execute(x), warmup=warmup, repeats=repeats, max_rounds=max_rounds)
    lat_s, fps_s = _stats_from_latencies(lat)
    be = acc.backend
    return BenchResult(model, board, acc.name, acc.source.value, be.device, lat_s, fps_s, 1, warmup,
                       len(lat), {"latencies_ms": lat}, numeric_format=be.numeric_format, runtime=be.runtime,
                       threads=be.threads, stability=stability.to_dict())


def bench_estimate(build_dir: str | Path, *, model: str, board: str) -> BenchResult:
    est = read_estimates(Path(build_dir))
    if est is None:
        raise FlowError(f"{Path(build_dir) / 'estimates.json'}: not found (run `fpga-flow build` first)")
    if not est.fps:
        raise FlowError(f"{Path(build_dir) / 'estimates.json'}: no fps or cycles+clock in it")
    fps = est.fps
    lat = est.latency_ms if est.latency_ms else 1e3 / fps
    details = {"clock_mhz": est.clock_mhz, "cycles_per_frame": est.cycles_per_frame, "latency_cycles": est.latency_cycles}
    return BenchResult(model, board, "estimate", Source.ESTIMATE.value, f"{board} (compiler model)",
                       Stat(lat, lat, lat), Stat(fps, fps, fps), 1, 0, 1, details)
