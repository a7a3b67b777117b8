"""simplify for branching models: physically remove the channels pruning zeroed, group by group.

A channel of a coupled group (``depgraph``) goes when it is exactly 0 wherever it is written: every unit
writing it (the convs joined by a residual add, a depthwise conv on it) has zero weights and zero bias
for it after BN fusion, which ``Masks.apply`` guarantees for pruned channels of branching models. Then
its consumers' input columns (at their offset inside a concat, ``per`` columns after a Flatten) read
only zeros and go too, so the outputs stay identical. Rounding to ``multiple_of`` re-admits the most
important removable channels of the group, as the chain version does per layer.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from fpga_flow.prune.depgraph import Coupling, coupling
from fpga_flow.prune.graph import is_depthwise, units
from fpga_flow.prune.rounding import round_count


def _zero_out(layer: nn.Module) -> torch.Tensor:
    """Per output channel: all weights and the bias are zero."""
    w = layer.weight.detach().flatten(1)
    dead = ~(w != 0).any(1)
    if layer.bias is not None:
        dead &= layer.bias.detach() == 0
    return dead


def _importance(layer: nn.Module) -> torch.Tensor:
    w = layer.weight.detach().flatten(1)
    b = layer.bias.detach() if layer.bias is not None else torch.zeros(w.shape[0])
    return torch.sqrt((w * w).sum(1) + b * b)


def kept_channels(model: nn.Module, cp: Coupling, multiple_of: int = 1) -> dict[int, torch.Tensor]:
    """Per hidden group: the sorted indices of the channels that stay."""
    us = units(model)
    dead = [_zero_out(u.layer) for u in us]
    imp = [_importance(u.layer) for u in us]
    keep: dict[int, torch.Tensor] = {}
    for g in cp.hidden:
        members = cp.members(g)
        n = cp.sizes[g]
        alive = ~torch.stack([dead[u][o:o + n] for u, o in members]).all(0)
        score = torch.stack([imp[u][o:o + n] for u, o in members]).max(0).values
        k = max(1, round_count(int(alive.sum()), multiple_of, n)) if multiple_of > 1 else max(1, int(alive.sum()))
        rank = score + torch.where(alive, score.max() + 1, torch.zeros_like(score))
        keep[g] = torch.sort(torch.argsort(rank, descending=True, stable=True)[:k]).values
    return keep


def _index(segments: list[tuple[int, int]], keep: dict[int, torch.Tensor], per: int = 1) -> torch.Tensor:
    """Indices into a tensor laid out as ``segments`` (``per`` columns per channel) that stay."""
    parts, off = [], 0
    for g, n in segments:
        idx = keep[g] if g in keep else torch.arange(n)
        cols = (off + idx)[:, None] * per + torch.arange(per)[None, :]
        parts.append(cols.flatten())
        off += n * per
    return torch.cat(parts)


@torch.no_grad()
def remove_channels(model: nn.Module, cp: Coupling, keep: dict[int, torch.Tensor]) -> list[list[int]]:
    """Slice every unit's outputs and every consumer's inputs in place; returns the kept ids per unit."""
    us = units(model)
    ids = []
    for u, segs in zip(us, cp.unit_out):
        out = _index(segs, keep)
        layer = u.layer
        depthwise = is_depthwise(layer)
        layer.weight = nn.Parameter(layer.weight[out].contiguous())
        if layer.bias is not None:
            layer.bias = nn.Parameter(layer.bias[out].contiguous())
        if isinstance(layer, nn.Conv2d):
            layer.out_channels = len(out)
            if depthwise:
                layer.in_channels = layer.groups = len(out)
        else:
            layer.out_features = len(out)
        ids.append(out.tolist())
    for c in cp.consumers:
        layer = us[c.unit].layer
        cols = _index(c.segments, keep, c.per)
        layer.weight = nn.Parameter(layer.weight[:, cols].contiguous())
        if isinstance(layer, nn.Conv2d):
            layer.in_channels = len(cols)
        else:
            layer.in_features = len(cols)
    return ids


def simplify_coupled(model: nn.Module, multiple_of: int = 1, name: str | None = None,
                     config: dict[str, Any] | None = None):
    """``simplify`` for branching models (same result type; ``kept_constant`` is always 0)."""
    from fpga_flow.prune.simplify import SimplifyResult, _rebuild, fuse_bn

    was_training = model.training
    m = copy.deepcopy(model).eval()
    model.train(was_training)
    before = [u.out_channels for u in units(m)[:-1]]
    fuse_bn(m)
    cp = coupling(m)
    ids = remove_channels(m, cp, kept_channels(m, cp, multiple_of))
    channels = [u.out_channels for u in units(m)[:-1]]
    cfg = None
    if name is not None:
        m, cfg = _rebuild(m, name, config or {}, channels)
    return SimplifyResult(m, before, channels, 0, ids[:-1], cfg)
