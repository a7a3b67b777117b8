"""Node-by-node check of a build: every quantized activation of the QONNX model against the
integer tensor the hardware graph computes for it (layer classes' numpy semantics)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.hostio import host_input, host_output


def verify_build(build_dir, x: np.ndarray, graph: str = "dataflow.onnx") -> dict:
    """Run ``x`` (float, qonnx layout) through ``steps/01_tidy.onnx`` (qonnx execution) and the
    hardware graph; returns ``{"tensors": {qonnx_name: mismatching elements}, "checked": n,
    "output_max_abs_diff": d, "bit_exact": bool}``. Tensors that the hardware graph fuses away
    (e.g. inside an MVAU) are skipped."""
    b = Path(build_dir)
    io = json.loads((b / "io.json").read_text())
    tmap = json.loads((b / "steps" / "02_streamline.json").read_text())["extra"]["tensor_map"]
    ref_m = ModelWrapper(str(b / "steps" / "01_tidy.onnx"))
    hw = ModelWrapper(str(b / graph))
    ctx = execute_onnx(ref_m, {ref_m.graph.input[0].name: np.asarray(x, np.float32)}, return_full_exec_context=True)
    y, hctx = execute_hw(hw, host_input(x, io), return_all=True)
    res: dict = {}
    for name, m in tmap.items():
        if m["tensor"] not in hctx or name not in ctx:
            continue
        ref = np.asarray(ctx[name], np.float64)
        if ref.ndim == 4:
            ref = ref.transpose(0, 2, 3, 1)
        s = np.asarray(m["scale"]).reshape(-1)
        z = np.asarray(m["zero_point"]).reshape(-1)
        ref = ref.reshape(-1, s.size if s.size > 1 else ref.shape[-1]) if s.size > 1 else ref
        q = np.round(ref / s + z)
        got = np.asarray(hctx[m["tensor"]], np.float64).reshape(q.shape)
        res[name] = int((q != got).sum())
    out_ref = ctx[ref_m.graph.output[0].name]
    d = float(np.abs(host_output(y, io) - out_ref).max())
    tol = 1e-5 * max(1.0, float(np.abs(out_ref).max()))
    return {"tensors": res, "checked": len(res), "output_max_abs_diff": d,
            "bit_exact": all(v == 0 for v in res.values()) and d <= tol}
