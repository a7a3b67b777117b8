"""Helpers of the quantization tests: BN statistics, a tiny deterministic image task."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset


def bars(n: int, seed: int, size: int = 16, noise: float = 0.5) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = noise * torch.randn((n, 1, size, size), generator=g)
    pos = torch.randint(3, size - 3, (n, 2), generator=g)
    r = torch.arange(-2, 3)
    for i in range(n):
        cy, cx = int(pos[i, 0]), int(pos[i, 1])
        c = int(y[i])
        ys, xs = {0: (cy + 0 * r, cx + r), 1: (cy + r, cx + 0 * r), 2: (cy + r, cx + r),
                  3: (cy + r, cx - r)}[c]
        x[i, 0, ys, xs] += 1.5
    return TensorDataset(x, y)


def loaders(n_train: int = 512, n_test: int = 512, batch_size: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(bars(n_train, seed), batch_size=batch_size, shuffle=True, generator=g),
            DataLoader(bars(n_test, seed + 1000), batch_size=256))


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BatchNorm statistics, so that BN folding is actually exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
    return model.eval()
