"""AddStreams: the residual add, joining two streams elementwise (FINN's AddStreams)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import ChannelStream, Resources, int_dtype_for_range
from .multistream import MultiStreamOp


@dataclass
class AddStreamsAttrs:
    NumChannels: int
    PE: int = 1
    numInputVectors: list[int] = field(default_factory=lambda: [1])
    lhsDataType: str = "UINT4"
    rhsDataType: str = "UINT4"
    # integer multipliers bringing two quantizers' scales to a common one (streamline decides)
    lhsScale: int = 1
    rhsScale: int = 1


class AddStreams(ChannelStream, MultiStreamOp):
    """``out = lhsScale·a + rhsScale·b``, exact (the output type holds the whole range). FINN's
    AddStreams is ``a + b`` (equal scales); the multipliers let streamlining join two tensors
    whose power-of-two (or otherwise commensurable) scales differ, without requantising."""

    Attrs = AddStreamsAttrs
    rtl_module = "add_streams"

    def input_datatypes(self):
        return [DataType[self.get_nodeattr("lhsDataType")], DataType[self.get_nodeattr("rhsDataType")]]

    def input_datatype(self):
        return self.input_datatypes()[0]

    def output_range(self) -> tuple[int, int]:
        a, b = self.input_datatypes()
        ma, mb = self.get_nodeattr("lhsScale"), self.get_nodeattr("rhsScale")
        ends_a = (ma * int(a.min()), ma * int(a.max()))
        ends_b = (mb * int(b.min()), mb * int(b.max()))
        return min(ends_a) + min(ends_b), max(ends_a) + max(ends_b)

    def output_datatype(self):
        return DataType[int_dtype_for_range(*self.output_range())]

    def check_folding(self):
        a = self.attrs
        return [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]

    def execute_numpy(self, a, b):
        ma, mb = self.get_nodeattr("lhsScale"), self.get_nodeattr("rhsScale")
        a = np.asarray(a).astype(np.int64).reshape(self.normal_input_shape())
        b = np.asarray(b).astype(np.int64).reshape(self.normal_input_shape())
        return ma * a + mb * b

    def exp_cycles(self):
        return self.input_words()[0]

    def buffered_input_words(self):
        return 2

    def resource_estimate(self):
        pe, ob = self.get_nodeattr("PE"), self.output_datatype().bitwidth()
        # per lane one adder per set bit beyond the first of the two multipliers (shifts are free),
        # half a LUT per bit on the carry chain: Yosys synth_xilinx gives 7 LUTs / 15 FFs for
        # PE=2, UINT4 + 4·UINT4 -> UINT7 (estimate 9 / 16)
        terms = sum(max(1, bin(abs(m)).count("1")) for m in (self.get_nodeattr("lhsScale"), self.get_nodeattr("rhsScale")))
        return Resources(lut=float(0.5 * pe * ob * (terms - 1) + 2), ff=float(pe * ob + 2))

    def rtl_parameters(self):
        a, b = self.input_datatypes()
        return {"PE": self.get_nodeattr("PE"), "LHS_BITS": a.bitwidth(), "LHS_SIGNED": int(a.signed()),
                "RHS_BITS": b.bitwidth(), "RHS_SIGNED": int(b.signed()),
                "LHS_SCALE": self.get_nodeattr("lhsScale"), "RHS_SCALE": self.get_nodeattr("rhsScale"),
                "OUT_BITS": self.output_datatype().bitwidth(), "NUM_WORDS": self.input_words()[0]}
