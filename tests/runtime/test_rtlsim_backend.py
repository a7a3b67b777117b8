"""rtlsim backend: figures from cycles at the board clock, tagged rtlsim (the simulator is faked here;
tests/flow runs the real Verilator model)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from .conftest import io_dict, rand_images
from fpga_flow.runtime import Accelerator
from fpga_flow.runtime.bench import bench_accelerator


@dataclass
class FakeRes:
    outputs: np.ndarray
    cycles_per_frame: float
    latency_cycles: int
    frames: int
    wall_s: float = 0.5
    build_s: float = 2.0


def test_rtlsim_figures_come_from_cycles(tmp_path, monkeypatch):
    import fpga_flow.sim.rtlsim as sim

    calls = []

    def fake_rtlsim(build_dir, x):
        calls.append(x.shape[0])
        s = x.sum(axis=(1, 2))  # (N, 3)
        out = np.concatenate([s, s[:, :1]], axis=1).reshape(len(x), 1, 1, 4)
        return FakeRes(out, 50_000.0 if len(x) > 1 else 80_000.0, 80_000, len(x))

    monkeypatch.setattr(sim, "rtlsim", fake_rtlsim)
    (tmp_path / "io.json").write_text(json.dumps(io_dict("cls")))
    (tmp_path / "dataflow.onnx").write_bytes(b"")
    (tmp_path / "estimates.json").write_text(json.dumps({"clock_mhz": 125.0, "total": {"cycles_per_frame": 48_000}}))
    acc = Accelerator("rtlsim", tmp_path, board="Pynq-Z2")
    r = bench_accelerator(acc, model="m", board="Pynq-Z2", images=rand_images(1))
    assert r.source == "rtlsim" and r.backend == "rtlsim"
    assert r.fps.median == pytest.approx(125e6 / 50_000) == r.fps.min == r.fps.max  # steady state, 2 frames streamed
    assert r.latency_ms.median == pytest.approx(1e3 * 80_000 / 125e6)
    assert r.details["clock_mhz"] == 125.0 and r.details["frames_simulated"] == 2 and r.details["sim_wall_s"] > 0
    assert calls == [1, 2]
    out = acc.execute(rand_images(3))
    assert out.raw.shape == (3, 1, 1, 4) and out.pred.shape == (3,)


def test_rtlsim_needs_a_build_folder(tmp_path):
    from fpga_flow.errors import FlowError

    (tmp_path / "io.json").write_text(json.dumps(io_dict("cls")))
    with pytest.raises(FlowError, match="no dataflow.onnx"):
        Accelerator("rtlsim", tmp_path)
