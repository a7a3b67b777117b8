"""DuplicateStreams: the stream fork in front of a branch (FINN's DuplicateStreams)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType

from .base import ChannelStream, Resources
from .multistream import MultiStreamOp


@dataclass
class DuplicateStreamsAttrs:
    NumChannels: int
    PE: int = 1
    numInputVectors: list[int] = field(default_factory=lambda: [1])  # e.g. [1, H, W]
    inputDataType: str = "UINT4"
    NumOutputStreams: int = 2


class DuplicateStreams(ChannelStream, MultiStreamOp):
    """Every output is the input. ``duplicate_streams`` registers one word per output and takes
    the next input once all outputs took the previous one."""

    Attrs = DuplicateStreamsAttrs
    rtl_module = "duplicate_streams"

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    output_datatype = input_datatype

    def check_folding(self):
        a = self.attrs
        errs = [] if a.NumChannels % a.PE == 0 else [f"NumChannels={a.NumChannels} not divisible by PE={a.PE}"]
        if a.NumOutputStreams != len(self.onnx_node.output):
            errs.append(f"NumOutputStreams={a.NumOutputStreams} but the node has {len(self.onnx_node.output)} outputs")
        return errs

    def execute_numpy(self, x):
        return np.asarray(x).reshape(self.normal_input_shape())

    def exp_cycles(self):
        return self.input_words()[0]

    def buffered_input_words(self):
        return 1

    def resource_estimate(self):
        w, n = self.instream_width(), self.get_nodeattr("NumOutputStreams")
        return Resources(lut=float(2 * n + 4), ff=float(w + n))

    def rtl_parameters(self):
        return {"WIDTH": self.instream_width(), "N_OUT": self.get_nodeattr("NumOutputStreams"),
                "NUM_WORDS": self.input_words()[0]}
