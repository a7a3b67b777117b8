"""Markdown summary of a quantized model: widths per layer, accuracy before/after, size in bits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from fpga_flow.quant.convert import quant_layer_info
from fpga_flow.quant.spec import QuantSpec

FLOAT_BITS = 32


@dataclass
class SizeReport:
    """Weight storage: float model vs quantized weights; biases stay 32-bit floats (thresholds)."""

    weight_params: int
    bias_params: int
    quant_weight_bits: int

    @property
    def float_bits(self) -> int:
        return (self.weight_params + self.bias_params) * FLOAT_BITS

    @property
    def quant_bits(self) -> int:
        return self.quant_weight_bits + self.bias_params * FLOAT_BITS


def model_size(qmodel: nn.Module) -> SizeReport:
    modules = dict(qmodel.named_modules())  # nested: the branches of residual/concat blocks
    w = b = qbits = 0
    for info in quant_layer_info(qmodel):
        if info.wbits is None:
            continue
        m = modules[info.name]
        w += m.weight.numel()
        qbits += m.weight.numel() * info.wbits
        b += m.bias.numel() if m.bias is not None else 0
    return SizeReport(w, b, qbits)


@dataclass
class SummaryData:
    title: str
    source: str
    spec: QuantSpec
    input_shape: tuple[int, ...]
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> metric -> value
    notes: list[str] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)


def _fmt_bits(bits: int) -> str:
    return f"{bits:,} bits ({bits / 8 / 1024:.1f} KiB)"


def render_summary(qmodel: nn.Module, data: SummaryData) -> str:
    spec = data.spec
    lines = [f"# Quantization summary: {data.title}", "",
             f"- source: {data.source}",
             f"- input shape (NCHW): {tuple(data.input_shape)}",
             f"- spec: {spec.describe()}", ""]
    lines += ["## Layers", "",
              "| # | layer | type | float module | weight bits | activation bits | weights |",
              "|---|---|---|---|---|---|---|"]
    for i, info in enumerate(quant_layer_info(qmodel)):
        act = "" if info.abits is None else f"{info.abits} ({'signed' if info.signed else 'unsigned'})"
        lines.append(f"| {i} | {info.name} | {info.kind} | {info.source or '(inserted)'} | "
                     f"{info.wbits or ''} | {act} | {info.params or ''} |")
    size = model_size(qmodel)
    lines += ["", "## Size", "",
              f"- float: {size.weight_params:,} weights + {size.bias_params:,} biases x 32 bits = "
              f"{_fmt_bits(size.float_bits)}",
              f"- quantized: weights {_fmt_bits(size.quant_weight_bits)} + biases (float, absorbed "
              f"into thresholds) {_fmt_bits(size.bias_params * 32)} = {_fmt_bits(size.quant_bits)}"
              f" ({size.float_bits / max(size.quant_bits, 1):.1f}x smaller)", ""]
    lines += ["## Accuracy", ""]
    if data.metrics:
        names = sorted({k for m in data.metrics.values() for k in m})
        lines += ["| model | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for stage, m in data.metrics.items():
            lines.append(f"| {stage} | " + " | ".join(
                f"{100 * m[k]:.2f} %" if k in m else "" for k in names) + " |")
    else:
        lines.append("not measured (no --data given)")
    if data.export:
        lines += ["", "## Export", ""] + [f"- {k}: {v}" for k, v in data.export.items()]
    if data.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data.notes]
    return "\n".join(lines) + "\n"
