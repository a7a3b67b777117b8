"""The host side of an accelerator, read from a build's ``io.json``.

The compiler writes ``io.json`` (CONTRIBUTING.md): input/output shapes NHWC, folded shapes,
qonnx datatypes and the float scale/bias that turn the quantized tensors into the model's
float tensors (``float = int * scale + bias``).  This module owns the host-side arithmetic
around the accelerator: float image -> integer input frame, integer output -> float scores /
labels.  It depends on numpy only, so the same file runs on a PYNQ board.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpga_flow.errors import FlowError


@dataclass(frozen=True)
class IntType:
    """A qonnx integer datatype name (``INT8``, ``UINT4``, ``BINARY``) reduced to what the host needs."""

    name: str
    bits: int
    signed: bool

    @classmethod
    def parse(cls, name: str) -> "IntType":
        text = str(name).upper()
        if text == "BINARY":
            return cls(text, 1, False)
        m = re.fullmatch(r"(U?)INT(\d+)", text)
        if not m:
            raise FlowError(f"io.json: datatype {name!r} is not an integer qonnx datatype (INTn/UINTn/BINARY)")
        return cls(text, int(m.group(2)), m.group(1) != "U")

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class TensorSpec:
    """One side (input or output) of the accelerator."""

    shape: tuple[int, ...]  # NHWC, batch 1
    folded_shape: tuple[int, ...]  # last axis = elements per stream word
    dtype: IntType
    scale: np.ndarray = field(default_factory=lambda: np.ones(1, np.float32))  # scalar or per channel
    bias: np.ndarray = field(default_factory=lambda: np.zeros(1, np.float32))
    name: str = ""
    narrow: bool = False  # signed narrow range: the most negative value is not used

    @property
    def qmin(self) -> int:
        return self.dtype.min + (1 if self.narrow and self.dtype.signed else 0)

    @property
    def elems_per_word(self) -> int:
        return int(self.folded_shape[-1])

    @property
    def word_bits(self) -> int:
        return self.elems_per_word * self.dtype.bits

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame without the batch axis (H, W, C) or (C,)."""
        return tuple(self.shape[1:])


@dataclass(frozen=True)
class IOSpec:
    input: TensorSpec
    output: TensorSpec
    task: str = "cls"  # "cls" or "seg"
    output_is_label: bool = False  # the accelerator ends in LabelSelect: integers are class indices
    num_classes: int | None = None
    clock_mhz: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    raw: dict = field(default_factory=dict)  # the io.json as written

    # ---- host-side arithmetic ------------------------------------------------------------
    @property
    def compiler_chain(self) -> bool:
        """io.json in the compiler's full form (int_quant parameters + output step chain)."""
        return "steps" in self.raw.get("output", {}) or "zero_point" in self.raw.get("input", {})

    def quantize_input(self, images_nchw: np.ndarray) -> np.ndarray:
        """float NCHW (model domain) -> integer NHWC frames at the input datatype."""
        x = np.asarray(images_nchw)
        host_input = _compiler_hostio("host_input") if self.compiler_chain else None
        if host_input is not None:  # the compiler's own arithmetic (float32, qonnx int_quant), one place
            return np.concatenate([host_input(x[i:i + 1], self.raw) for i in range(len(x))]).astype(np.int64)
        t = self.input  # numpy only (a board without qonnx): int = clip(round(x / scale + zero_point))
        q = np.round((np.asarray(x.transpose(0, 2, 3, 1), np.float64) - t.bias) / t.scale)
        return np.clip(q, t.qmin, t.dtype.max).astype(np.int64)

    def dequantize_output(self, out_int: np.ndarray) -> np.ndarray | None:
        """integer NHWC output -> float NHWC (logits / per-pixel scores); None when the output is labels."""
        out = np.asarray(out_int)
        if self.output_is_label:
            return None
        if self.compiler_chain:
            if self.raw["output"].get("host_argmax"):
                return None
            if _compiler_hostio("host_output") is not None or not self.raw["output"].get("scale_bias"):
                return self._host_output(out)
        t = self.output
        return np.asarray(out, np.float64) * t.scale + t.bias

    def _host_output(self, out: np.ndarray) -> np.ndarray:
        """The compiler's output chain per frame, returned NHWC (a vector becomes (N, 1, 1, K))."""
        host_output = _compiler_hostio("host_output")
        if host_output is None:
            raise FlowError("io.json output needs fpga_flow.compiler.hostio (qonnx) to map integers to floats")
        y = np.concatenate([host_output(out[i:i + 1], self.raw) for i in range(len(out))])
        return y.transpose(0, 2, 3, 1) if y.ndim == 4 else y.reshape(len(out), 1, 1, -1)

    def predictions(self, out_int: np.ndarray) -> np.ndarray:
        """Class index per image (cls) or per pixel (seg), from the raw integer output."""
        out = np.asarray(out_int)
        if self.output_is_label:
            pred = out[..., 0] if out.shape[-1] == 1 else out
        elif self.compiler_chain and self.raw["output"].get("host_argmax"):
            pred = self._host_output(out)[..., 0]  # the host chain ends in argmax: labels
        else:
            pred = np.argmax(self.dequantize_output(out), axis=-1)
        if self.task == "cls":
            pred = pred.reshape(pred.shape[0])
        return pred.astype(np.int64)

    @property
    def input_hw(self) -> tuple[int, int] | None:
        return (self.input.shape[1], self.input.shape[2]) if len(self.input.shape) == 4 else None

    @property
    def input_channels(self) -> int:
        return int(self.input.shape[-1])


def _compiler_hostio(name: str):
    """``fpga_flow.compiler.hostio.<name>`` when importable (host, or a board with qonnx), else None."""
    try:
        from fpga_flow.compiler import hostio
    except ImportError:
        return None
    return getattr(hostio, name, None)


def _first(d: dict, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return default


def _tensor(d: dict, where: str) -> TensorSpec:
    try:
        shape = tuple(int(v) for v in _first(d, "shape", "shape_normal", "normal_shape"))
    except TypeError:
        raise FlowError(f"{where}: no 'shape' (NHWC) given") from None
    folded = _first(d, "folded_shape", "shape_folded", "folded")
    folded_shape = tuple(int(v) for v in folded) if folded is not None else shape + (1,)
    dtype_name = _first(d, "datatype", "dtype", "qonnx_datatype")
    if dtype_name is None and "bits" in d:
        dtype_name = f"{'INT' if d.get('signed') else 'UINT'}{int(d['bits'])}"
    if dtype_name is None:
        raise FlowError(f"{where}: no 'datatype' given")
    scale = np.asarray(_first(d, "scale", default=1.0), np.float64).reshape(-1)
    bias = np.asarray(_first(d, "bias", default=0.0), np.float64).reshape(-1)
    if "zero_point" in d:  # compiler form of the input: float = (int - zero_point) * scale
        bias = -np.asarray(d["zero_point"], np.float64).reshape(-1) * scale
    if isinstance(d.get("scale_bias"), dict):  # compiler form of an affine output chain
        scale = np.asarray(d["scale_bias"]["scale"], np.float64).reshape(-1)
        bias = np.asarray(d["scale_bias"]["bias"], np.float64).reshape(-1)
    return TensorSpec(shape, folded_shape, IntType.parse(dtype_name), scale, bias, str(d.get("name", "")),
                      bool(d.get("narrow", False)))


def load_iospec(path: str | Path) -> IOSpec:
    """Read ``io.json`` (file, or a build/deploy folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "io.json"
    if not p.is_file():
        raise FlowError(f"{p}: io.json not found (run `fpga-flow build` first)")
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise FlowError(f"{p}: not valid JSON ({err})") from None
    return iospec_from_dict(raw, str(p))


def iospec_from_dict(raw: dict, where: str = "io.json") -> IOSpec:
    ins = _first(raw, "input", "inputs")
    outs = _first(raw, "output", "outputs")
    if isinstance(ins, list):
        ins = ins[0]
    if isinstance(outs, list):
        outs = outs[0]
    if not isinstance(ins, dict) or not isinstance(outs, dict):
        raise FlowError(f"{where}: needs 'input' and 'output' objects")
    inp = _tensor(ins, f"{where} input")
    out = _tensor(outs, f"{where} output")
    task = str(_first(raw, "task", default="seg" if out.shape[1:3] not in ((1, 1),) and len(out.shape) == 4 else "cls"))
    task = {"classification": "cls", "segmentation": "seg"}.get(task, task)
    is_label = bool(_first(outs, "is_label", "argmax_in_hw", "label_select", default=False))
    num_classes = _first(raw, "num_classes", "classes")
    if isinstance(num_classes, list):
        num_classes = len(num_classes)
    clock = _first(raw, "clock_mhz", "fclk_mhz")
    known = {"input", "inputs", "output", "outputs", "task", "num_classes", "classes", "clock_mhz", "fclk_mhz"}
    return IOSpec(inp, out, task, is_label, None if num_classes is None else int(num_classes),
                  None if clock is None else float(clock), {k: v for k, v in raw.items() if k not in known}, raw)


def iospec_to_dict(spec: IOSpec) -> dict:
    """The canonical form we write (fixtures, deploy folders)."""

    def t(ts: TensorSpec, label: bool = False) -> dict:
        d = {"name": ts.name, "shape": list(ts.shape), "folded_shape": list(ts.folded_shape),
             "datatype": ts.dtype.name, "scale": ts.scale.tolist(), "bias": ts.bias.tolist()}
        if label:
            d["is_label"] = True
        return d

    d = {"task": spec.task, "input": t(spec.input), "output": t(spec.output, spec.output_is_label)}
    if spec.num_classes is not None:
        d["num_classes"] = spec.num_classes
    if spec.clock_mhz is not None:
        d["clock_mhz"] = spec.clock_mhz
    return d
