"""Per-channel float chains: how a float tensor of the QONNX graph is computed from an integer one.

Streamlining tracks, for every float tensor of the QONNX model, an integer tensor of the new graph
and a chain of elementwise per-channel steps ``f`` with ``float = f(int)``. A quantizer after the
chain becomes an integer MultiThreshold whose thresholds are found by bisection on ``f`` evaluated
exactly as the QONNX graph evaluates it (float32), so the result is bit-exact by construction
(up to the float32 summation order of the reference convolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qonnx.custom_op.general.intquant import int_quant, max_int, min_int

F32 = np.float32


@dataclass
class Step:
    kind: str  # affine | bn | relu | clip
    a: np.ndarray | None = None  # (C,) or scalar
    b: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def apply(self, x: np.ndarray, chan_axis_shape: tuple) -> np.ndarray:
        def p(v):
            v = np.asarray(v, dtype=F32)
            return v.reshape(chan_axis_shape) if v.size > 1 else v.reshape(())

        if self.kind == "affine":
            return (x * p(self.a) + p(self.b)).astype(F32)
        if self.kind == "mul":
            return (x * p(self.a)).astype(F32)
        if self.kind == "add":
            return (x + p(self.a)).astype(F32)
        if self.kind == "div":
            return (x / p(self.a)).astype(F32)
        if self.kind == "bn":
            e = self.extra
            return ((x - p(e["mean"])) / np.sqrt(p(e["var"]) + F32(e["eps"])) * p(e["gamma"]) + p(e["beta"])).astype(F32)
        if self.kind == "relu":
            return np.maximum(x, F32(0))
        if self.kind == "clip":
            return np.clip(x, F32(self.extra["lo"]), F32(self.extra["hi"]))
        raise ValueError(self.kind)

    def slope_sign(self, C: int) -> np.ndarray:
        """+1 / -1 / 0 per channel: direction of this step (non-linear steps are non-decreasing)."""
        if self.kind in ("affine", "mul"):
            return np.sign(np.broadcast_to(np.asarray(self.a, dtype=np.float64), (C,)))
        if self.kind == "div":
            return np.sign(np.broadcast_to(np.asarray(self.a, dtype=np.float64), (C,)))
        if self.kind == "bn":
            return np.sign(np.broadcast_to(np.asarray(self.extra["gamma"], dtype=np.float64), (C,)))
        return np.ones(C)

    def is_linear(self) -> bool:
        return self.kind in ("affine", "mul", "add", "div", "bn")

    def to_json(self) -> dict:
        d: dict = {"op": self.kind}
        if self.a is not None:
            d["a"] = np.asarray(self.a, dtype=np.float64).ravel().tolist()
        if self.b is not None:
            d["b"] = np.asarray(self.b, dtype=np.float64).ravel().tolist()
        for k, v in self.extra.items():
            d[k] = np.asarray(v, dtype=np.float64).ravel().tolist() if not isinstance(v, (int, float)) else v
        return d

    @staticmethod
    def from_json(d: dict) -> "Step":
        d = dict(d)
        kind = d.pop("op")
        a = np.asarray(d.pop("a"), dtype=F32) if "a" in d else None
        b = np.asarray(d.pop("b"), dtype=F32) if "b" in d else None
        extra = {k: (np.asarray(v, dtype=F32) if isinstance(v, list) else v) for k, v in d.items()}
        return Step(kind, a, b, extra)


def eval_chain(steps: list[Step], x: np.ndarray, channels_last: bool = True) -> np.ndarray:
    """Apply a chain to an integer array whose last axis (channels_last) or axis 0 is the channel."""
    x = np.asarray(x, dtype=F32)
    shape = (-1,) if channels_last else (-1,) + (1,) * (x.ndim - 1)
    for s in steps:
        x = s.apply(x, shape)
    return x


def affine_of(steps: list[Step], C: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, bias) per channel with f(x) = scale·x + bias, composed in float64; None if f is not affine."""
    A, B = np.ones(C), np.zeros(C)
    for st in steps:
        def v(x):
            arr = np.asarray(x, dtype=np.float64).reshape(-1)
            return np.broadcast_to(arr, (C,)) if arr.size > 1 else float(arr[0])

        if st.kind == "mul":
            A, B = A * v(st.a), B * v(st.a)
        elif st.kind == "div":
            A, B = A / v(st.a), B / v(st.a)
        elif st.kind == "add":
            B = B + v(st.a)
        elif st.kind == "affine":
            A, B = A * v(st.a), B * v(st.a) + v(st.b)
        elif st.kind == "bn":
            e = st.extra
            k = v(e["gamma"]) / np.sqrt(v(e["var"]) + float(e["eps"]))
            A, B = A * k, (B - v(e["mean"])) * k + v(e["beta"])
        else:
            return None
    return A, B


def slope_signs(steps: list[Step], C: int) -> np.ndarray:
    s = np.ones(C)
    for st in steps:
        s = s * st.slope_sign(C)
    return s


def quant_levels(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    return int(min_int(signed, narrow, bits)), int(max_int(signed, narrow, bits))


def compute_thresholds(steps: list[Step], C: int, lo: int, hi: int, scale, zeropt, bits: int,
                       signed: bool, narrow: bool, rounding: str) -> tuple[np.ndarray, int]:
    """Integer thresholds ``T (C × (qmax-qmin))`` and ``bias = qmin`` such that for every integer
    ``acc`` in ``[lo, hi]``: ``qmin + Σ_t [acc >= T[c,t]] == quant(f(acc))/scale + zeropt``.

    ``f`` must be non-decreasing per channel. Thresholds lie in ``[lo, hi + 1]``.
    """
    qmin, qmax = quant_levels(signed, narrow, bits)
    n = qmax - qmin
    scale = np.asarray(scale, dtype=F32)
    zeropt = np.asarray(zeropt, dtype=F32)

    def q_of(acc):  # acc: (C, n) int64 -> quantized integer level (C, n)
        f = eval_chain(steps, acc.astype(np.float64).astype(F32), channels_last=False)
        sc = scale.reshape(-1, 1) if scale.size > 1 else scale
        zp = zeropt.reshape(-1, 1) if zeropt.size > 1 else zeropt
        y = int_quant(f, sc, zp, F32(bits), signed, narrow, rounding)
        return np.round(y / sc + zp).astype(np.int64)

    levels = (qmin + 1 + np.arange(n)).reshape(1, n)
    L = np.full((C, n), lo, dtype=np.int64)  # candidate answer lower bound
    H = np.full((C, n), hi + 1, dtype=np.int64)  # answer upper bound (hi+1 = never)
    # invariant: answer in [L, H]; g(H) >= level treated as true at hi+1
    while True:
        active = L < H
        if not active.any():
            break
        mid = (L + H) // 2
        ok = q_of(mid) >= levels
        H = np.where(active & ok, mid, H)
        L = np.where(active & ~ok, mid + 1, L)
    return L, qmin
