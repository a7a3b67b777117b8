"""Per-layer Yosys and FIFO-sizing simulations of one build as Ray tasks give what they give
without Ray: a tiny VGG16 point with --rtlsim --yosys, built once in-process and once on a local Ray."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fpga_flow.sweep import ModelRow, SweepGrid
from fpga_flow.sweep.points import build_point, quantize_point

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("yosys") and shutil.which("verilator")),
                                 reason="needs yosys and verilator")]


def test_synth_and_fifo_sizing_fan_out_match(tmp_path):
    from fpga_flow.sweep.cluster import ray_running
    from fpga_flow.sweep.runner import run_sweep

    grid = SweepGrid([ModelRow("vgg16", image_size=32, width=1 / 16)], boards=["Pynq-Z2"], target_fps=[500.0],
                     rtlsim=True, yosys=True)
    (point,) = grid.points()
    assert not ray_running()
    alone = build_point(point, quantize_point(point.quant, str(tmp_path / "a")), str(tmp_path / "a"))
    res = run_sweep(grid, tmp_path / "r", num_cpus=2, plot=False)
    (on_ray,) = res.rows
    assert alone["status"] == on_ray["status"] == "ok", (alone.get("error"), on_ray.get("error"))
    assert on_ray["fps_source"] == "rtlsim" and on_ray["resources_source"] == "yosys"
    assert on_ray["rtlsim"]["bit_exact"] is True
    for k in ("fps", "cycles_per_frame", "resources", "utilization"):
        assert on_ray[k] == alone[k], k
    a, r = Path(alone["build_dir"]), Path(on_ray["build_dir"])
    fifo = [json.loads((d / "rtl" / "fifo_depths.json").read_text()) for d in (a, r)]
    assert fifo[0]["depths"] == fifo[1]["depths"] and fifo[0]["cap"] == fifo[1]["cap"]
    layers = [json.loads((d / "synth" / "report.json").read_text())["layers"] for d in (a, r)]
    assert {n: v["resources"] for n, v in layers[0].items()} == {n: v["resources"] for n, v in layers[1].items()}
    assert not (r / "sizing").exists()
