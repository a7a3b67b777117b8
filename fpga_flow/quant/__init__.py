"""Brevitas QAT + QONNX export.

Public API (imports of torch/brevitas/qonnx happen on first use)::

    QuantSpec(wbits=4, abits=4, first_wbits=8, last_wbits=8, in_bits=8, out_bits=None,
              weight_scaling="tensor", scales="po2", fuse_bn=True)
    quantize_model(float_model, spec) -> nn.Sequential of Brevitas layers
    calibrate(qmodel, batches) ; train_qat(qmodel, loader, QATConfig) ; evaluate(model, loader, task)
    export_qonnx_clean(qmodel, input_shape, path) -> Path
    save_quant_checkpoint(...) / load_quant_checkpoint(path, in_size=None) -> (qmodel, meta)
    read_quant_meta(path) -> name, config, spec, input_shape (no model built)
    quantize_flow(model_arg, spec, out_dir, data=None, epochs=0, ...) -> QuantizeResult

See ``convert`` for the layer mapping and ``export`` for what the compiler sees in the graph.
"""

from __future__ import annotations

import importlib
import warnings

from fpga_flow.quant.spec import QuantSpec, ScaleType, WeightScaling

warnings.filterwarnings("ignore", message="fast_hadamard_transform")

_LAZY = {
    "quantize_model": "convert", "quant_layer_info": "convert", "LayerInfo": "convert",
    "SUPPORTED": "convert",
    "calibrate": "qat", "train_qat": "qat", "evaluate": "qat", "QATConfig": "qat",
    "export_qonnx_clean": "export", "ExportError": "export", "integer_grid_report": "export",
    "max_abs_diff": "export", "load_qonnx": "export", "run_qonnx": "export",
    "save_quant_checkpoint": "checkpoint", "load_quant_checkpoint": "checkpoint",
    "read_quant_meta": "checkpoint",
    "model_size": "summary", "render_summary": "summary",
    "quantize_flow": "pipeline", "QuantizeResult": "pipeline", "resolve_float_model": "pipeline",
}

__all__ = ["QuantSpec", "ScaleType", "WeightScaling", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"fpga_flow.quant.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fpga_flow.quant' has no attribute {name!r}")
