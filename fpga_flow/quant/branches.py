"""Quantized residual adds and skip concatenations (``fpga_flow.models.blocks``), as the compiler joins them.

- ``QuantResidual``: ``q(body(x)) + q(shortcut(x))`` with one signed ``add_bits(abits)`` quantizer ``q`` shared by
  both inputs (FINN's rule), so both are integers on one grid and the add is exact; the identity shortcut
  is the block's (already quantized) input, requantized by ``q`` (a Thresholding in hardware).
- ``QuantSkipCat``: ``cat([q(x), q(inner(x))])`` with one quantizer ``q`` shared by both inputs, so the
  concatenated tensor has one scale (unsigned ``abits`` when both inputs are post-ReLU, else signed).
"""

from __future__ import annotations

import torch
from torch import nn

# bits of the quantizer shared by a residual add's inputs, above the activations' ``abits`` (capped at 8): a
# Thresholding holds 2^bits - 1 thresholds per channel, and at 8 bits the shortcut/branch thresholds alone put
# resnet18-pruned (224x224, W4A4) at 143 % of Pynq-Z2's LUTs fully folded (benchmarks/zoo_224.py)
ADD_EXTRA_BITS = 2


def add_bits(abits: int) -> int:
    return min(8, abits + ADD_EXTRA_BITS)


class QuantResidual(nn.Module):
    def __init__(self, body: nn.Sequential, shortcut: nn.Sequential | None, shared: nn.Module | None = None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.shared = shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        s = x if self.shortcut is None else self.shortcut(x)
        if self.shared is not None:
            return self.shared(y) + self.shared(s)
        return y + s


class QuantSkipCat(nn.Module):
    def __init__(self, inner: nn.Sequential, quant: nn.Module):
        super().__init__()
        self.inner = inner
        self.quant = quant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.quant(x), self.quant(self.inner(x))], dim=1)
