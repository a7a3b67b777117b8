"""OpenVINO on the CPU: the runtime's default precision (bf16 on AMX/AVX-512 Xeons), strict fp32, or int8.

int8 runs a static QDQ model (``fpga_flow.runtime.int8``), which OpenVINO executes with its int8 kernels.
The numeric format a row reports is read back from the compiled model, not assumed.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Backend, Domain, Source
from fpga_flow.runtime.backends.cpu import cpu_name

PRECISION_WORD = (("bfloat16", "bf16"), ("float32", "fp32"), ("float16", "fp16"), ("bf16", "bf16"), ("f32", "fp32"),
                  ("f16", "fp16"))  # ov.Type prints as "<Type: 'bfloat16'>"; bfloat16 tested before float16


class OvPrecision(str, Enum):
    DEFAULT = "default"  # whatever OpenVINO picks for this CPU
    F32 = "f32"  # INFERENCE_PRECISION_HINT f32: no silent bf16
    INT8 = "int8"  # a QDQ model; ops outside the QDQ pairs run at the default precision


def openvino_version() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return openvino.__version__.split("-")[0]


class OpenVinoBackend(Backend):
    domain = Domain.FLOAT_NCHW
    source = Source.MEASURED

    def __init__(self, onnx_path: str | Path, *, precision: OvPrecision | str = OvPrecision.DEFAULT,
                 threads: int | None = None):
        precision = OvPrecision(precision)
        self.name = "cpu-openvino" + ("" if precision is OvPrecision.DEFAULT else f"-{precision.value}")
        try:
            import openvino as ov
        except ImportError:
            raise FlowError(f"backend {self.name} unavailable: openvino is not installed "
                            "(pip install openvino, see requirements.lock)") from None
        path = Path(onnx_path)
        if not path.is_file():
            raise FlowError(f"{path}: ONNX model not found")
        core = ov.Core()
        try:
            model = core.read_model(str(path))
            shape = model.inputs[0].get_partial_shape()
            if shape.rank.is_static and shape[0].is_dynamic:  # batch 1 static: the latency case, and faster
                model.reshape({model.inputs[0].any_name: [1, *[d.get_length() for d in list(shape)[1:]]]})
            config = {"PERFORMANCE_HINT": "LATENCY", "CPU_DENORMALS_OPTIMIZATION": True}
            if threads:
                config["INFERENCE_NUM_THREADS"] = int(threads)
            if precision is OvPrecision.F32:
                config["INFERENCE_PRECISION_HINT"] = "f32"
            self.compiled = core.compile_model(model, "CPU", config)
        except RuntimeError as err:
            raise FlowError(f"{path}: OpenVINO cannot compile it ({str(err).strip().splitlines()[0]})") from None
        self.request = self.compiled.create_infer_request()
        self.path = path
        self.input_shape = tuple(self.compiled.inputs[0].get_shape())
        self.threads = int(self.compiled.get_property("INFERENCE_NUM_THREADS"))
        hint = str(self.compiled.get_property("INFERENCE_PRECISION_HINT")).lower()
        float_word = next((w for k, w in PRECISION_WORD if k in hint), hint)
        self.numeric_format = float_word
        if precision is OvPrecision.INT8:
            from fpga_flow.runtime.int8 import with_range_note

            self.numeric_format = with_range_note(f"int8 (QDQ; other ops {float_word})")
        self.runtime = f"OpenVINO {openvino_version()}"
        self.device = cpu_name()

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        outs = []
        for i in range(len(x)):
            self.request.infer({0: x[i:i + 1]})
            outs.append(self.request.get_output_tensor(0).data.copy())
        return np.concatenate(outs)
