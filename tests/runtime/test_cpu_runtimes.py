"""The strongest CPU runtimes on a tiny model: OpenVINO (default precision, strict fp32, int8) and
onnxruntime int8 give PyTorch's outputs within their stated tolerances and report format and threads."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.runtime.driver import Accelerator
from fpga_flow.runtime.int8 import INT8_TOLERANCE, quantize_int8
from tests.runtime.conftest import rand_images, tiny_cls

pytest.importorskip("openvino")
HW = 16


@pytest.fixture(scope="module")
def float_onnx(tmp_path_factory):
    from fpga_flow.runtime.backends.cpu import export_onnx

    d = tmp_path_factory.mktemp("cpu")
    model = tiny_cls()
    export_onnx(model, d / "model.onnx", (1, 3, HW, HW))
    x = rand_images(6, HW, seed=1)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    return d, x, ref


def _run(name, folder, x, **opts):
    with Accelerator(name, folder, threads=1, **opts) as acc:
        return acc.execute(x), acc.backend


@pytest.mark.parametrize("name,fmt,rtol", [("cpu-openvino-f32", "fp32", 1e-5), ("cpu-onnxruntime", "fp32", 1e-5),
                                           ("cpu-openvino", None, 2e-2)])
def test_float_runtimes_match_pytorch(float_onnx, name, fmt, rtol):
    folder, x, ref = float_onnx
    res, be = _run(name, folder, x)
    scale = np.abs(ref).max()
    assert np.abs(res.scores - ref).max() <= rtol * scale
    assert be.threads == 1 and be.runtime.split()[0] in ("OpenVINO", "onnxruntime")
    if fmt:
        assert be.numeric_format == fmt
    else:  # OpenVINO's own choice, read back from the compiled model: bf16 on AMX/AVX512-BF16 CPUs, else fp32
        assert be.numeric_format in ("bf16", "fp32", "fp16")


@pytest.mark.parametrize("name", ["cpu-onnxruntime-int8", "cpu-openvino-int8"])
def test_int8_runtimes_within_stated_tolerance(float_onnx, name):
    folder, x, ref = float_onnx
    calib = rand_images(16, HW, seed=2)
    res, be = _run(name, folder, x, calibration=calib)
    err = np.abs(res.scores - ref).max() / np.abs(ref).max()
    assert 0 < err <= INT8_TOLERANCE  # quantized (not the float graph), but within the stated tolerance
    assert be.numeric_format.startswith("int8")
    assert quantize_int8(folder / "model.onnx", calib).is_file()  # cached under the model+calibration hash


def test_int8_model_is_cached_per_calibration_set(float_onnx):
    folder = float_onnx[0]
    a = quantize_int8(folder / "model.onnx", rand_images(8, HW, seed=3))
    mtime = a.stat().st_mtime_ns
    assert quantize_int8(folder / "model.onnx", rand_images(8, HW, seed=3)) == a and a.stat().st_mtime_ns == mtime
    assert quantize_int8(folder / "model.onnx", rand_images(8, HW, seed=4)) != a


def test_int8_without_calibration_names_what_is_missing(float_onnx):
    with pytest.raises(FlowError, match="needs calibration images"):
        Accelerator("cpu-openvino-int8", float_onnx[0])


def test_missing_openvino_is_a_clear_error(float_onnx, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(FlowError, match="cpu-openvino-f32 unavailable: openvino is not installed"):
        Accelerator("cpu-openvino-f32", float_onnx[0])


def test_reduced_weight_range_only_without_vnni():
    from fpga_flow.runtime.int8 import cpu_has_vnni

    assert cpu_has_vnni("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    assert cpu_has_vnni("flags\t\t: fpu avx2 avx_vnni\n") and cpu_has_vnni("flags\t: avx2 amx_int8 amx_tile\n")
    assert not cpu_has_vnni("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 fma\n")
    assert cpu_has_vnni("")  # no flags to go by (not x86 Linux): no remedy applied


@pytest.mark.parametrize("vnni", [True, False])
def test_both_int8_rows_say_when_weights_are_7_bit(float_onnx, monkeypatch, vnni):
    """Issue 13: the OpenVINO int8 row runs the same reduced-range QDQ file as onnxruntime's, and said nothing."""
    import fpga_flow.runtime.int8 as int8

    monkeypatch.setattr(int8, "cpu_has_vnni", lambda cpuinfo=None: vnni)
    folder, x, _ = float_onnx
    calib = rand_images(16, HW, seed=2)
    formats = {name: _run(name, folder, x[:1], calibration=calib)[1].numeric_format
               for name in ("cpu-onnxruntime-int8", "cpu-openvino-int8")}
    note = ", 7-bit weight range: this CPU has no VNNI)"
    for name, fmt in formats.items():
        assert fmt.startswith("int8 (") and fmt.endswith(note) != vnni, (name, fmt)
    assert formats["cpu-onnxruntime-int8"] == int8.INT8_FORMAT[:-1] + ("" if vnni else note[:-1]) + ")"
    assert formats["cpu-openvino-int8"].startswith("int8 (QDQ; other ops ")


def test_range_note_goes_inside_the_parenthesis(monkeypatch):
    import fpga_flow.runtime.int8 as int8

    monkeypatch.setattr(int8, "cpu_has_vnni", lambda cpuinfo=None: False)
    assert int8.with_range_note("int8 (QDQ; other ops fp32)") == \
        "int8 (QDQ; other ops fp32, 7-bit weight range: this CPU has no VNNI)"
    assert int8.with_range_note("int8") == "int8 (7-bit weight range: this CPU has no VNNI)"
    monkeypatch.setattr(int8, "cpu_has_vnni", lambda cpuinfo=None: True)
    assert int8.with_range_note("int8 (QDQ; other ops fp32)") == "int8 (QDQ; other ops fp32)"
