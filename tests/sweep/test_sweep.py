"""fpga-flow sweep on one local 2-CPU Ray shared by the module: the tiny VGG16 at 2 bit widths x
2 boards x 2 targets against its individual builds, resume, constraints, a killed worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from fpga_flow.compiler.build import build_dataflow
from fpga_flow.sweep import Constraints, ModelRow, SweepGrid
from fpga_flow.sweep.results import SHARES, dominates
from fpga_flow.sweep.runner import run_sweep

ray = pytest.importorskip("ray")
TINY = ModelRow("vgg16", image_size=32, width=1 / 16)


@pytest.fixture(scope="module")
def local_ray():
    from fpga_flow.sweep.cluster import ray_session

    with ray_session(num_cpus=2):
        yield


@pytest.fixture(scope="module")
def sweep(local_ray, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    grid = SweepGrid([TINY], bits=[(4, 4), (2, 2)], boards=["Pynq-Z2", "ZCU104"], target_fps=[500.0, 2000.0])
    return grid, run_sweep(grid, root, constraints=Constraints(max_lut=0.2))


def test_sweep_table_matches_individual_builds(sweep, tmp_path):
    grid, res = sweep
    doc = json.loads((res.root / "sweep.json").read_text())
    assert len(doc["points"]) == 8 and not doc["failed"], doc["failed"]
    assert doc["cluster"]["cpus"] == 2 and res.reused == 0
    assert (res.root / "pareto.png").stat().st_size > 10_000 and "Pareto" in (res.root / "sweep.md").read_text()
    combos = {(r["wbits"], r["board"], r["target_fps"]) for r in doc["points"]}
    assert combos == {(w, b, t) for w in (4, 2) for b in ("Pynq-Z2", "ZCU104") for t in (500.0, 2000.0)}
    for r in doc["points"]:
        # every number of the table is the one its own build folder holds
        est = json.loads((Path(r["build_dir"]) / "estimates.json").read_text())["total"]
        assert r["fps"] == est["fps"] >= r["target_fps"] and r["fps_source"] == "estimate"
        assert r["resources"] == {k: est["resources"][k] for k in SHARES}
        assert r["utilization"] == {k: est["utilization"][k] for k in SHARES}
        assert r["accuracy"] is None and "random weights" in r["accuracy_note"]
    # one point rebuilt from its export outside the sweep gives the same numbers
    by = {(r["wbits"], r["board"], r["target_fps"]): r for r in doc["points"]}
    r = by[(2, "ZCU104", 2000.0)]
    qonnx = next(p for p in (res.root / "qonnx").glob("*/model.qonnx.onnx")
                 if json.loads((p.parent / "qonnx.json").read_text())["label"].endswith("w2a2"))
    alone = build_dataflow(qonnx, "ZCU104", tmp_path / "alone", target_fps=2000.0, quiet=True)
    assert alone.fps == r["fps"] and alone.estimates["total"]["utilization"]["lut"] == r["utilization"]["lut"]
    # Pareto front by brute force over the builds' estimates, one front per board
    objs = {}
    for p in doc["points"]:
        t = json.loads((Path(p["build_dir"]) / "estimates.json").read_text())["total"]
        objs[p["key"]] = (p["board"], (t["fps"],) + tuple(-t["utilization"][k] for k in SHARES))
    front = {k for k, (b, o) in objs.items() if not any(dominates(q, o) for j, (bj, q) in objs.items()
                                                       if bj == b and j != k)}
    assert set(doc["pareto"]) == front and front
    # best per board under --max-lut 0.2: the fastest point with LUT share <= 20 %
    for board, key in doc["best"].items():
        ok = [p for p in doc["points"] if p["board"] == board and p["utilization"]["lut"] <= 0.2]
        if not ok:
            assert key is None
            continue
        best = next(p for p in ok if p["key"] == key)
        assert best["fps"] == max(p["fps"] for p in ok)


def test_sweep_resumes_without_recomputing(sweep):
    grid, res = sweep
    mtimes = {p: p.stat().st_mtime_ns for p in (res.root / "points").glob("*/point.json")}
    again = run_sweep(grid, res.root, plot=False)
    assert again.reused == 8 and again.wall_s < 5
    assert mtimes == {p: p.stat().st_mtime_ns for p in (res.root / "points").glob("*/point.json")}
    assert [r["fps"] for r in again.rows] == [r["fps"] for r in res.rows]


def _kill_first_worker(root: Path, killed: list, stop: threading.Event) -> None:
    """SIGKILL the Ray worker process that runs the first point to start (its pid is in the file name)."""
    while not stop.is_set():
        for f in sorted((root / "running").glob("*.*")) if (root / "running").is_dir() else []:
            pid = int(f.suffix[1:])
            os.kill(pid, signal.SIGKILL)
            killed.append((f.stem, pid))
            return
        time.sleep(0.05)


@pytest.mark.parametrize("retries", [1, 0])
def test_killed_worker_loses_only_its_point(local_ray, tmp_path, retries):
    grid = SweepGrid([TINY], bits=[(4, 4)], boards=["Pynq-Z2"], target_fps=[500.0, 2000.0])
    killed: list = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_worker, args=(tmp_path, killed, stop), daemon=True)
    killer.start()
    try:
        res = run_sweep(grid, tmp_path, max_retries=retries, plot=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker started a point"
    key, pid = killed[0]
    rows = res.by_key()
    others = [r for k, r in rows.items() if k != key]
    assert all(r["status"] == "ok" for r in others)
    doc = json.loads((tmp_path / "sweep.json").read_text())  # whole, parseable
    if retries:
        assert rows[key]["status"] == "ok" and rows[key]["pid"] != pid  # re-run by another worker
        assert doc["failed"] == []
    else:
        assert rows[key]["status"] == "failed" and "Worker" in rows[key]["error"]
        assert doc["failed"] == [key] and not (tmp_path / "points" / key).exists()


def _where(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_fan_out_runs_ray_tasks_when_ray_is_running(local_ray):
    from fpga_flow.sweep.cluster import fan_out, ray_running

    assert ray_running()
    out = fan_out(_where, range(5))
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]  # in order
    assert os.getpid() not in {pid for _, pid in out}  # computed in Ray worker processes


@pytest.mark.synth
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")
def test_per_layer_yosys_fans_out_on_ray(local_ray, tmp_path, monkeypatch):
    """synthesize() sends its out-of-context layers through fan_out (Ray tasks, as Ray runs here);
    each layer's counts equal a direct Yosys run of the same job."""
    import fpga_flow.sweep.cluster as cluster
    from fpga_flow.synth.layers import HLS_DIR, layers_from_manifest, module_library, read_manifest
    from fpga_flow.synth.run import _synth_layer, synthesize
    from fpga_flow.synth.yosys import yosys_version

    b = tmp_path / "mac-Pynq-Z2"
    (b / "rtl").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "synth" / "rtl" / "mac_array.v", b / "rtl")
    stages = [{"name": f"mac{pe}", "node": f"MAC_{pe}", "op_type": "MAC", "module": "mac_array",
               "params": {"PE": pe, "A_BITS": 4, "W_BITS": 4, "ACC_BITS": 12, "DEPTH": 64}} for pe in (1, 2, 4)]
    (b / "rtl" / "manifest.json").write_text(json.dumps({"top": "mac_array", "sources": ["mac_array.v"],
                                                         "stages": stages}))
    calls = []
    real = cluster.fan_out
    monkeypatch.setattr(cluster, "fan_out", lambda fn, items, **kw: calls.append(len(items)) or real(fn, items, **kw))
    rep = synthesize(b, "Pynq-Z2", top=False, check=False)
    assert calls == [3] and cluster.ray_running()
    lib = module_library([b / "rtl", HLS_DIR])
    for job in layers_from_manifest(b, read_manifest(b)):
        direct = _synth_layer(job, lib, "xc7", tmp_path / "direct" / job.name, yosys_version(), True, 600)
        assert rep["layers"][job.name]["resources"] == direct["resources"], job.name
    for pe in (1, 2, 4):  # each layer's result is its own job's, not a neighbour's
        layer = rep["layers"][f"mac{pe}"]
        assert layer["params"]["PE"] == pe and layer["source"] == "yosys" and layer["resources"]["ff"] > 0


def test_each_finished_point_is_a_line_in_a_log(local_ray, tmp_path):
    """Without a terminal rich draws no bar: a sweep of hours must still say in its log what finished."""
    import io

    from rich.console import Console

    grid = SweepGrid([TINY], bits=[(4, 4)], boards=["Pynq-Z2"], target_fps=[500.0])
    log = io.StringIO()
    run_sweep(grid, tmp_path, plot=False, console=Console(file=log, width=200))
    points = [line for line in log.getvalue().splitlines() if line.startswith("sweep: ok ")]
    assert len(points) == 1, log.getvalue()
    assert "done 1, running 0, queued 0, failed 0" in points[-1]
