"""Tidy: shapes, constant folding (quantizers kept), unique names; rejects dynamic shapes."""

from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import SortGraph
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model

from fpga_flow.errors import FlowError


def check_static_shapes(model: ModelWrapper) -> None:
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            if d.dim_param or d.dim_value <= 0:
                what = d.dim_param or "?"
                raise FlowError(f"tensor '{vi.name}' has a dynamic dimension {i} ('{what}'); "
                                "export with a fixed input shape (batch 1)")
    shape = model.get_tensor_shape(model.graph.input[0].name)
    if shape and shape[0] != 1:
        raise FlowError(f"input '{model.graph.input[0].name}' has batch {shape[0]}; export with batch 1")


class Tidy:
    def apply(self, model: ModelWrapper):
        check_static_shapes(model)
        try:
            model = cleanup_model(model)
            model = model.transform(SortGraph())
            model = model.transform(InferShapes())
            model = model.transform(InferDataTypes())
        except FlowError:
            raise
        except Exception as e:  # noqa: BLE001 - qonnx raises plain exceptions
            raise FlowError(f"tidy failed on the QONNX graph: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        for vi in list(model.graph.value_info) + list(model.graph.output):
            for i, d in enumerate(vi.type.tensor_type.shape.dim):
                if d.dim_param:
                    raise FlowError(f"tensor '{vi.name}' has a dynamic dimension {i} ('{d.dim_param}')")
        return model, False
