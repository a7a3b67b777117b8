"""Static int8 quantization of a float ONNX model for the CPU runtimes (onnxruntime, OpenVINO).

onnxruntime's ``quantize_static`` in QDQ form: per-channel int8 weights, uint8 activations, MinMax
ranges calibrated on training images. The QDQ file is what both onnxruntime and OpenVINO run as int8
(OpenVINO folds QuantizeLinear/DequantizeLinear pairs into its int8 kernels). The result is cached
beside the float model under a name that carries a hash of the float file and the calibration set,
so a changed model or calibration set is quantized again and an unchanged one is not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError

# the int8 models' stated tolerance: largest output error as a fraction of the largest float output
INT8_TOLERANCE = 0.05
INT8_FORMAT = "int8 (static QDQ: per-channel int8 weights, uint8 activations, MinMax calibration)"
# Without VNNI, x86 int8 kernels add pairs of uint8 x int8 products in int16 (vpmaddubsw), which saturates;
# onnxruntime's documented remedy is 7-bit weight ranges (reduce_range). Measured on an AVX2-only AMD EPYC:
# a small conv net's int8 output error 6.1 % of the float range with full ranges (tests/runtime).
REDUCED_RANGE_NOTE = "7-bit weight range: this CPU has no VNNI"


def cpu_has_vnni(cpuinfo: str | None = None) -> bool:
    """Whether this x86 CPU has a VNNI int8 dot product (AVX-512 VNNI, AVX-VNNI or AMX); ``cpuinfo`` the
    text of /proc/cpuinfo (this machine's when None; no flags to go by counts as VNNI: no remedy applied)."""
    from fpga_flow.runtime.backends.cpu import cpu_flags

    flags = cpu_flags(cpuinfo)
    return not flags or bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def with_range_note(numeric_format: str) -> str:
    """``numeric_format`` of a row running a model quantized here, naming the 7-bit weights on a CPU
    without VNNI (``int8 (..., 7-bit weight range: this CPU has no VNNI)``): the onnxruntime and OpenVINO
    int8 rows run the same QDQ file, so both say it."""
    if cpu_has_vnni():
        return numeric_format
    if numeric_format.endswith(")"):
        return f"{numeric_format[:-1]}, {REDUCED_RANGE_NOTE})"
    return f"{numeric_format} ({REDUCED_RANGE_NOTE})"


def int8_format() -> str:
    return with_range_note(INT8_FORMAT)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:12]


def int8_path(float_onnx: Path, calibration: np.ndarray) -> Path:
    key = _digest(Path(float_onnx).read_bytes(), np.ascontiguousarray(calibration, np.float32).tobytes(),
                  b"reduce_range" if not cpu_has_vnni() else b"")
    return Path(float_onnx).with_name(f"{Path(float_onnx).stem}.int8-{key}.onnx")


class _Images:
    """onnxruntime's CalibrationDataReader protocol over a float NCHW array, one image per call."""

    def __init__(self, input_name: str, images: np.ndarray):
        self.input_name, self.images, self.i = input_name, images, 0

    def get_next(self):
        if self.i >= len(self.images):
            return None
        self.i += 1
        return {self.input_name: self.images[self.i - 1:self.i]}

    def rewind(self) -> None:
        self.i = 0


def quantize_int8(float_onnx: str | Path, calibration: np.ndarray, out: str | Path | None = None) -> Path:
    """Float ONNX + calibration images (float NCHW, the training split) -> static QDQ int8 ONNX (cached)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = Path(float_onnx)
    if not src.is_file():
        raise FlowError(f"{src}: float ONNX model not found (needed for the int8 CPU model)")
    calib = np.ascontiguousarray(calibration, np.float32)
    if calib.ndim != 4 or len(calib) == 0:
        raise FlowError(f"{src}: int8 calibration needs float NCHW images, got shape {calib.shape}")
    dst = Path(out) if out else int8_path(src, calib)
    if dst.is_file():
        return dst
    pre = dst.with_suffix(".pre.onnx")
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        name = onnx.load(str(pre), load_external_data=False).graph.input[0].name
        quantize_static(str(pre), str(dst), _Images(name, calib), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, reduce_range=not cpu_has_vnni())
    except Exception as err:  # onnxruntime raises assorted types from deep inside
        dst.unlink(missing_ok=True)
        raise FlowError(f"{src}: static int8 quantization failed ({str(err).splitlines()[0]})") from None
    finally:
        pre.unlink(missing_ok=True)
    return dst
