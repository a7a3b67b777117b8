"""The same sweep across a two-node Ray cluster on this machine: `ray start --head` and `ray start
--address` (1 CPU each), `fpga-flow sweep --address`; both nodes stopped at the end, even on failure."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ours(marks: tuple[str, ...], since: float) -> list:
    """Processes this test's `ray start` calls spawned: their command lines name our temp dir or port."""
    me = os.getuid()
    out = []
    for p in psutil.process_iter(["pid", "cmdline", "uids", "create_time"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["uids"].real == me and p.info["create_time"] >= since - 1 and any(m in cmd for m in marks):
                out.append(p)
        except (psutil.Error, TypeError):
            continue
    return [p for p in out if p.pid != os.getpid()]


@pytest.fixture
def two_nodes():
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="rayc-")
    # token authentication with a token of this test's own (no shared ~/.ray/auth_token)
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore",
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=uuid.uuid4().hex + uuid.uuid4().hex)
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    since = time.time()
    try:
        subprocess.run([BIN / "ray", "start", "--head", f"--port={port}", "--include-dashboard=false",
                        f"--temp-dir={tmp}", *common], env=env, check=True, capture_output=True, timeout=180)
        r = subprocess.run([BIN / "ray", "start", f"--address=127.0.0.1:{port}", *common], env=env,
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
        yield f"127.0.0.1:{port}", env
    finally:
        procs = _ours((tmp, f"127.0.0.1:{port}"), since)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for p in alive:
            p.kill()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slow
def test_sweep_across_two_nodes(two_nodes, tmp_path):
    address, env = two_nodes
    out = tmp_path / "sweep"
    r = subprocess.run([BIN / "fpga-flow", "sweep", "--model", "vgg16", "--image-size", "32", "--width", "0.0625",
                        "--bits", "4", "--bits", "2", "--board", "Pynq-Z2", "--board", "ZCU104",
                        "--target-fps", "500", "--target-fps", "2000", "--out", str(out), "--address", address],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["cluster"] == {"address": address, "cpus": 2, "nodes": 2}
    assert len(doc["points"]) == 8 and not doc["failed"]
    assert len({p["ray_node"] for p in doc["points"]}) == 2  # both nodes built points
    for p in doc["points"]:
        est = json.loads((Path(p["build_dir"]) / "estimates.json").read_text())["total"]
        assert p["fps"] == est["fps"] >= p["target_fps"] and p["utilization"]["lut"] == est["utilization"]["lut"]
    assert set(doc["pareto"]) and "Best point per board" in r.stdout
