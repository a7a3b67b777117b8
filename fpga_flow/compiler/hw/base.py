"""Common machinery of the hardware layer classes (see hls/SPEC.md).

Every hardware layer is a qonnx ``CustomOp`` in the domain ``fpga_flow.compiler.hw``. Its node
attributes are declared once, as a dataclass (``Attrs``); ``self.attrs`` is the typed view.
Weights and thresholds are stored as *tensor attributes* of the node (not as initializer inputs
as FINN does), so that a node is self-contained: ``getCustomOp(node).rtl_memories()`` and
``execute_numpy(x)`` need no ModelWrapper (decision, see report).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, get_type_hints

import numpy as np
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.custom_op.base import CustomOp

from fpga_flow.errors import FlowError
from fpga_flow.sim.packing import hex_lines, ints_to_words, unpack, word_bytes

DOMAIN = "fpga_flow.compiler.hw"


@dataclass(frozen=True)
class Resources:
    """FPGA resources of one layer (estimate)."""

    lut: float = 0.0
    ff: float = 0.0
    dsp: int = 0
    bram18: int = 0
    uram: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


BRAM18_SHAPES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))


def bram18_count(width: int, depth: int) -> int:
    """BRAM18 primitives for a width × depth memory (best RAMB18 aspect ratio)."""
    return bram18_layout(width, depth)[0]


def bram18_layout(width: int, depth: int) -> tuple[int, int]:
    """(BRAM18 primitives, primitives stacked in depth) of ``bram18_count``'s best aspect ratio: a memory
    deeper than one primitive reads through a (depth_stack)-to-1 multiplexer per bit, in LUTs."""
    if width <= 0 or depth <= 0:
        return 0, 0
    n, _, d = min((math.ceil(width / w) * math.ceil(depth / d), -d, d) for w, d in BRAM18_SHAPES)
    return n, math.ceil(depth / d)


# Yosys synth_xilinx maps a multiplication to a DSP48 when its product is at least 9 bits wide
# (mul2dsp's DSP_Y_MINWIDTH) and both operands at least 2 bits; a constant's trailing zeros become a
# shift first (wreduce), so x * 96 = (x * 3) << 5 keeps only the product's upper bits in the DSP
YOSYS_DSP_Y_MINWIDTH = 9


def const_mul_dsp(const: int, out_bits: int) -> int:
    """DSP48 slices Yosys gives ``x * const`` truncated to ``out_bits`` (0 or 1): none for a power of two
    (a shift) or a product narrower than YOSYS_DSP_Y_MINWIDTH after the constant's shift. Address
    arithmetic of the sliding-window and pooling buffers (``pa * CF``, ``ry * IFM_W``); measured on
    vgg16-hcr 224's 13 SWGs and 5 max-pools (benchmarks/results/resource-model-vs-yosys.json)."""
    c = int(const)
    if c <= 1:
        return 0
    tz = (c & -c).bit_length() - 1
    if c >> tz == 1:
        return 0
    return int(out_bits - tz >= YOSYS_DSP_Y_MINWIDTH)


def clog2(n: int) -> int:
    """Verilog's $clog2."""
    return max(0, (int(n) - 1).bit_length())


class PackedParam(int):
    """An RTL parameter holding one unsigned field of ``field_bits`` per element, element 0 in the
    LSBs (Verilog-2001 has no array parameters): per-input channels/widths of an N-input layer."""

    def __new__(cls, values, field_bits: int):
        vals = [int(v) for v in values]
        if any(v < 0 or v >> field_bits for v in vals):
            raise ValueError(f"{vals} do not fit {field_bits}-bit fields")
        obj = super().__new__(cls, sum(v << (field_bits * k) for k, v in enumerate(vals)))
        obj.width = field_bits * len(vals)
        return obj

    def verilog(self) -> str:
        """A sized literal (an unsized one is 32 bits)."""
        return f"{self.width}'h{int(self):x}"


def dt(name: str):
    return DataType[name]


def bits_of(name: str) -> int:
    return DataType[name].bitwidth()


def signed_of(name: str) -> bool:
    return DataType[name].signed()


def int_dtype_for_range(lo: int, hi: int) -> str:
    """Smallest qonnx INTn/UINTn name holding [lo, hi]."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return f"UINT{max(1, int(hi).bit_length())}"
    b = max((-lo - 1).bit_length(), max(hi, 0).bit_length()) + 1
    return f"INT{b}"


def signed_bits_for_range(lo: int, hi: int) -> int:
    """Bits of a two's-complement number holding [lo, hi]."""
    lo, hi = int(lo), int(hi)
    return max((-min(lo, 0) - 1).bit_length(), max(hi, 0).bit_length()) + 1


def to_twos(v: np.ndarray, bits: int) -> np.ndarray:
    """Signed or unsigned ints -> non-negative ints of ``bits`` bits (two's complement)."""
    v = np.asarray(v).astype(object)
    mask = (1 << bits) - 1
    return np.vectorize(lambda a: int(a) & mask, otypes=[object])(v) if v.size else v


def pack_words(elems: np.ndarray, bits: int) -> list[str]:
    """Memory-file hex lines of a 2-D array (words × elements) of signed values, per hls/SPEC.md."""
    elems = np.asarray(elems)
    assert elems.ndim == 2
    return hex_lines(elems, bits, fold=elems.shape[1], signed=True)


def unpack_words(lines: list[str], n_elems: int, bits: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack_words`."""
    words = ints_to_words([int(line, 16) for line in lines], word_bytes(n_elems * bits))
    return unpack(words, bits, n_elems, signed).reshape(len(lines), n_elems)


def threshold_memory(node_name: str, thr: np.ndarray, bits: int, fold: int) -> list[str]:
    """THRESH_FILE lines (one per channel fold of ``fold`` channels). hls/thresh_core.v finds the
    count by binary search, which needs every channel's thresholds ascending."""
    thr = np.asarray(thr)
    bad = np.nonzero((np.diff(thr, axis=1) < 0).any(axis=1))[0]
    if bad.size:
        raise FlowError(f"layer {node_name}: thresholds of channel {int(bad[0])} are not ascending "
                        f"({thr[bad[0]].tolist()}); the hardware's binary search needs them sorted")
    return pack_words(thr.reshape(thr.shape[0] // fold, fold * thr.shape[1]), bits)


def multithreshold_count(acc: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Σ_t [acc[..., c] >= T[c, t]] (channels last)."""
    return (acc[..., None] >= thr).sum(axis=-1)


def compact_int_array(v) -> np.ndarray:
    """Integer-valued array in the smallest numpy int type (keeps ONNX files small)."""
    a = np.asarray(v)
    if a.size == 0 or not np.array_equal(a, np.round(a)):
        return a
    lo, hi = int(a.min()), int(a.max())
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t)
    return a.astype(np.int64)


class HWCustomOp(CustomOp):
    """Base of all hardware layers. Subclasses set ``Attrs`` (a dataclass) and ``rtl_module``."""

    Attrs: ClassVar[type]
    rtl_module: ClassVar[str] = ""
    # attributes common to every layer (FINN's names where they exist)
    _common = {
        "backend": ("s", False, "fpgadataflow"),
        "exec_mode": ("s", False, ""),
    }

    # ---------- attribute plumbing ----------
    @classmethod
    def attr_kinds(cls) -> dict[str, str]:
        cached = cls.__dict__.get("_kinds_cache")
        if cached is not None:
            return cached
        kinds = cls._attr_kinds()
        cls._kinds_cache = kinds
        return kinds

    @classmethod
    def _attr_kinds(cls) -> dict[str, str]:
        hints = get_type_hints(cls.Attrs)
        out = {}
        for f in fields(cls.Attrs):
            t = hints[f.name]
            if t is int:
                out[f.name] = "i"
            elif t is float:
                out[f.name] = "f"
            elif t is str:
                out[f.name] = "s"
            elif t == list[int]:
                out[f.name] = "ints"
            elif t == list[str]:
                out[f.name] = "strings"
            else:  # numpy tensor
                out[f.name] = "t"
        return out

    def get_nodeattr_types(self):
        cls = type(self)
        cached = cls.__dict__.get("_types_cache")
        if cached is None:
            cached = self._nodeattr_types()
            cls._types_cache = cached
        return cached

    def cache_attributes(self, on: bool = True) -> "HWCustomOp":
        """Memoise every attribute read (for search loops that own this instance and change the
        node only through it, e.g. folding). Tensor attributes are always memoised."""
        self.__dict__["_cache_all"] = on
        self.__dict__["_acache"] = {}
        return self

    def get_nodeattr(self, name):
        # tensor attributes (weights, thresholds) are decoded once per instance
        if self.__dict__.get("_cache_all"):
            c = self.__dict__["_acache"]
            if name not in c:
                c[name] = super().get_nodeattr(name)
            return c[name]
        if self.attr_kinds().get(name) == "t":
            c = self.__dict__.setdefault("_tcache", {})
            if name not in c:
                c[name] = super().get_nodeattr(name)
            return c[name]
        return super().get_nodeattr(name)

    def set_nodeattr(self, name, value):
        self.__dict__.get("_tcache", {}).pop(name, None)
        ac = self.__dict__.get("_acache", {})
        ac.pop(name, None)
        old = ac.pop("__attrs__", None)
        super().set_nodeattr(name, value)
        if old is not None and self.attr_kinds().get(name) in ("i", "f", "s"):
            # the memoised Attrs with this one field re-read (not all of them)
            ac["__attrs__"] = dataclasses.replace(old, **{name: self.get_nodeattr(name)})

    def _nodeattr_types(self):
        d = dict(self._common)
        kinds = self.attr_kinds()
        for f in fields(self.Attrs):
            if f.default is not dataclasses.MISSING:
                default, req = f.default, False
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default, req = f.default_factory(), False  # type: ignore[misc]
            else:
                default, req = (0 if kinds[f.name] == "i" else "" if kinds[f.name] == "s"
                                else [] if kinds[f.name] in ("ints", "strings") else None), True
            if kinds[f.name] == "t" and default is None:
                default = np.zeros((0,), dtype=np.float32)
            d[f.name] = (kinds[f.name], req, default)
        return d

    @property
    def attrs(self):
        """The attributes as an ``Attrs`` dataclass (read-only; memoised with ``cache_attributes``)."""
        if self.__dict__.get("_cache_all"):
            c = self.__dict__["_acache"]
            if "__attrs__" not in c:
                c["__attrs__"] = self._attrs()
            return c["__attrs__"]
        return self._attrs()

    def _attrs(self):
        kinds = self.attr_kinds()
        vals = {}
        for f in fields(self.Attrs):
            v = self.get_nodeattr(f.name)
            if kinds[f.name] == "t":
                v = np.asarray(v)
            elif kinds[f.name] == "ints":
                v = [int(a) for a in v]
            elif kinds[f.name] == "strings":
                v = [str(a) for a in v]
            vals[f.name] = v
        return self.Attrs(**vals)

    def set_attrs(self, **kw: Any) -> None:
        for k, v in kw.items():
            if isinstance(v, (np.integer,)):
                v = int(v)
            if isinstance(v, tuple):
                v = list(v)
            if isinstance(v, list):
                v = [str(a) for a in v] if self.attr_kinds().get(k) == "strings" else [int(a) for a in v]
            self.set_nodeattr(k, v)

    # ---------- to be provided by subclasses ----------
    def normal_input_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def normal_output_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def input_datatype(self):
        raise NotImplementedError

    def output_datatype(self):
        raise NotImplementedError

    def in_fold(self) -> int:
        """Elements per input word (SIMD or PE)."""
        raise NotImplementedError

    def out_fold(self) -> int:
        raise NotImplementedError

    def execute_numpy(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def exp_cycles(self) -> int:
        raise NotImplementedError

    def resource_estimate(self) -> Resources:
        raise NotImplementedError

    def rtl_parameters(self) -> dict[str, Any]:
        raise NotImplementedError

    def rtl_memories(self) -> dict[str, list[str]]:
        return {}

    # ---------- derived ----------
    def instream_width(self) -> int:
        return self.in_fold() * self.input_datatype().bitwidth()

    def outstream_width(self) -> int:
        return self.out_fold() * self.output_datatype().bitwidth()

    def folded_input_shape(self) -> tuple[int, ...]:
        s = self.normal_input_shape()
        f = self.in_fold()
        return tuple(s[:-1]) + (s[-1] // f, f)

    def folded_output_shape(self) -> tuple[int, ...]:
        s = self.normal_output_shape()
        f = self.out_fold()
        return tuple(s[:-1]) + (s[-1] // f, f)

    # ---------- stream ports (one in, one out; fork/join layers override, see multistream.py) ----------
    def instream_widths(self) -> list[int]:
        return [self.instream_width()]

    def outstream_widths(self) -> list[int]:
        return [self.outstream_width()]

    def input_words(self) -> list[int]:
        """Words per frame on each input stream."""
        return [int(np.prod(self.normal_input_shape())) // self.in_fold()]

    def output_words(self) -> list[int]:
        return [int(np.prod(self.normal_output_shape())) // self.out_fold()]

    def buffered_input_words(self) -> int:
        """Input words the layer can take before its output must drain (a bound): one input vector
        (pixel) plus pipeline registers. Layers that hold rows or frames override it; branch FIFO
        sizing (codegen) adds these up along the longer branch of a fork/join."""
        s = self.normal_input_shape()
        return int(np.prod(s[-1:])) // self.in_fold() + 4

    def weight_bits_total(self) -> int:
        """Bits of on-chip parameter memory (weights/thresholds); 0 if none."""
        return 0

    def check_folding(self) -> list[str]:
        """Divisibility problems of the current folding (empty when legal)."""
        return []

    # ---------- qonnx CustomOp interface ----------
    def make_shape_compatible_op(self, model):
        return self.make_const_shape_op(list(self.normal_output_shape()))

    def infer_node_datatype(self, model):
        model.set_tensor_datatype(self.onnx_node.output[0], self.output_datatype())

    def execute_node(self, context, graph):
        x = context[self.onnx_node.input[0]]
        y = self.execute_numpy(np.asarray(x))
        context[self.onnx_node.output[0]] = np.asarray(y, dtype=np.float32).reshape(self.normal_output_shape())

    def verify_node(self):
        return self.check_folding()


def make_hw_node(op_type: str, inp: str | list[str], out: str | list[str], name: str | None = None, **attrs: Any):
    """An ONNX node of a hardware layer with the given attributes (typed via the class); a fork or
    join layer takes lists of tensor names."""
    from fpga_flow.compiler import hw

    cls = getattr(hw, op_type)
    ins = list(inp) if isinstance(inp, (list, tuple)) else [inp]
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    node = helper.make_node(op_type, ins, outs, domain=DOMAIN, name=name or f"{op_type}_0")
    inst = cls(node)
    kinds = cls.attr_kinds()
    for k, v in attrs.items():
        if k not in kinds and k not in cls._common:
            raise KeyError(f"{op_type} has no attribute {k}")
        if kinds.get(k) == "t":
            inst.set_nodeattr(k, compact_int_array(v))
        else:
            inst.set_attrs(**{k: v})
    return node


def make_single_node_model(op_type: str, name: str | None = None, **attrs: Any):
    """A one-node hardware ModelWrapper (input ``inp``, output ``outp``) from attributes.

    Example: ``make_single_node_model("StreamingMaxPool", IFMDim=[4,4], NumChannels=8, PoolDim=2,
    PE=2, inputDataType="UINT4")``; run it with ``qonnx.core.onnx_exec.execute_onnx``.
    """
    from onnx import TensorProto
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp
    from qonnx.util.basic import qonnx_make_model

    node = make_hw_node(op_type, "inp", "outp", name=name, **attrs)
    op = getCustomOp(node)
    ishape = list(op.normal_input_shape())
    oshape = list(op.normal_output_shape())
    graph = helper.make_graph(
        [node], f"single_{op_type}",
        [helper.make_tensor_value_info("inp", TensorProto.FLOAT, ishape)],
        [helper.make_tensor_value_info("outp", TensorProto.FLOAT, oshape)],
    )
    model = ModelWrapper(qonnx_make_model(graph, producer_name="fpga_flow"))
    model.set_tensor_datatype("inp", op.input_datatype())
    model.set_tensor_datatype("outp", op.output_datatype())
    return model


class PassThroughStreamOp(HWCustomOp):
    """A layer whose words carry ``fold_attr`` elements of one datatype in and out
    (max-pool, upsample, SWG): the fold, the datatype and the divisibility rule live here once."""

    fold_attr: ClassVar[str] = "PE"
    channels_attr: ClassVar[str] = "NumChannels"

    def in_fold(self) -> int:
        return self.get_nodeattr(self.fold_attr)

    def out_fold(self) -> int:
        return self.in_fold()

    def input_datatype(self):
        return DataType[self.get_nodeattr("inputDataType")]

    def output_datatype(self):
        return self.input_datatype()

    def check_folding(self) -> list[str]:
        channels, fold = self.get_nodeattr(self.channels_attr), self.in_fold()
        return [] if channels % fold == 0 else [
            f"{self.channels_attr}={channels} not divisible by {self.fold_attr}={fold}"]


class ChannelStream:
    """Mixin: a tensor ``numInputVectors + [NumChannels]`` in and out, ``PE`` channels per stream word
    (Thresholding, DuplicateStreams, AddStreams)."""

    def normal_input_shape(self) -> tuple[int, ...]:
        return tuple(self.get_nodeattr("numInputVectors")) + (self.get_nodeattr("NumChannels"),)

    def normal_output_shape(self) -> tuple[int, ...]:
        return self.normal_input_shape()

    def in_fold(self) -> int:
        return self.get_nodeattr("PE")

    def out_fold(self) -> int:
        return self.in_fold()


@functools.lru_cache(maxsize=None)
def carried_weight_bits(weight_datatype: str) -> int:
    """Signed bits that carry weights of ``weight_datatype`` in RTL (UINTn needs n+1)."""
    wdt = DataType[weight_datatype]
    return wdt.bitwidth() + (0 if wdt.signed() else 1)
