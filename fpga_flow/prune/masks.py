"""Pruning masks: which parameters are forced to zero, per unit, at parameter or channel granularity."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from fpga_flow.prune.graph import Unit, is_chain, units


def feeds_padded_conv(us: list[Unit], i: int) -> bool:
    nxt = us[i + 1].layer if i + 1 < len(us) else None
    return isinstance(nxt, nn.Conv2d) and any(p != 0 for p in nxt.padding)


@dataclass
class Masks:
    """``weight[i]``: 0/1 mask of unit i's weight; ``channel[i]``: bool alive mask of its outputs."""

    weight: list[torch.Tensor]
    channel: list[torch.Tensor]

    @classmethod
    def ones(cls, model: nn.Module) -> "Masks":
        us = units(model)
        return cls([torch.ones_like(u.layer.weight) for u in us],
                   [torch.ones(u.out_channels, dtype=torch.bool) for u in us])

    def clone(self) -> "Masks":
        return Masks([w.clone() for w in self.weight], [c.clone() for c in self.channel])

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Zero masked weights; dead channels also lose BN scale, and their bias / BN shift when they feed
        a padded conv (so that simplify can remove them exactly). In a branching model (residual adds,
        concats, depthwise convs) a dead channel always loses its shift: it is then exactly 0 in every unit
        that writes it, whatever reads it."""
        us = units(model)
        coupled = not is_chain(model)
        for i, u in enumerate(us):
            dead = ~self.channel[i]
            wm = self.weight[i].to(u.layer.weight.device)
            if dead.any():
                wm = wm.clone()
                wm[dead] = 0
            u.layer.weight.mul_(wm)
            if not dead.any():
                continue
            zero_shift = coupled or feeds_padded_conv(us, i)
            if u.bn is not None:
                u.bn.weight[dead] = 0
                if zero_shift:
                    u.bn.bias[dead] = 0
            if zero_shift and u.layer.bias is not None:
                u.layer.bias[dead] = 0

    def alive_params(self) -> int:
        return int(sum(w.sum() for w in self.weight))


def channel_norms(model: nn.Module) -> list[torch.Tensor]:
    """Magnitude of each output channel: sqrt(scale_n^2 + relu(shift_n)^2), where scale is ||W_n|| without
    BN and |gamma_n| with BN (BN output has std |gamma| whatever W is: BN-scaled weights would rank by the
    input statistics instead), shift the bias / BN beta: a channel with no scale but a positive shift is a
    constant, not a zero, so it ranks high."""
    out = []
    for u in units(model):
        w = u.layer.weight.detach().flatten(1)
        n = torch.linalg.vector_norm(w, dim=1)
        shift = u.layer.bias.detach() if u.layer.bias is not None else torch.zeros_like(n)
        if u.bn is not None:
            n = u.bn.weight.detach().abs()
            shift = u.bn.bias.detach()
        out.append(torch.sqrt(n * n + torch.relu(shift) ** 2).cpu())
    return out


def nonzero_params(model: nn.Module) -> list[int]:
    """Non-zero weights (+ non-zero biases) per unit: the 'remaining parameters' of Table 1."""
    res = []
    for u in units(model):
        n = int((u.layer.weight != 0).sum())
        if u.layer.bias is not None:
            n += int((u.layer.bias != 0).sum())
        res.append(n)
    return res
