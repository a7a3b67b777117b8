"""StreamingFIFO and StreamingDataWidthConverter: identities on the data (hls/SPEC.md).

SPEC.md gives no parameter lists for ``fifo`` and ``dwc``; decisions:
* ``fifo``: ``WIDTH`` (bits per word), ``DEPTH`` (words).
* ``dwc``: ``IN_WIDTH``, ``OUT_WIDTH`` (bits), one a multiple of the other (as FINN's RTL DWC),
  ``NUM_IN_WORDS`` (input words per frame). Bits are regrouped LSB-first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from qonnx.core.datatype import DataType

from .base import HWCustomOp, Resources, bram18_count


def fifo_ram_style(width: int, depth: int) -> str:
    """``distributed`` (LUTRAM) for a FIFO whose BRAMs would be less than half full and that holds at
    most 64 kbit (e.g. 141 words of 384 bits: 11 BRAM18 at 27 %, about 2,000 LUTs instead), else
    ``auto``: wide, shallow FIFOs after FIFO sizing otherwise push a design over its BRAM budget."""
    bits = width * depth
    n = bram18_count(width, depth)
    if depth > 32 and n and bits <= 65536 and bits < 0.5 * n * 18432:
        return "distributed"
    return "auto"


def fifo_bram18(width: int, depth: int, ram_style: str = "auto") -> int:
    """BRAM18 that Yosys ``synth_xilinx`` gives hls/fifo.v's memory: none in LUTRAM (``distributed``) or
    at most 32 words deep (a RAM32M holds 32 words of 6 bits at 1/16 of a RAMB18's cost in Yosys'
    memory_libmap, so it always wins there), else the best RAMB18 aspect ratio (tests/synth/test_fifo_bram.py:
    12x4096 -> 3, 128x512 -> 4). Codegen's ``fifo_ram_style`` picks the style when it is ``auto``."""
    style = fifo_ram_style(width, depth) if ram_style == "auto" else ram_style
    if style == "distributed" or depth <= 32:
        return 0
    return bram18_count(width, depth)


@dataclass
class FIFOAttrs:
    shape: list[int]  # normal NHWC shape of the tensor
    fold: int = 1  # elements per word
    depth: int = 2
    dataType: str = "UINT8"
    ram_style: str = "auto"


class StreamingFIFO(HWCustomOp):
    Attrs = FIFOAttrs
    rtl_module = "fifo"

    def normal_input_shape(self):
        return tuple(self.get_nodeattr("shape"))

    normal_output_shape = normal_input_shape

    def in_fold(self):
        return self.get_nodeattr("fold")

    out_fold = in_fold

    def input_datatype(self):
        return DataType[self.get_nodeattr("dataType")]

    output_datatype = input_datatype

    def execute_numpy(self, x):
        return np.asarray(x).reshape(self.normal_input_shape())

    def exp_cycles(self):
        return 0

    def effective_ram_style(self) -> str:
        style = self.get_nodeattr("ram_style")
        return style if style != "auto" else fifo_ram_style(self.instream_width(), self.get_nodeattr("depth"))

    def resource_estimate(self):
        w, d = self.instream_width(), self.get_nodeattr("depth")
        n = fifo_bram18(w, d, self.effective_ram_style())
        if n:
            return Resources(lut=30.0, ff=float(2 * w + 40), bram18=n)
        if d <= 32:  # SRL16/32-based FIFO: one LUT per bit per 32 entries
            return Resources(lut=float(w * math.ceil(d / 32) + 20), ff=float(w + 20))
        # LUTRAM: Yosys takes RAM64M (64 words x 3 bits, 4 LUTs) and a (d/64)-to-1 read multiplexer per
        # bit (252 x 220: 336 RAM64M + 252 LUT6 = 1,639 LUTs; 8 x 1,024: 304; vgg16-hcr 224)
        banks = math.ceil(d / 64)
        lut = 4 * banks * math.ceil(w / 3) + (w * math.ceil((banks - 1) / 3) if banks > 1 else 0) + 30 + 2 * math.log2(d)
        return Resources(lut=float(lut), ff=float(w + 20))

    def rtl_parameters(self):
        return {"WIDTH": self.instream_width(), "DEPTH": self.get_nodeattr("depth"),
                "RAM_STYLE": self.effective_ram_style()}


@dataclass
class DWCAttrs:
    shape: list[int]
    inFold: int = 1  # elements per input word
    outFold: int = 1  # elements per output word
    dataType: str = "UINT8"


class StreamingDataWidthConverter(HWCustomOp):
    Attrs = DWCAttrs
    rtl_module = "dwc"

    def normal_input_shape(self):
        return tuple(self.get_nodeattr("shape"))

    normal_output_shape = normal_input_shape

    def in_fold(self):
        return self.get_nodeattr("inFold")

    def out_fold(self):
        return self.get_nodeattr("outFold")

    def input_datatype(self):
        return DataType[self.get_nodeattr("dataType")]

    output_datatype = input_datatype

    def check_folding(self):
        a, b = self.get_nodeattr("inFold"), self.get_nodeattr("outFold")
        c = self.normal_input_shape()[-1]
        errs = []
        if max(a, b) % min(a, b):
            errs.append(f"DWC folds {a} and {b} are not multiples of each other")
        if c % a or c % b:
            errs.append(f"DWC folds {a}/{b} do not divide channels {c}")
        return errs

    def execute_numpy(self, x):
        return np.asarray(x).reshape(self.normal_input_shape())

    def exp_cycles(self):
        return 0

    def resource_estimate(self):
        i, o = self.instream_width(), self.outstream_width()
        w = max(i, o)
        # hls/dwc.v by case (Yosys on vgg16-pruned and vgg16-hcr): gathering (OUT a multiple of IN) is
        # a register loaded in place, a few LUTs of control; splitting (IN a multiple of OUT) a shift
        # register, one LUT per input bit; any other ratio a buffer of IN + OUT bits loaded through a
        # shifter with a variable offset (16 -> 72: 497 LUTs, 32 -> 36: 259)
        if i == o:
            lut = 0.0
        elif o % i == 0:
            lut = 6.0
        elif i % o == 0:
            lut = float(i + 8)
        else:
            bw = i + o
            lut = 0.6 * bw * (math.ceil(math.log2(bw + 1)) + 1)
        return Resources(lut=lut, ff=float(2 * w + 10))

    def rtl_parameters(self):
        n = int(np.prod(self.normal_input_shape())) // self.in_fold()
        return {"IN_WIDTH": self.instream_width(), "OUT_WIDTH": self.outstream_width(), "NUM_IN_WORDS": n}
