"""The tiny net and batches shared by the DDP worker and its single-process reference."""

from __future__ import annotations

import torch
from torch import nn


def tiny_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))


def batches(n: int = 6, size: int = 8) -> tuple[list, list]:
    g = torch.Generator().manual_seed(1)
    xs = [torch.randn(size, 1, 8, 8, generator=g) for _ in range(n)]
    ys = [torch.randint(0, 3, (size,), generator=g) for _ in range(n)]
    return list(zip(xs, ys)), list(zip(xs[:2], ys[:2]))
