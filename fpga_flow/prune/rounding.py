"""Hardware-aware rounding: kept channel counts become multiples of a factor (PE/SIMD divide evenly),
re-admitting the most important of the pruned channels."""

from __future__ import annotations

import math

import torch


def round_count(k: int, multiple: int, total: int, mode: str = "up") -> int:
    """``k`` rounded to a multiple of ``multiple`` (up, down or nearest), clipped to [multiple, total]
    (a layer narrower than ``multiple`` keeps all its ``total`` channels)."""
    if multiple <= 1:
        return k
    if mode == "up":
        r = math.ceil(k / multiple) * multiple
    elif mode == "down":
        r = math.floor(k / multiple) * multiple
    elif mode == "nearest":
        r = int(math.floor(k / multiple + 0.5)) * multiple
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    return min(total, max(multiple, r))


def round_mask(keep: torch.Tensor, importance: torch.Tensor, multiple: int, mode: str = "up",
               alive: torch.Tensor | None = None) -> torch.Tensor:
    """New bool mask with a rounded number of kept channels: the ``n`` most important ones, where kept
    channels rank before pruned ones (rounding up only adds, rounding down drops the least important).
    ``alive`` limits re-admission to channels not pruned earlier (default: all)."""
    pool = alive if alive is not None else torch.ones_like(keep)
    n = round_count(int(keep.sum()), multiple, int(pool.sum()), mode)
    rank = importance.float().clone()
    rank = rank + torch.where(keep, rank.abs().max() + 1, torch.zeros_like(rank))
    rank[~pool] = -float("inf")
    out = torch.zeros_like(keep)
    out[torch.argsort(rank, descending=True, stable=True)[:n]] = True
    return out
