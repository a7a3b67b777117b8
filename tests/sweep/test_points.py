"""Two sweeps on one build root, without Ray: the same point built twice at once ends as one whole
folder (staging folder + rename; the second rename finds the first and drops its copy)."""

from __future__ import annotations

import json
import threading

from fpga_flow.sweep import ModelRow, SweepGrid
from fpga_flow.sweep.points import POINT_FILE, build_point, quantize_point


def test_same_point_built_twice_at_once(tmp_path):
    grid = SweepGrid([ModelRow("vgg16", image_size=32, width=1 / 16)], bits=[(2, 2)], target_fps=[500.0])
    (point,) = grid.points()
    qdir = quantize_point(point.quant, str(tmp_path))
    assert quantize_point(point.quant, str(tmp_path)) == qdir  # the export is reused, not redone
    out: list = [None, None]

    def run(i: int) -> None:
        out[i] = build_point(point, qdir, str(tmp_path))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out[0]["status"] == out[1]["status"] == "ok"
    assert out[0] == out[1]  # both callers get the record of the folder that won
    points = tmp_path / "points"
    assert [p.name for p in points.iterdir()] == [point.key()]  # no staging folder left behind
    rec = json.loads((points / point.key() / POINT_FILE).read_text())
    assert rec == out[0] and rec["fps"] >= 500.0
    assert (points / point.key() / "estimates.json").is_file() and not list((tmp_path / "running").iterdir())
