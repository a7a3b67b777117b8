"""One simulated frame gives a latency, never a throughput."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import cli

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not on PATH")


@pytest.mark.slow
def test_one_frame_reports_latency_only(build_copy):
    r3 = cli("sim", "--build", build_copy, "--frames", "3")
    assert r3.code == 0, r3.message
    three = json.loads((build_copy / "sim" / "rtlsim.json").read_text())
    r1 = cli("sim", "--build", build_copy, "--frames", "1")
    assert r1.code == 0, r1.message
    one = json.loads((build_copy / "sim" / "rtlsim.json").read_text())
    assert three["frames"] == 3 and three["cycles_per_frame"] > 0 and three["fps"] > 0
    # steady state: frames overlap in the pipeline, so the spacing is below the latency
    assert three["cycles_per_frame"] < three["latency_cycles"]
    assert one["frames"] == 1 and one["cycles_per_frame"] is None and "fps" not in one
    assert one["latency_cycles"] == three["latency_cycles"] and one["bit_exact"]
    assert "needs the spacing of >= 2 frames" in one["throughput_note"]
    flat = " ".join(r1.output.split())
    assert "no throughput" in flat and "FPS" not in flat.split("no throughput")[0]
