"""On a board (the pynq backend, here the fake PYNQ of test_pynq_packing) the notebooks also time the
board's own CPU on the same float model, with every CPU runtime installed there, and say which."""

from __future__ import annotations

import json
import sys

import numpy as np

from fpga_flow.runtime import notebook_util as nbu
from fpga_flow.runtime.backends.cpu import export_onnx
from fpga_flow.runtime.driver import Accelerator
from tests.runtime.conftest import tiny_cls
from tests.runtime.test_pynq_packing import _fake_pynq

IO = {"task": "cls", "input": {"shape": [1, 4, 4, 3], "folded_shape": [1, 4, 4, 1, 3], "datatype": "UINT4", "scale": 0.125},
      "output": {"shape": [1, 1, 1, 3], "folded_shape": [1, 1, 1, 3, 1], "datatype": "UINT16", "scale": 1.0}}


def _deploy(tmp_path):
    (tmp_path / "io.json").write_text(json.dumps(IO))
    (tmp_path / "bitfile").mkdir()
    (tmp_path / "bitfile" / "accel.bit").write_bytes(b"bit")
    (tmp_path / "bitfile" / "accel.hwh").write_text("<xml/>")
    export_onnx(tiny_cls(k=3), tmp_path / "model.onnx", (1, 3, 4, 4))
    return tmp_path


def test_board_run_times_its_cpu_with_each_installed_runtime_and_names_it(tmp_path, monkeypatch):
    deploy = _deploy(tmp_path)
    monkeypatch.setitem(sys.modules, "pynq", _fake_pynq(IO, []))
    x = np.random.default_rng(0).uniform(0, 1.8, (2, 3, 4, 4)).astype(np.float32)
    with Accelerator("pynq", deploy) as acc:
        accel = acc.throughput_test(images=x[:1])
    monkeypatch.setitem(sys.modules, "openvino", None)  # a PYNQ image with onnxruntime only
    cpu = nbu.cpu_baseline(deploy, x, repeats=5)
    assert cpu["backend"] == "cpu-onnxruntime" and cpu["runtime"].startswith("onnxruntime ")
    assert cpu["numeric_format"] == "fp32" and cpu["threads"] >= 1 and cpu["throughput_fps"] > 0
    assert "openvino is not installed" in cpu["tried"]["cpu-openvino"]
    s = nbu.summary(deploy, "pynq", {}, accel, cpu)
    assert s["speedup_vs_cpu"] == accel["throughput_fps"] / cpu["throughput_fps"] and s["accelerator"]["source"] == "measured"


def test_no_cpu_runtime_on_the_board_gives_none(tmp_path, monkeypatch):
    deploy = _deploy(tmp_path)
    monkeypatch.setitem(sys.modules, "openvino", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert nbu.cpu_baseline(deploy, np.zeros((1, 3, 4, 4), np.float32), repeats=3) is None
