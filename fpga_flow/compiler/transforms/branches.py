"""Streamlining of joins: the residual ``Add`` of two activations and the channel ``Concat``.

A join of two quantized activations stays exact on integers:
* ``Add``: with ``a = s_a·i_a`` and ``b = s_b·i_b`` (per-tensor scales, zero offsets), the ratio
  ``s_a/s_b`` of two float32 numbers is a rational ``p/q``; with small ``p, q`` (e.g. power-of-two
  scales, or one quantizer shared by both branches as FINN requires) ``a + b = (s_b/q)·(p·i_a + q·i_b)``.
  The integer sum ``p·i_a + q·i_b`` is an ``AddStreams`` with multipliers; the float chain after it
  is ``mul(s_b/q)``. Exactness is not assumed but checked on every pair of integer inputs: the
  float32 value of the new chain equals the QONNX graph's bit for bit (power-of-two scales), or,
  where float32 rounds ``s·i_a + s·i_b`` and ``s·(i_a + i_b)`` differently (float scales), the
  quantizer after the add must give the same level for every pair (``check_join_quant``), else
  the node is rejected naming the inputs at fault.
* ``Concat`` over channels: the two float chains must have the same steps (e.g. both ``mul(scale)``
  of a quantizer); their per-channel constants are concatenated, so the float32 evaluation is
  the QONNX graph's for every channel.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fpga_flow.compiler.hw.base import int_dtype_for_range

from .chain import F32, Step, affine_of, eval_chain
from .ir import MAX_EXACT, IntT, _attr, _Builder, _err

MAX_MULTIPLIER = 1 << 8   # largest integer multiplier of a residual add
MAX_CHECKED_PAIRS = 1 << 22


def _scale_of(node, t: IntT, which: str) -> F32:
    ab = affine_of(t.steps, t.C)
    if ab is None or t.perm is not None:
        raise _err(node, f"residual add: the {which} input is not a quantized activation (its float chain has "
                         f"{[s.kind for s in t.steps]}); put a quantizer (QuantIdentity/QuantReLU) on both inputs")
    A, B = ab
    if np.any(B != 0) or np.any(A != A[0]) or A[0] == 0:
        raise _err(node, f"residual add: the {which} input needs a per-tensor scale and zero offset "
                         f"(scale {np.unique(A)[:4].tolist()}, offset {np.unique(B)[:4].tolist()})")
    return F32(eval_chain(t.steps, np.ones((1,)))[0])


def residual_add(node, ta: IntT, tb: IntT, b: _Builder, join_checks: dict) -> IntT:
    if ta.shape != tb.shape:
        raise _err(node, f"residual add of shapes {ta.shape} and {tb.shape}")
    sa, sb = _scale_of(node, ta, "first"), _scale_of(node, tb, "second")
    r = Fraction(float(sa)) / Fraction(float(sb))
    p, q = r.numerator, r.denominator
    if max(abs(p), q) > MAX_MULTIPLIER:
        raise _err(node, f"residual add: input scales {float(sa):.8g} and {float(sb):.8g} have the ratio {r} "
                         f"(no small integer multipliers); share one quantizer between the branches or use "
                         "power-of-two scales (e.g. Brevitas Int8ActPerTensorFixedPoint)")
    ends = [p * ta.lo + q * tb.lo, p * ta.lo + q * tb.hi, p * ta.hi + q * tb.lo, p * ta.hi + q * tb.hi]
    lo, hi = min(ends), max(ends)
    if max(abs(lo), abs(hi)) >= MAX_EXACT:
        raise _err(node, f"residual add: integer sum range [{lo}, {hi}] exceeds 2^24")
    steps = [Step("mul", np.asarray(sb / F32(q), F32))]
    bitwise = _first_mismatch(ta, tb, p, q, steps) is None
    ins = []
    for t, m in ((ta, p), (tb, q)):
        name = t.name
        if m != 1:
            name = b.tensor("scaled", t.shape, int_dtype_for_range(min(m * t.lo, m * t.hi), max(m * t.lo, m * t.hi)))
            b.node("Mul", [t.name, b.init("mult", np.asarray(m, F32))], [name])
        ins.append(name)
    o = b.tensor("sum", ta.shape, int_dtype_for_range(lo, hi))
    b.node("Add", ins, [o])
    if not bitwise:
        join_checks[o] = (ta, tb, p, q)
    return IntT(o, ta.shape, lo, hi, steps, None, None)


def _pairs(ta: IntT, tb: IntT):
    ia = np.arange(ta.lo, ta.hi + 1)
    ib = np.arange(tb.lo, tb.hi + 1)
    if ia.size * ib.size > MAX_CHECKED_PAIRS:  # the ends and a grid, not every pair
        ia = np.unique(np.r_[ia[:512], ia[-512:], ia[:: max(1, ia.size // 1024)]])
        ib = np.unique(np.r_[ib[:512], ib[-512:], ib[:: max(1, ib.size // 1024)]])
    return ia, ib


def _reference_sum(ta: IntT, tb: IntT, ia, ib) -> np.ndarray:
    """float32 f_a(i_a) + f_b(i_b) as the QONNX graph computes it: (len(ia), len(ib), C)."""
    fa = eval_chain(ta.steps, ia.reshape(-1, 1) * np.ones((1, ta.C)))
    fb = eval_chain(tb.steps, ib.reshape(-1, 1) * np.ones((1, tb.C)))
    return (fa[:, None, :] + fb[None, :, :]).astype(F32)


def _int_sum(ia, ib, p, q, C) -> np.ndarray:
    return p * ia.reshape(-1, 1, 1) + q * ib.reshape(1, -1, 1) + np.zeros((1, 1, C), dtype=np.int64)


def _first_mismatch(ta: IntT, tb: IntT, p: int, q: int, steps):
    ia, ib = _pairs(ta, tb)
    ref = _reference_sum(ta, tb, ia, ib)
    ours = eval_chain(steps, _int_sum(ia, ib, p, q, ta.C).reshape(-1, ta.C)).reshape(ref.shape)
    bad = np.argwhere(ref != ours)
    return None if not bad.size else bad[0]


def check_join_quant(node, join, t: IntT, T, qmin, scale, zeropt, bits, signed, narrow, rounding) -> None:
    """The thresholds ``T`` on the integer sum give, for every pair of add inputs, the level the
    QONNX graph's quantizer gives to ``steps_after(f_a(i_a) + f_b(i_b))``."""
    from qonnx.custom_op.general.intquant import int_quant

    ta, tb, p, q = join
    ia, ib = _pairs(ta, tb)
    C = t.C
    after = t.steps[1:]  # what follows the join's mul(s) (e.g. a ReLU)
    f = eval_chain(after, _reference_sum(ta, tb, ia, ib).reshape(-1, C)).reshape(ia.size, ib.size, C)
    sc = np.broadcast_to(np.asarray(scale, F32).reshape(-1), (C,)) if np.asarray(scale).size > 1 else np.asarray(scale, F32)
    zp = np.broadcast_to(np.asarray(zeropt, F32).reshape(-1), (C,)) if np.asarray(zeropt).size > 1 else np.asarray(zeropt, F32)
    ref = np.round(int_quant(f, sc, zp, F32(bits), signed, narrow, rounding) / sc + zp).astype(np.int64)
    y = _int_sum(ia, ib, p, q, C)
    ours = qmin + (y[..., None] >= np.asarray(T)[None, None]).sum(-1)
    bad = np.argwhere(ref != ours)
    if bad.size:
        i, j, c = bad[0]
        raise _err(node, f"the quantizer after the residual add is not exact on integers: add inputs {int(ia[i])}, "
                         f"{int(ib[j])} (channel {int(c)}) give level {int(ref[i, j, c])} in the QONNX graph but "
                         f"{int(ours[i, j, c])} from {p}·a + {q}·b (float32 rounding of the two scaled inputs); "
                         "use power-of-two scales")


def _concat_steps(node, ts: list[IntT]) -> list[Step]:
    kinds = [[s.kind for s in t.steps] for t in ts]
    if any(k != kinds[0] for k in kinds):
        raise _err(node, f"concat of inputs with different float chains {kinds}; quantize every input "
                         "(QuantIdentity) in front of the Concat")
    out = []
    for steps in zip(*(t.steps for t in ts)):
        def cat(get):
            vals = [get(s) for s in steps]
            if all(v is None for v in vals):
                return None
            return np.concatenate([np.broadcast_to(np.asarray(v, F32).reshape(-1), (t.C,)) if np.asarray(v).size <= 1
                                   else np.asarray(v, F32).reshape(-1) for v, t in zip(vals, ts)]).astype(F32)
        extra = {}
        for k in steps[0].extra:
            vals = [s.extra[k] for s in steps]
            if all(np.asarray(v).size == 1 for v in vals) and all(np.asarray(v) == np.asarray(vals[0]) for v in vals):
                extra[k] = vals[0]
            else:
                extra[k] = cat(lambda s, k=k: s.extra[k])
        a, bb = cat(lambda s: s.a), cat(lambda s: s.b)
        # a constant equal on every channel stays a scalar (a conv after the concat needs a per-tensor scale)
        if a is not None and np.all(a == a[0]):
            a = a[:1].reshape(())
        if bb is not None and np.all(bb == bb[0]):
            bb = bb[:1].reshape(())
        out.append(Step(steps[0].kind, a, bb, extra))
    return out


def channel_concat(node, ts: list[IntT], qshapes, b: _Builder) -> IntT:
    axis = int(_attr(node, "axis", 1))
    if axis % len(qshapes[0]) != 1 or len(qshapes[0]) != 4:
        raise _err(node, f"concat along axis {axis}: only the channel axis of NCHW tensors is supported")
    if len(ts) < 2:
        raise _err(node, f"concat of {len(ts)} tensor: nothing to join")
    if any(t.perm is not None for t in ts) or any(t.shape[:3] != ts[0].shape[:3] for t in ts):
        raise _err(node, f"concat of tensors with shapes {[t.shape for t in ts]}")
    steps = _concat_steps(node, ts)
    lo, hi = min(t.lo for t in ts), max(t.hi for t in ts)
    C = sum(t.C for t in ts)
    oshape = ts[0].shape[:3] + (C,)
    o = b.tensor("cat", oshape, int_dtype_for_range(lo, hi))
    b.node("Concat", [t.name for t in ts], [o], axis=-1)
    return IntT(o, oshape, lo, hi, steps, None, None)

