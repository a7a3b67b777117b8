"""The channel-dependency graph of a branching zoo model: which channels must be pruned together.

``coupling(model)`` traces the float model with ``torch.fx`` and follows every tensor's channels as a list
of *segments* (a group of coupled channels and how many of them):

- a conv/linear starts a new group (its outputs); it *consumes* its input segments (a Linear after a
  Flatten reads ``per`` = H*W columns per channel, channel-major);
- a depthwise conv keeps its input's segments (its channel n reads channel n only);
- BN, ReLU, pools, upsample, dropout, flatten keep the segments;
- ``a + b`` (a residual add) merges the groups of its two inputs: channel n of the shortcut and of the
  branch are one channel, removed in both or in neither;
- ``cat([a, b], 1)`` concatenates the segments: the consumer's input columns are sliced per input.

Groups that reach the network input or output are frozen. Everything else keeps per-unit masks
(``fpga_flow.prune.masks``); candidate/refine choose channels per group and give each unit the mask of
its segments, so coupled units always agree, and ``simplify_coupled`` removes a group's channel from
every producer and every consumer at once.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.prune.graph import is_depthwise, units

PASS = (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Upsample, nn.AdaptiveAvgPool2d, nn.Dropout, nn.Identity)


@dataclass
class Consumer:
    unit: int
    segments: list[tuple[int, int]]   # (group, channels) in input order
    per: int = 1                      # input columns per channel (Linear after Flatten: H*W)


@dataclass
class Coupling:
    sizes: list[int]                              # channels per group
    unit_out: list[list[tuple[int, int]]]         # per unit: the (group, channels) segments of its outputs
    consumers: list[Consumer]                     # every non-depthwise unit, with the segments it reads
    frozen: set[int] = field(default_factory=set)  # groups touching the network input or output

    @property
    def hidden(self) -> list[int]:
        return [g for g in range(len(self.sizes)) if g not in self.frozen]

    def members(self, g: int) -> list[tuple[int, int]]:
        """(unit, offset of group g inside the unit's outputs) of every unit writing group g."""
        out = []
        for u, segs in enumerate(self.unit_out):
            off = 0
            for gid, n in segs:
                if gid == g:
                    out.append((u, off))
                off += n
        return out

    def unit_mask(self, u: int, group_masks: dict[int, torch.Tensor], current: torch.Tensor) -> torch.Tensor:
        """Unit u's output mask from the masks of its groups (frozen groups keep ``current``)."""
        parts, off = [], 0
        for g, n in self.unit_out[u]:
            parts.append(group_masks[g] if g in group_masks else current[off:off + n])
            off += n
        return torch.cat(parts)

    def group_mask(self, g: int, unit_masks: list[torch.Tensor]) -> torch.Tensor:
        u, off = self.members(g)[0]
        return unit_masks[u][off:off + self.sizes[g]]

    def group_values(self, g: int, per_unit: list[torch.Tensor]) -> torch.Tensor:
        """The largest per-unit value over the units writing group g (a coupled channel is weak only when it
        is weak in every unit that writes it)."""
        vals = [per_unit[u][off:off + self.sizes[g]] for u, off in self.members(g)]
        return torch.stack(vals).max(0).values


class _Groups:
    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []

    def new(self, n: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(n)
        return len(self.parent) - 1

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def coupling(model: nn.Module) -> Coupling:
    """Trace ``model`` (``model.input_shape`` or a 3x32x32 input) and build its channel-dependency graph."""
    from torch.fx import symbolic_trace
    from torch.fx.passes.shape_prop import ShapeProp

    us = units(model)
    index = {id(u.layer): i for i, u in enumerate(us)}
    try:
        gm = symbolic_trace(model)
    except Exception as err:  # noqa: BLE001 - any tracing failure is a model we cannot prune
        raise FlowError(f"model {type(model).__name__}: cannot trace its channel graph ({err})") from err
    p = next(model.parameters())
    shape = tuple(getattr(model, "input_shape", (3, 32, 32)))
    was = model.training
    model.eval()
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(1, *shape, dtype=p.dtype, device=p.device))
    model.train(was)
    gs = _Groups()
    val: dict[str, tuple[list[tuple[int, int]], int]] = {}  # node -> (segments, per)
    unit_out: list[list[tuple[int, int]]] = [[] for _ in us]
    consumers: list[Consumer] = []
    frozen: list[int] = []

    def flat(node) -> tuple[list[tuple[int, int]], int]:
        segs, per = val[node.args[0].name]
        meta = node.args[0].meta["tensor_meta"].shape
        return segs, per * int(torch.tensor(meta[2:]).prod()) if len(meta) > 2 else per

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            g = gs.new(shape[0])
            frozen.append(g)
            val[node.name] = ([(g, shape[0])], 1)
        elif node.op == "call_module":
            m = gm.get_submodule(node.target)
            segs, per = val[node.args[0].name]
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                u = index[id(m)]
                if is_depthwise(m):
                    unit_out[u] = list(segs)
                    val[node.name] = (list(segs), 1)
                    continue
                consumers.append(Consumer(u, list(segs), per))
                n = m.out_channels if isinstance(m, nn.Conv2d) else m.out_features
                g = gs.new(n)
                unit_out[u] = [(g, n)]
                val[node.name] = ([(g, n)], 1)
            elif isinstance(m, nn.Flatten):
                val[node.name] = flat(node)
            elif isinstance(m, PASS):
                val[node.name] = (segs, per)
            else:
                raise FlowError(f"layer {node.target}: {type(m).__name__} has no channel rule for pruning")
        elif node.op == "call_function" and node.target in (operator.add, torch.add):
            (a, _), (b, _) = val[node.args[0].name], val[node.args[1].name]
            if [n for _, n in a] != [n for _, n in b]:
                raise FlowError(f"node {node.name}: a residual add of differently split channels cannot be pruned")
            for (ga, _), (gb, _) in zip(a, b):
                gs.union(ga, gb)
            val[node.name] = (a, 1)
        elif node.op == "call_function" and node.target is torch.cat:
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
            if dim != 1:
                raise FlowError(f"node {node.name}: only channel concatenation (dim 1) can be pruned")
            val[node.name] = ([s for x in node.args[0] for s in val[x.name][0]], 1)
        elif node.op == "call_function" and node.target is torch.flatten:
            val[node.name] = flat(node)
        elif node.op == "output":
            frozen += [g for g, _ in val[node.args[0].name][0]]
        else:
            raise FlowError(f"node {node.name} ({node.op} {node.target}) has no channel rule for pruning")
    # canonical group ids in order of first appearance among the units
    roots: dict[int, int] = {}
    for segs in unit_out:
        for g, _ in segs:
            roots.setdefault(gs.find(g), len(roots))
    for g in frozen:
        roots.setdefault(gs.find(g), len(roots))

    def canon(segs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(roots[gs.find(g)], n) for g, n in segs]

    sizes = [0] * len(roots)
    for r, i in roots.items():
        sizes[i] = gs.size[r]
    return Coupling(sizes, [canon(s) for s in unit_out],
                    [Consumer(c.unit, canon(c.segments), c.per) for c in consumers],
                    {roots[gs.find(g)] for g in frozen})
