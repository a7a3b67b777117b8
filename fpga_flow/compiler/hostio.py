"""Host side of the accelerator (io.json): float input -> integer NHWC frame, integer output -> float."""

from __future__ import annotations

import numpy as np
from qonnx.custom_op.general.intquant import int_quant

from fpga_flow.compiler.transforms.chain import F32, Step, eval_chain


def host_input(x: np.ndarray, io: dict) -> np.ndarray:
    """Float model input (qonnx layout, e.g. NCHW) -> integer NHWC tensor fed to the dataflow graph."""
    i = io["input"]
    x = np.asarray(x, dtype=F32).reshape(i["qonnx_shape"]).reshape(i.get("quant_shape", i["qonnx_shape"]))
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    x = eval_chain([Step.from_json(d) for d in i.get("pre_steps", [])], x)
    if i.get("bipolar"):  # BipolarQuant (y = ±s, s > 0) as its bit b = [x >= 0] (transforms/bipolar.py)
        return (x >= 0).astype(F32).reshape(i["shape"])
    s, z = F32(i["scale"]), F32(i["zero_point"])
    y = int_quant(x, s, z, F32(i["bits"]), i["signed"], i["narrow"], i["rounding_mode"])
    q = np.round(y / s + z)
    return q.reshape(i["shape"]).astype(F32)


def host_output(y: np.ndarray, io: dict) -> np.ndarray:
    """Integer NHWC output of the dataflow graph -> the QONNX model's float output (its layout)."""
    o = io["output"]
    steps = [Step.from_json(d) for d in o["steps"]]
    y = eval_chain(steps, np.asarray(y, dtype=F32).reshape(o["shape"]))
    if o.get("host_argmax"):
        y = np.argmax(y, axis=-1)[..., None].astype(F32)
    qs = o["qonnx_shape"]
    if len(qs) == 4:
        y = y.transpose(0, 3, 1, 2)
    return y.reshape(qs)
