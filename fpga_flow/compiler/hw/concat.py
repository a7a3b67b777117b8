"""StreamingConcat: channel concatenation of N >= 2 streams, the skip join of a U-Net or an
Inception-style block (FINN's StreamingConcat)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import PackedParam, Resources, int_dtype_for_range
from .multistream import MultiStreamOp


@dataclass
class StreamingConcatAttrs:
    ChannelsPerStream: list[int]  # [C0, C1, ...], one per input, in input order
    PE: int = 1  # elements per word on every stream (FINN: SIMD)
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    inputDataTypes: list[str] = field(default_factory=lambda: ["UINT4", "UINT4"])  # FINN's name


class StreamingConcat(MultiStreamOp):
    """``out = concatenate(inputs, axis=-1)``; per pixel ``C_k/PE`` words of input k, k = 0..N-1,
    each element widened to the output type (holds every input's range)."""

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
        return [DataType[d] for d in self.get_nodeattr("inputDataTypes")]

    def input_datatype(self):
        return self.input_datatypes()[0]

    def output_datatype(self):
        dts = self.input_datatypes()
        return DataType[int_dtype_for_range(min(d.min() for d in dts), max(d.max() for d in dts))]

    def check_folding(self):
        cs, pe = self.get_nodeattr("ChannelsPerStream"), self.get_nodeattr("PE")
        n_in, n_dt = len(self.onnx_node.input), len(self.get_nodeattr("inputDataTypes"))
        errs = [f"ChannelsPerStream={cs} not divisible by PE={pe}"] if any(c % pe for c in cs) else []
        if not (len(cs) == n_in == n_dt >= 2):
            errs.append(f"ChannelsPerStream={cs}, {n_dt} inputDataTypes and {n_in} inputs: one of each per "
                        "input stream, at least two")
        return errs

    def execute_numpy(self, *xs):
        return np.concatenate([np.asarray(x).astype(np.int64).reshape(s) for x, s in zip(xs, self.input_shapes())],
                              axis=-1)

    def exp_cycles(self):
        return int(np.prod(self.normal_output_shape())) // self.get_nodeattr("PE")

    def buffered_input_words(self):
        return 2

    def resource_estimate(self):
        pe, ob, n = self.get_nodeattr("PE"), self.output_datatype().bitwidth(), len(self.input_datatypes())
        # an N:1 mux per output bit (a LUT6 selects among 4: a tree takes (N - 1)/3 of them), a
        # last-word compare per input; Yosys synth_xilinx, PE=2, UINT4: 17/23/34 LUTs and 12/14/14
        # FFs for N = 2/3/5 (estimate 20/23/37 and 12/13/14)
        mux = math.ceil((n - 1) / 3)
        return Resources(lut=float(pe * ob * mux + 6 + 3 * n), ff=float(pe * ob + 3 + math.ceil(math.log2(n))))

    def rtl_parameters(self):
        cs, pe, dts = self.get_nodeattr("ChannelsPerStream"), self.get_nodeattr("PE"), self.input_datatypes()
        return {"N_IN": len(cs), "PE": pe, "OUT_BITS": self.output_datatype().bitwidth(),
                "IN_WIDTH": sum(self.instream_widths()),
                "WORDS": PackedParam([c // pe for c in cs], 16), "BITS": PackedParam([d.bitwidth() for d in dts], 8),
                "SIGNED": PackedParam([int(d.signed()) for d in dts], 1),
                "NUM_PIXELS": int(np.prod(self._vec()))}
