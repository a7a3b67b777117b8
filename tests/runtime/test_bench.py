"""Bench figures carry their source and are saved as JSON in the build folder."""

from __future__ import annotations

import json

import pytest

from fpga_flow.errors import FlowError
from fpga_flow.runtime.bench import Stat, _stats_from_latencies, bench_estimate
from fpga_flow.runtime.cli import run_bench


def test_stats_median_min_max_and_fps_from_latency():
    lat, fps = _stats_from_latencies([2.0, 4.0, 1.0, 8.0, 5.0])
    assert (lat.median, lat.min, lat.max) == (4.0, 1.0, 8.0)
    assert (fps.median, fps.min, fps.max) == (250.0, 125.0, 1000.0)


def test_cpu_bench_is_measured_and_saved(cls_build):
    folder, _ = cls_build
    root = folder.parent
    bdir = root / "m-Pynq-Z2"
    folder.rename(bdir)
    r = run_bench("m", "Pynq-Z2", "cpu-onnxruntime", root, warmup=1, repeats=5)
    assert r.source == "measured" and r.repeats == 5 and r.warmup == 1
    assert r.latency_ms.min <= r.latency_ms.median <= r.latency_ms.max
    saved = json.loads((bdir / "bench" / "cpu-onnxruntime.json").read_text())
    assert saved["source"] == "measured" and saved["fps"]["median"] == pytest.approx(1e3 / saved["latency_ms"]["median"])
    assert len(saved["details"]["latencies_ms"]) == 5


def test_estimate_bench_is_tagged_estimate(tmp_path):
    (tmp_path / "estimates.json").write_text(json.dumps({"clock_mhz": 100.0, "total": {"max_cycles": 250000, "critical_path_cycles": 1000000}}))
    r = bench_estimate(tmp_path, model="m", board="Pynq-Z2")
    assert r.source == "estimate" and r.fps.median == pytest.approx(400.0) and r.latency_ms.median == pytest.approx(10.0)


def test_bench_errors_name_the_missing_thing(tmp_path):
    with pytest.raises(FlowError, match="build folder not found"):
        run_bench("nope", "Pynq-Z2", "cpu-torch", tmp_path)
    (tmp_path / "m-Pynq-Z2").mkdir()
    with pytest.raises(FlowError, match="estimates.json: not found"):
        run_bench("m", "Pynq-Z2", "estimate", tmp_path)
    with pytest.raises(FlowError, match="unknown backend"):
        run_bench("m", "Pynq-Z2", "gpu", tmp_path)
    assert Stat.of([3.0]).median == 3.0
