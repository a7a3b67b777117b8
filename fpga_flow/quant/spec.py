"""`QuantSpec`: the bit widths and quantizer choices of one quantized model, validated up front."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, fields
from typing import Any

from fpga_flow.errors import FlowError

MIN_BITS = 2
MAX_BITS = 8


class ScaleType(str, enum.Enum):
    """How scale factors are stored: any float, or powers of two (``po2``).

    ``po2`` makes every product and partial sum of the float emulation exact in float32, so the
    QONNX graph, the Brevitas model and the compiler's integer thresholds agree bit for bit at
    every width; ``float`` scales can flip a rounding tie (one LSB) between implementations.
    """

    FLOAT = "float"
    PO2 = "po2"


class WeightScaling(str, enum.Enum):
    """Granularity of the weight scale factors (activations are always per tensor)."""

    TENSOR = "tensor"
    CHANNEL = "channel"


@dataclass(frozen=True)
class QuantSpec:
    """Bit widths of a quantized model.

    ``wbits``/``abits`` apply inside the network; the first conv/linear layer uses
    ``first_wbits``, the last one ``last_wbits``; the network input is quantized to
    ``in_bits`` (signed). ``out_bits`` (optional) adds a signed quantizer on the output of the
    last layer; ``None`` leaves the logits as the last layer's integer accumulator times its
    scale plus its float bias. ``scales`` (see ``ScaleType``) defaults to powers of two, which
    keep the float emulations bit-exact. ``fuse_bn`` folds a BatchNorm2d that follows a conv into the conv
    weights before quantization (a pruned+simplified model has none left).
    """

    wbits: int = 4
    abits: int = 4
    first_wbits: int = 8
    last_wbits: int = 8
    in_bits: int = 8
    out_bits: int | None = None
    weight_scaling: WeightScaling = WeightScaling.TENSOR
    scales: ScaleType = ScaleType.PO2
    fuse_bn: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight_scaling", _enum(WeightScaling, "weight_scaling",
                                                         self.weight_scaling))
        object.__setattr__(self, "scales", _enum(ScaleType, "scales", self.scales))
        for name in ("wbits", "abits", "first_wbits", "last_wbits", "in_bits", "out_bits"):
            value = getattr(self, name)
            if value is None and name == "out_bits":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise FlowError(f"QuantSpec.{name}={value!r}: bit widths must be integers in "
                                f"{MIN_BITS}..{MAX_BITS}")
            if not MIN_BITS <= value <= MAX_BITS:
                raise FlowError(f"QuantSpec.{name}={value}: bit width outside {MIN_BITS}..{MAX_BITS} "
                                f"(1-bit/binary layers and >8-bit activations are not supported "
                                f"by the dataflow hardware)")

    @classmethod
    def uniform(cls, wbits: int, abits: int, **kw: Any) -> "QuantSpec":
        """Same width everywhere (edges included) unless overridden in ``kw``."""
        base = dict(first_wbits=wbits, last_wbits=wbits, in_bits=max(abits, 2))
        base.update(kw)
        return cls(wbits=wbits, abits=abits, **base)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weight_scaling"] = self.weight_scaling.value
        d["scales"] = self.scales.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QuantSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise FlowError(f"QuantSpec: unknown field(s) {', '.join(unknown)}")
        return cls(**d)

    def label(self) -> str:
        return f"W{self.wbits}A{self.abits}"

    def describe(self) -> str:
        out = f"{self.out_bits}-bit signed" if self.out_bits else "accumulator x scale + float bias"
        return (f"W{self.wbits}A{self.abits} inside, first layer W{self.first_wbits}, last layer "
                f"W{self.last_wbits}, input {self.in_bits}-bit signed, output {out}, weight scales "
                f"per {self.weight_scaling.value}, {self.scales.value} scale factors"
                + ("" if self.fuse_bn else ", BatchNorm kept"))


def _enum(cls: type[enum.Enum], name: str, value: Any) -> Any:
    try:
        return cls(value.value if isinstance(value, enum.Enum) else value)
    except ValueError:
        raise FlowError(f"QuantSpec.{name}={value!r}: expected one of "
                        f"{', '.join(s.value for s in cls)}") from None
