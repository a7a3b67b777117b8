"""StreamingConcat: channel concatenation of two streams, the skip join of a U-Net (FINN's
StreamingConcat)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import Resources, int_dtype_for_range
from .multistream import MultiStreamOp


@dataclass
class StreamingConcatAttrs:
    ChannelsPerStream: list[int]  # [C0, C1]
    PE: int = 1  # elements per word on every stream (FINN: SIMD)
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    lhsDataType: str = "UINT4"
    rhsDataType: str = "UINT4"


class StreamingConcat(MultiStreamOp):
    """``out[..., :C0] = a``, ``out[..., C0:] = b``; per pixel ``C0/PE`` words of ``a`` then
    ``C1/PE`` of ``b``, each element widened to the output type (holds both inputs' ranges)."""

    Attrs = StreamingConcatAttrs
    rtl_module = "stream_concat"

    def _vec(self):
        return tuple(self.get_nodeattr("numInputVectors"))

    def input_shapes(self):
        return [self._vec() + (c,) for c in self.get_nodeattr("ChannelsPerStream")]

    def normal_input_shape(self):
        return self.input_shapes()[0]

    def normal_output_shape(self):
        return self._vec() + (sum(self.get_nodeattr("ChannelsPerStream")),)

    def in_fold(self):
        return self.get_nodeattr("PE")

    out_fold = in_fold

    def input_datatypes(self):
        return [DataType[self.get_nodeattr("lhsDataType")], DataType[self.get_nodeattr("rhsDataType")]]

    def input_datatype(self):
        return self.input_datatypes()[0]

    def output_datatype(self):
        a, b = self.input_datatypes()
        return DataType[int_dtype_for_range(min(a.min(), b.min()), max(a.max(), b.max()))]

    def check_folding(self):
        cs, pe = self.get_nodeattr("ChannelsPerStream"), self.get_nodeattr("PE")
        errs = [f"ChannelsPerStream={cs} not divisible by PE={pe}"] if any(c % pe for c in cs) else []
        if len(cs) != 2 or len(self.onnx_node.input) != 2:
            errs.append(f"two input streams supported (ChannelsPerStream={cs}, {len(self.onnx_node.input)} inputs)")
        return errs

    def execute_numpy(self, a, b):
        a = np.asarray(a).astype(np.int64).reshape(self.input_shapes()[0])
        b = np.asarray(b).astype(np.int64).reshape(self.input_shapes()[1])
        return np.concatenate([a, b], axis=-1)

    def exp_cycles(self):
        return int(np.prod(self.normal_output_shape())) // self.get_nodeattr("PE")

    def buffered_input_words(self):
        return 2

    def resource_estimate(self):
        pe, ob = self.get_nodeattr("PE"), self.output_datatype().bitwidth()
        return Resources(lut=float(pe * ob + 12), ff=float(pe * ob + 8))

    def rtl_parameters(self):
        (c0, c1), (a, b) = self.get_nodeattr("ChannelsPerStream"), self.input_datatypes()
        return {"CH0": c0, "CH1": c1, "PE": self.get_nodeattr("PE"), "BITS0": a.bitwidth(),
                "SIGNED0": int(a.signed()), "BITS1": b.bitwidth(), "SIGNED1": int(b.signed()),
                "OUT_BITS": self.output_datatype().bitwidth(), "NUM_PIXELS": int(np.prod(self._vec()))}
