"""Building blocks of the branching zoo models (resnet18, mobilenet-v1, unet).

Two containers besides ``nn.Sequential``: :class:`Residual` (``body(x) + shortcut(x)``) and
:class:`SkipCat` (``cat([x, inner(x)], 1)``, two inputs). Pruning (``fpga_flow.prune.depgraph``) and
quantization (``fpga_flow.quant.branches``) walk exactly these, so a model built from them has one
meaning for the channel-dependency graph, the quantizer and the exported QONNX graph.

Children are named (``conv``, ``bn``, ``relu``) so that dropping a fused BatchNorm keeps the other
state-dict keys: ``build(name, channels=..., bn=False)`` then loads a simplified model's weights.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import torch
from torch import nn

from fpga_flow.errors import FlowError


class Residual(nn.Module):
    """``body(x) + shortcut(x)``; ``shortcut=None`` is the identity. The ReLU after the add belongs to
    the parent chain."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Sequential | None = None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class SkipCat(nn.Module):
    """``cat([x, inner(x)], dim=1)``: U-Net's skip connection around a deeper level."""

    def __init__(self, inner: nn.Sequential):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.inner(x)], dim=1)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, bn: bool = True, relu: bool = True,
            depthwise: bool = False) -> nn.Sequential:
    """conv (pad k//2) [+ BN] [+ ReLU]; the conv has a bias only without BN."""
    if depthwise and cin != cout:
        raise FlowError(f"depthwise conv needs as many outputs as inputs, got {cin} -> {cout}")
    layers: list[tuple[str, nn.Module]] = [
        ("conv", nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=cin if depthwise else 1,
                           bias=not bn))]
    if bn:
        layers.append(("bn", nn.BatchNorm2d(cout)))
    if relu:
        layers.append(("relu", nn.ReLU(inplace=False)))
    return nn.Sequential(OrderedDict(layers))


class Widths:
    """Hands out the ``channels`` list in module order, checking the widths that are coupled (a residual
    add's two inputs, a depthwise conv and its input) so that a bad plan fails with the layer named."""

    def __init__(self, name: str, widths: list[int]):
        self.name, self.widths, self.i = name, list(widths), 0

    def take(self, where: str) -> int:
        if self.i >= len(self.widths):
            raise FlowError(f"model {self.name}: `channels` has {len(self.widths)} widths, {where} needs more")
        self.i += 1
        return self.widths[self.i - 1]

    def same(self, where: str, expected: int) -> int:
        """A width coupled to ``expected`` (depthwise conv, residual add)."""
        got = self.take(where)
        if got != expected:
            raise FlowError(f"model {self.name}: {where} is coupled to {expected} channels, `channels` gives {got}")
        return got

    def done(self) -> None:
        if self.i != len(self.widths):
            raise FlowError(f"model {self.name}: `channels` lists {len(self.widths)} widths, the model has {self.i}")

    def __iter__(self) -> Iterator[int]:
        return iter(self.widths)


def plan(name: str, default: list[int], width: float, channels: list[int] | None) -> list[int]:
    """``channels`` as given (validated by count) or the default widths x ``width`` (at least 1)."""
    if channels is None:
        return [max(1, int(round(c * width))) for c in default]
    channels = [int(c) for c in channels]
    if len(channels) != len(default) or min(channels) < 1:
        raise FlowError(f"model {name}: `channels` must list {len(default)} positive widths "
                        f"(every hidden conv/linear in module order), got {len(channels)}")
    return channels
