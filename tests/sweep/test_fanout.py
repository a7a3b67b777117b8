"""FIFO sizing of one build with its cap trials as Ray tasks picks what it picks without Ray."""

from __future__ import annotations

import json
import shutil

import pytest

from fpga_flow.sweep import ModelRow, SweepGrid
from fpga_flow.sweep.points import build_point, quantize_point

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")]


def test_fifo_sizing_fans_out_on_ray(tmp_path):
    from fpga_flow.sim.rtlsim import size_fifos
    from fpga_flow.sweep.cluster import ray_running, ray_session

    grid = SweepGrid([ModelRow("vgg16", image_size=32, width=1 / 16)], prune=[0.5], boards=["Pynq-Z2"],
                     target_fps=[500.0])
    (point,) = grid.points()
    rec = build_point(point, quantize_point(point.quant, str(tmp_path / "s")), str(tmp_path / "s"))
    assert rec["status"] == "ok", rec.get("error")
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        shutil.copytree(rec["build_dir"], d)
    assert not ray_running()
    alone = size_fifos(a)
    with ray_session(num_cpus=2):
        on_ray = size_fifos(b)
    assert alone == on_ray
    ja, jb = (json.loads((d / "rtl" / "fifo_depths.json").read_text()) for d in (a, b))
    assert ja["cap"] == jb["cap"] and ja["cap_trials"] == jb["cap_trials"] and ja["depths_measured"] == jb["depths_measured"]
    assert not (b / "sizing").exists()
