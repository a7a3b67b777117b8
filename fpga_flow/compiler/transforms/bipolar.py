"""Bipolar (1-bit, ±1) quantizers (qonnx ``BipolarQuant``: ``y = s·(x >= 0 ? 1 : -1)``) in the
streamlined integer graph.

A bipolar activation ``v = ±s`` travels as its bit ``b = (v/s + 1)/2 ∈ {0, 1}`` (FINN's encoding of
BIPOLAR), so it is an ordinary UINT1 tensor whose dequantization is ``(b − 1/2)·2s`` (zero point
1/2, scale 2s): max-pool, flatten and the host side need nothing new, and a conv/linear layer on it
is the integer MatMul on the bits with ``Σ W·(2b−1) = 2·(acc − colsum(W)/2)`` on its float chain.
Bipolar weights stay ±1 integers (``q = sign``, zero point 0), which ``to_hw`` maps to the
multiplier-free ``BinaryMVAU``.
"""

from __future__ import annotations

import numpy as np

from .chain import F32, eval_chain


def bipolar_levels(w: np.ndarray) -> np.ndarray:
    """The integer ±1 of qonnx's BipolarQuant (0 maps to +1)."""
    return np.where(np.asarray(w) >= 0, 1, -1).astype(np.int64)


def bipolar_thresholds(steps, C: int, lo: int, hi: int) -> np.ndarray:
    """``T (C × 1)``: per channel the smallest integer ``acc`` in ``[lo, hi + 1]`` with
    ``f(acc) >= 0`` (``hi + 1``: never), ``f`` non-decreasing and evaluated in float32 as the QONNX
    graph does, so ``[acc >= T] == (BipolarQuant(f(acc)) + 1) / 2`` for every ``acc`` in range."""
    L = np.full((C, 1), lo, dtype=np.int64)
    H = np.full((C, 1), hi + 1, dtype=np.int64)
    while True:
        active = L < H
        if not active.any():
            return L
        mid = (L + H) // 2
        ok = eval_chain(steps, mid.astype(np.float64).astype(F32), channels_last=False) >= F32(0)
        H = np.where(active & ok, mid, H)
        L = np.where(active & ~ok, mid + 1, L)
