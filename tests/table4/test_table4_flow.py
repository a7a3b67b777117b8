"""table4 through the real flow (train, prune, quantize, compile, rtlsim) on a tiny configuration:
one row, two boards, two CPU runtimes; every figure traced to its build folder."""

from __future__ import annotations

import json
import shutil

import pytest

from fpga_flow.table4.rows import FlowSource
from fpga_flow.table4.run import Table4Config, run_table4

TINY = dict(n_images=32, image_size=32, width=0.0625, epochs=1, prune_epochs=1, qat_epochs=0, n_test=2, bench_repeats=3)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")]


def test_table4_end_to_end_on_the_flow(tmp_path):
    cfg = Table4Config(boards=["Pynq-Z2", "ZCU104"], rows=["vgg16-pruned"], out=tmp_path / "t4", threads=1, repeats=5,
                       cpu_backends=("cpu-torch", "cpu-openvino-int8"))
    res = run_table4(cfg, FlowSource(tmp_path / "build", TINY, synth=False))
    rows = res.doc["rows"]
    for r in (r for r in rows if r["kind"] == "fpga"):
        bench = json.loads((tmp_path / "build" / f"vgg16-pruned-{r['board']}" / "bench" / "rtlsim.json").read_text())
        assert r["source"] == "rtlsim" and r["fps"] == bench["fps"]["median"] and r["input"] == "32x32"
        assert r["accuracy"]["n_images"] == 2 and r["resources"]["source"] == "estimate"
        assert r["baseline"] and r["speedup"] > 0
    cpu = {r["backend"]: r for r in rows if r["kind"] == "cpu"}
    assert cpu["cpu-openvino-int8"]["numeric_format"].startswith("int8") and cpu["cpu-torch"]["fps"] > 0
    assert "vgg16-pruned" in res.markdown_path.read_text() and res.html_path.is_file()
