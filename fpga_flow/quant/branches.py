"""Quantized residual adds and skip concatenations (``fpga_flow.models.blocks``), as the compiler joins them.

- ``QuantResidual``: ``q(body(x)) + q(shortcut(x))`` with one signed ``ADD_BITS`` quantizer ``q`` shared by
  both inputs (FINN's rule), so both are integers on one grid and the add is exact; the identity shortcut
  is the block's (already quantized) input, requantized by ``q`` (a Thresholding in hardware).
- ``QuantSkipCat``: ``cat([q(x), q(inner(x))])`` with one quantizer ``q`` shared by both inputs, so the
  concatenated tensor has one scale (unsigned ``abits`` when both inputs are post-ReLU, else signed).
"""

from __future__ import annotations

import torch
from torch import nn

ADD_BITS = 8  # a residual branch's accumulator is requantized at 8 bits before the add (AddStreams input)


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
