"""Deploy folder: contents, validation errors, a driver copy that imports without the host stack;
the PYNQ notebooks executed with nbclient on a cpu reference backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import io_dict, rand_images, tiny_seg
from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.cpu import export_onnx
from fpga_flow.runtime.deploy import make_deploy, validate_deploy
from fpga_flow.runtime.notebooks import run_deploy_notebook


def _deploy(folder, task="cls"):
    n = 3
    x = rand_images(n)
    if task == "seg":
        (folder / "io.json").write_text(json.dumps(io_dict("seg", k=2)))
        export_onnx(tiny_seg(), folder / "model.onnx", (1, 3, 8, 8))
        expected = np.zeros((n, 8, 8, 2), np.int64)
        pred = np.zeros((n, 8, 8), np.int64)
    else:
        expected = np.arange(n * 4).reshape(n, 1, 1, 4)
        pred = np.full(n, 3)
    out = make_deploy(folder, inputs=x, expected=expected, expected_pred=pred, model="m", board="Pynq-Z2",
                      float_onnx=folder / "model.onnx")
    if task == "seg":
        np.save(out / "test_data" / "labels.npy", (rand_images(n)[:, 0] > 0).astype(np.int64))
    return out


def test_deploy_folder_contents_and_validation(cls_build):
    folder, _ = cls_build
    out = _deploy(folder)
    d = validate_deploy(out)
    assert d.task == "cls" and not d.has_bitfile and d.manifest["model"] == "m"
    inputs, expected, pred = d.test_data()
    assert inputs.shape == (3, 3, 8, 8) and expected.shape == (3, 1, 1, 4) and pred.tolist() == [3, 3, 3]
    for rel in ("driver/fpga_flow/runtime/driver.py", "driver/fpga_flow/sim/packing.py", "model.onnx",
                "notebooks/pynq_classification.ipynb"):
        assert (out / rel).is_file(), rel
    with pytest.raises(FlowError, match="no bitstream \\(bitfile/accel.bit, bitfile/accel.hwh missing") as err:
        validate_deploy(out, need_bitfile=True)  # the notebook's first cell off the board, backend "pynq"
    assert 'off the board run the notebook with backend = "rtlsim"' in str(err.value)
    (out / "test_data" / "expected.npy").unlink()
    with pytest.raises(FlowError, match="deploy folder incomplete, missing test_data/expected.npy"):
        validate_deploy(out)
    with pytest.raises(FlowError, match="deploy folder not found"):
        validate_deploy(folder / "nope")


def _hwh(in_bits, out_bits):
    """A Vivado .hwh excerpt: the AXI DMA's own stream ports (other widths) must not be taken for the accelerator's."""
    return ('<MODULES><MODULE FULLNAME="/idma0" MODTYPE="axi_dma"><PORTS>'
            '<PORT DIR="O" LEFT="31" NAME="m_axis_mm2s_tdata" RIGHT="0"/></PORTS></MODULE>'
            '<MODULE FULLNAME="/accel" MODTYPE="top"><PORTS>'
            f'<PORT DIR="I" LEFT="{in_bits - 1}" NAME="s_axis_tdata" RIGHT="0"/>'
            f'<PORT DIR="O" LEFT="{out_bits - 1}" NAME="m_axis_tdata" RIGHT="0"/></PORTS></MODULE></MODULES>')


def test_bitfile_that_does_not_match_io_json_is_rejected(cls_build):
    folder, _ = cls_build
    out = _deploy(folder)
    (out / "bitfile").mkdir()
    (out / "bitfile" / "accel.bit").write_bytes(b"\0")
    (out / "bitfile" / "accel.hwh").write_text(_hwh(24, 64))  # io.json: 3 x INT8 in, 4 x INT16 out per word
    assert validate_deploy(out, need_bitfile=True).has_bitfile
    (out / "bitfile" / "accel.hwh").write_text(_hwh(32, 64))
    with pytest.raises(FlowError, match="input \\(s_axis\\) stream is 32 bits but io.json expects 24"):
        validate_deploy(out, need_bitfile=True)


def test_test_inputs_of_the_wrong_shape_are_rejected(cls_build):
    folder, _ = cls_build
    out = _deploy(folder)
    np.save(out / "test_data" / "inputs.npy", rand_images(2, hw=6))
    with pytest.raises(FlowError, match=r"shape \(2, 3, 6, 6\) does not match io.json \(N, 3, 8, 8\)"):
        validate_deploy(out)


def test_driver_copy_runs_without_the_host_stack(cls_build, tmp_path):
    folder, _ = cls_build
    out = _deploy(folder)
    code = ("import sys, numpy as np; import fpga_flow.runtime.driver as d; from fpga_flow.runtime.deploy import validate_deploy;"
            "from fpga_flow.runtime.backends.pynq_board import to_bytes, from_bytes;"
            f"dep = validate_deploy({str(out)!r}); t = dep.spec.input;"
            "x = dep.spec.quantize_input(dep.test_data()[0]); b = to_bytes(x, t);"
            "assert (from_bytes(b, t) == x).all() and b.shape == (3, 8, 8, 1, 3);"
            "assert 'torch' not in sys.modules and 'onnx' not in sys.modules, sorted(sys.modules);"
            "print(d.__file__)")
    env = dict(os.environ, PYTHONPATH=str(out / "driver"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(out / "driver"))


@pytest.mark.parametrize("task", ["cls", "seg"])
def test_notebook_runs_on_cpu_reference_backend(tmp_path, task):
    from .conftest import tiny_cls

    if task == "cls":
        (tmp_path / "io.json").write_text(json.dumps(io_dict("cls")))
        export_onnx(tiny_cls(), tmp_path / "model.onnx", (1, 3, 8, 8))
    out = _deploy(tmp_path, task)
    executed = run_deploy_notebook(out, backend="cpu-onnxruntime")
    nb = json.loads(executed.read_text())
    assert any(o.get("output_type") == "display_data" for c in nb["cells"] for o in c.get("outputs", []))  # the plot
    res = json.loads((out / "notebook_results_cpu-onnxruntime.json").read_text())
    assert res["accelerator"]["source"] == "measured" and res["checks"]["images"] == 3
    assert res["speedup_vs_cpu"] > 0


def test_deploy_notebook_runs_under_plain_nbconvert_with_the_backend_from_the_environment(tmp_path):
    """What a user types off the board (README): no parameter injection, FPGA_FLOW_BACKEND picks the backend."""
    from .conftest import tiny_cls

    (tmp_path / "io.json").write_text(json.dumps(io_dict("cls")))
    export_onnx(tiny_cls(), tmp_path / "model.onnx", (1, 3, 8, 8))
    out = _deploy(tmp_path, "cls")
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, FPGA_FLOW_BACKEND="cpu-onnxruntime", PYTHONPATH=str(repo), MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "pynq_classification.ipynb"], cwd=out / "notebooks", env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "notebooks" / "pynq_classification.nbconvert.ipynb").is_file()
    res = json.loads((out / "notebook_results_cpu-onnxruntime.json").read_text())
    assert res["checks"]["images"] == 3 and res["accelerator"]["source"] == "measured"


def test_io_json_packed_shape_must_agree_with_datatype(cls_build):
    folder, _ = cls_build
    out = _deploy(folder)
    io = json.loads((out / "io.json").read_text())
    io["input"]["packed_shape"] = [1, 8, 8, 1, 3]  # 3 x INT8 = 3 bytes per word: agrees
    (out / "io.json").write_text(json.dumps(io))
    validate_deploy(out)
    io["input"]["packed_shape"] = [1, 8, 8, 1, 4]
    (out / "io.json").write_text(json.dumps(io))
    with pytest.raises(FlowError, match=r"input packed_shape \(1, 8, 8, 1, 4\) disagrees"):
        validate_deploy(out)
