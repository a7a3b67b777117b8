"""The design space of a sweep: the grid of points and the content key of each.

A point is one build: a model row (zoo name or float checkpoint) pruned to a level, quantized
to a bit width, compiled for a board at a target FPS with a folding option. Its key hashes
everything that decides its result (the checkpoint's bytes, the settings, the board's YAML
contents and the flow's source code), so a point already built under the same key is reused.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from fpga_flow.errors import FlowError

# packages whose code decides a point's numbers; an edit there re-keys every point
CODE_PACKAGES = ("compiler", "quant", "prune", "models", "codegen", "sim", "synth", "sweep")
BITS_RE = re.compile(r"^(?:w?(\d+)(?:[a/x](\d+))?)$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelRow:
    """A model as the sweep builds it: a zoo name (random weights unless a checkpoint) or a .pt."""

    name: str
    image_size: int | None = None  # zoo models without checkpoint: input size
    width: float | None = None     # zoo models without checkpoint: width multiplier

    @property
    def checkpoint(self) -> Path | None:
        p = Path(self.name)
        return p if p.suffix == ".pt" else None

    def label(self) -> str:
        if self.checkpoint is not None:
            return self.checkpoint.stem
        extra = "".join(f"-{k}{v:g}" for k, v in (("s", self.image_size), ("x", self.width)) if v is not None)
        return f"{self.name}{extra}"

    def identity(self) -> list:
        ck = self.checkpoint
        if ck is not None:
            if not ck.is_file():
                raise FlowError(f"{ck}: checkpoint not found")
            return ["checkpoint", hashlib.sha256(ck.read_bytes()).hexdigest()]
        return ["zoo", self.name, self.image_size, self.width]


@dataclass(frozen=True)
class QuantPoint:
    """What a QONNX export depends on: shared by every board/target of the same row, level, bits."""

    model: ModelRow
    prune: float
    wbits: int
    abits: int
    data: str | None = None

    def key(self) -> str:
        return content_key("qonnx", self.model.identity(), self.prune, self.wbits, self.abits,
                           _data_identity(self.data), code_hash())

    def label(self) -> str:
        return f"{self.model.label()}-p{self.prune:g}-w{self.wbits}a{self.abits}"


@dataclass(frozen=True)
class Point:
    quant: QuantPoint
    board: str
    target_fps: float | None
    budget_fraction: float = 0.85
    rtlsim: bool = False
    yosys: bool = False

    def key(self) -> str:
        from fpga_flow.boards import load_board

        return content_key("point", self.quant.key(), load_board(self.board).as_dict(), self.target_fps,
                           self.budget_fraction, self.rtlsim, self.yosys)

    def label(self) -> str:
        fps = "max" if self.target_fps is None else f"{self.target_fps:g}"
        return f"{self.quant.label()}-{self.board}-fps{fps}-b{self.budget_fraction:g}"

    def settings(self) -> dict:
        return {"model": self.quant.model.label(), "prune": self.quant.prune, "wbits": self.quant.wbits,
                "abits": self.quant.abits, "board": self.board, "target_fps": self.target_fps,
                "budget_fraction": self.budget_fraction}


@dataclass
class SweepGrid:
    models: list[ModelRow]
    bits: list[tuple[int, int]] = field(default_factory=lambda: [(4, 4)])
    prune: list[float] = field(default_factory=lambda: [0.0])
    boards: list[str] = field(default_factory=lambda: ["Pynq-Z2"])
    target_fps: list[float | None] = field(default_factory=lambda: [None])
    budget_fraction: list[float] = field(default_factory=lambda: [0.85])
    rtlsim: bool = False
    yosys: bool = False
    data: str | None = None

    def validate(self) -> None:
        """Every bad value names itself before any work starts."""
        from fpga_flow.boards import load_board
        from fpga_flow.models import spec

        if not self.models:
            raise FlowError("sweep: no model given (--model)")
        for m in self.models:
            if m.checkpoint is not None:
                m.identity()
            else:
                spec(m.name)
        for w, a in self.bits:
            if not (2 <= w <= 8 and 2 <= a <= 8):
                raise FlowError(f"sweep: bit width w{w}a{a} outside 2..8")
        for p in self.prune:
            if not 0.0 <= p < 1.0:
                raise FlowError(f"sweep: pruning level {p:g} outside [0, 1) (fraction of channels removed)")
        for b in self.boards:
            load_board(b)
        for t in self.target_fps:
            if t is not None and not t > 0:
                raise FlowError(f"sweep: target FPS must be > 0 (got {t:g})")
        for f in self.budget_fraction:
            if not 0.0 < f <= 1.0:
                raise FlowError(f"sweep: budget fraction {f:g} outside (0, 1]")
        if self.data is not None and not Path(self.data).is_dir():
            raise FlowError(f"{self.data}: data folder not found")

    def points(self) -> list[Point]:
        out = []
        for m, p, (w, a), b, t, f in itertools.product(self.models, self.prune, self.bits, self.boards,
                                                       self.target_fps, self.budget_fraction):
            out.append(Point(QuantPoint(m, p, w, a, self.data), b, t, f, self.rtlsim, self.yosys))
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def parse_bits(text: str) -> tuple[int, int]:
    """``4`` -> (4, 4); ``w4a2``, ``4/2``, ``4x2`` -> (4, 2)."""
    m = BITS_RE.match(text.strip())
    if not m:
        raise FlowError(f"sweep: bit width {text!r} not understood (use 4, w4a4 or 4/2)")
    w = int(m.group(1))
    return w, int(m.group(2)) if m.group(2) else w


def parse_target(text: str) -> float | None:
    """A number, or ``max`` for the fastest folding that fits."""
    if text.strip().lower() in ("max", "none", "fastest"):
        return None
    try:
        return float(text)
    except ValueError:
        raise FlowError(f"sweep: target FPS {text!r} is neither a number nor 'max'") from None


def content_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _data_identity(data: str | None) -> list | None:
    if data is None:
        return None
    root = Path(data)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [str(root.resolve()), len(files), sum(p.stat().st_size for p in files)]


@lru_cache(maxsize=1)
def code_hash() -> str:
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1]
    for sub in CODE_PACKAGES:
        for p in sorted((pkg / sub).rglob("*.py")):
            h.update(p.relative_to(pkg).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]
