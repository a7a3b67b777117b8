"""Noisy timings are detected on synthetic series, re-timed until stable, and a bench whose model and
runtime did not change is not re-timed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpga_flow.runtime.timing import assess, time_until_stable


def _steady(n=30, ms=10.0, seed=0):
    return list(ms * (1 + 0.02 * np.random.default_rng(seed).standard_normal(n)))


def test_steady_series_is_stable():
    st = assess(_steady())
    assert st.stable and st.runs == 30 and st.iqr_over_median < 0.05 and not st.reasons


def test_busy_machine_series_is_noisy():
    # the re-run under load: median 110.8 ms, fastest 0.6 ms
    lat = [0.6] + [110.8] * 15 + [90.0, 130.0] * 7
    st = assess(lat)
    assert st.noisy and st.median_over_min == pytest.approx(110.8 / 0.6)
    assert any("fastest run 0.6 ms" in r for r in st.reasons)


def test_spread_and_too_few_runs_are_named():
    st = assess(list(np.linspace(5, 15, 30)))
    assert st.noisy and any(r.startswith("spread") for r in st.reasons)
    st = assess(_steady(10))
    assert st.noisy and st.reasons == ["only 10 runs (< 30)"]


class FakeClock:
    """perf_counter that advances by the next latency of a script each time a run ends."""

    def __init__(self, latencies_ms):
        self.lat, self.t, self.calls = iter(latencies_ms), 0.0, 0

    def __call__(self):
        self.calls += 1
        if self.calls % 2 == 0:  # the end of a timed run
            self.t += next(self.lat) / 1e3
        return self.t


def test_unstable_window_is_timed_again_and_the_stable_one_kept():
    noisy = [0.6] + [110.8] * 29
    clock = FakeClock(noisy + _steady(30, 12.0))
    lat, st = time_until_stable(lambda: None, warmup=0, repeats=30, clock=clock)
    assert st.stable and st.rounds == 2 and np.median(lat) == pytest.approx(12.0, rel=0.05)


def test_never_stable_is_flagged_after_max_rounds():
    clock = FakeClock([0.6] + [110.8] * 29 + list(np.linspace(5, 15, 30)) * 2)
    lat, st = time_until_stable(lambda: None, warmup=0, repeats=30, max_rounds=3, clock=clock)
    assert st.noisy and st.rounds == 3 and st.to_dict()["noisy"] is True


def test_unchanged_bench_is_reused_and_force_or_a_new_model_retimes(cls_build, monkeypatch):
    from fpga_flow.runtime import bench
    from fpga_flow.runtime.backends.cpu import export_onnx
    from fpga_flow.runtime.cli import run_bench
    from tests.runtime.conftest import tiny_cls

    windows = iter([_steady(30, 5.0, s) for s in range(10)])  # a quiet machine, whatever the load here

    def timed(run, **kw):
        run()
        lat = next(windows)
        return lat, assess(lat)

    monkeypatch.setattr(bench, "time_until_stable", timed)
    folder, _ = cls_build
    root = folder.parent / f"{folder.name}-root"  # tmp_path's parent is shared with other tests
    root.mkdir()
    bdir = root / "m-Pynq-Z2"
    folder.rename(bdir)
    first = run_bench("m", "Pynq-Z2", "cpu-onnxruntime", bdir.parent, warmup=1, repeats=30, threads=1)
    assert not first.noisy
    again = run_bench("m", "Pynq-Z2", "cpu-onnxruntime", bdir.parent, warmup=1, repeats=30, threads=1)
    assert "reused" in again.details and again.latency_ms.median == first.latency_ms.median
    forced = run_bench("m", "Pynq-Z2", "cpu-onnxruntime", bdir.parent, warmup=1, repeats=30, threads=1, force=True)
    assert "reused" not in forced.details and forced.latency_ms.median != first.latency_ms.median
    export_onnx(tiny_cls(k=5), bdir / "model.onnx", (1, 3, 8, 8))
    changed = run_bench("m", "Pynq-Z2", "cpu-onnxruntime", bdir.parent, warmup=1, repeats=30, threads=1)
    assert "reused" not in changed.details and changed.fingerprint != first.fingerprint
    saved = json.loads((bdir / "bench" / "cpu-onnxruntime.json").read_text())
    assert saved["fingerprint"] == changed.fingerprint and saved["threads"] == 1 and saved["numeric_format"] == "fp32"
    saved["stability"]["noisy"] = True  # a noisy figure is timed again, never kept because it is cached
    (bdir / "bench" / "cpu-onnxruntime.json").write_text(json.dumps(saved))
    assert "reused" not in run_bench("m", "Pynq-Z2", "cpu-onnxruntime", bdir.parent, repeats=30, threads=1).details
