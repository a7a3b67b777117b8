"""simplify: fuse BatchNorm, propagate the constant output of removed channels into the next layer's
bias, and physically remove dead channels, keeping the model's outputs identical.

A hidden channel can go when
- *out-dead*: every weight that reads it in the next layer is zero, or
- *in-dead*: its own weights are all zero, so it emits the constant ``v = relu(bias)`` everywhere
  (max-pool, upsample, GAP, flatten, dropout keep it constant). ``v == 0``: nothing to do; ``v != 0``:
  folded into the next layer's bias when that layer is a Linear or an unpadded conv. A padded conv sees
  zeros at the border instead of ``v``, which a plain bias cannot express: such channels are kept
  (``SimplifyResult.kept_constant``); pruning zeroes the bias of channels feeding padded convs.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.prune.graph import Unit, is_chain, leaves, units
from fpga_flow.prune.rounding import round_count


@dataclass
class SimplifyResult:
    model: nn.Sequential
    before: list[int]          # hidden widths before
    channels: list[int]        # hidden widths after (the ``channels`` build parameter)
    kept_constant: int         # constant channels kept because they feed a padded conv
    kept_ids: list[list[int]]  # per hidden layer: original indices of the kept channels
    config: dict[str, Any] | None = None  # build kwargs of the simplified model (zoo models)


def _drop_child(parent: nn.Sequential, index: int) -> None:
    items = [(k, m) for i, (k, m) in enumerate(parent.named_children()) if i != index]
    if all(k.isdigit() for k, _ in parent.named_children()):
        items = [(str(i), m) for i, (_, m) in enumerate(items)]
    parent._modules = OrderedDict(items)


@torch.no_grad()
def fuse_bn(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d into the Conv2d before it (in place; the model must be a zoo chain)."""
    for unit in units(model):
        if unit.bn is None:
            continue
        conv, bn = unit.layer, unit.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
    for leaf in reversed(leaves(model)):
        if isinstance(leaf.module, nn.BatchNorm2d):
            _drop_child(leaf.parent, leaf.index)
    return model


def _cols(prod: Unit, cons: Unit, n: int) -> slice:
    """The consumer's input columns that read producer channel n (Flatten is channel-major)."""
    if isinstance(cons.layer, nn.Conv2d):
        return slice(n, n + 1)
    per = cons.in_channels // prod.out_channels
    if per * prod.out_channels != cons.in_channels:
        raise FlowError(f"layer {cons.path}: {cons.in_channels} inputs do not split over "
                        f"{prod.out_channels} channels of {prod.path}")
    return slice(n * per, (n + 1) * per)


def _set_weight(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    layer.weight = nn.Parameter(weight.contiguous())
    if bias is not None:
        layer.bias = nn.Parameter(bias.contiguous())
    if isinstance(layer, nn.Conv2d):
        layer.out_channels, layer.in_channels = weight.shape[0], weight.shape[1]
    else:
        layer.out_features, layer.in_features = weight.shape


@torch.no_grad()
def _pass(us: list[Unit], ids: list[list[int]], protect: list[set[int]] | None) -> tuple[bool, int]:
    """One forward sweep of removals. ``ids[i]`` maps unit i's current channels to original indices
    (updated in place); ``protect`` holds original indices that must stay. Returns (changed, kept_const)."""
    changed, kept_const = False, 0
    for i, (prod, cons) in enumerate(zip(us[:-1], us[1:])):
        w, b = prod.layer.weight, prod.layer.bias
        cw = cons.layer.weight
        cb = cons.layer.bias if cons.layer.bias is not None else torch.zeros(cons.out_channels)
        padded = isinstance(cons.layer, nn.Conv2d) and (
            cons.layer.padding != "valid" if isinstance(cons.layer.padding, str)
            else any(p != 0 for p in cons.layer.padding))
        keep: list[int] = []
        folded: dict[int, torch.Tensor] = {}
        for n in range(prod.out_channels):
            if protect is not None and ids[i][n] in protect[i]:
                keep.append(n)
                continue
            cols = _cols(prod, cons, n)
            if not cw[:, cols].any():
                continue  # out-dead
            if w[n].any():
                keep.append(n)
                continue
            v = float(b[n]) if b is not None else 0.0
            if prod.relu:
                v = max(v, 0.0)
            if v == 0.0:
                continue
            if padded:
                keep.append(n)
                kept_const += 1
                continue
            folded[n] = v * cw[:, cols].sum(dim=tuple(range(1, cw.dim())))
        if not keep:
            keep = [0]  # a layer never disappears; its channel 0 stays (unfolded), exact either way
        for n, contribution in folded.items():
            if n not in keep:
                cb = cb + contribution
        if len(keep) == prod.out_channels:
            continue
        changed = True
        idx = torch.tensor(keep)
        col_idx = torch.cat([torch.arange(_cols(prod, cons, n).start, _cols(prod, cons, n).stop) for n in keep])
        _set_weight(prod.layer, w[idx], b[idx] if b is not None else None)
        _set_weight(cons.layer, cw[:, col_idx], cb)
        ids[i] = [ids[i][n] for n in keep]
    return changed, kept_const


def _importance(us: list[Unit]) -> list[torch.Tensor]:
    """Channel importance used by rounding: l2 norm of the channel's weights and bias."""
    out = []
    for u in us[:-1]:
        w = u.layer.weight.detach().flatten(1)
        b = u.layer.bias.detach() if u.layer.bias is not None else torch.zeros(w.shape[0])
        out.append(torch.sqrt((w * w).sum(1) + b * b))
    return out


@torch.no_grad()
def simplify(model: nn.Module, multiple_of: int = 1, name: str | None = None,
             config: dict[str, Any] | None = None) -> SimplifyResult:
    """Return a smaller, BN-free copy of ``model`` with identical outputs (eval mode).

    ``multiple_of`` > 1 keeps, per layer, the next multiple of that many channels (the most important
    of the removable ones are kept; they are exact as they stay in place). With a zoo ``name`` and its
    build ``config``, the result is rebuilt through ``build(name, channels=..., bn=False)``.
    Branching models (residual adds, concats, depthwise convs) go through ``simplify_coupled``.
    """
    if not is_chain(model):
        from fpga_flow.prune.simplify_coupled import simplify_coupled

        return simplify_coupled(model, multiple_of, name, config)
    was_training = model.training
    m = copy.deepcopy(model).eval()
    model.train(was_training)
    before = [u.out_channels for u in units(m)[:-1]]
    fuse_bn(m)
    original = copy.deepcopy(m) if multiple_of > 1 else None
    ids, kept_const = _run(m, None)
    if original is not None:
        protect = []
        for imp, surv, full in zip(_importance(units(original)), ids, before):
            k = round_count(len(surv), multiple_of, full)
            order = [int(j) for j in torch.argsort(imp, descending=True, stable=True) if int(j) not in surv]
            protect.append(set(surv) | set(order[: max(0, k - len(surv))]))
        m = original
        ids, kept_const = _run(m, protect)
    channels = [u.out_channels for u in units(m)[:-1]]
    cfg = None
    if name is not None:
        m, cfg = _rebuild(m, name, config or {}, channels)
    return SimplifyResult(m, before, channels, kept_const, ids, cfg)


def _run(m: nn.Module, protect: list[set[int]] | None) -> tuple[list[list[int]], int]:
    """Sweep until nothing more can go (removals can make the previous layer out-dead)."""
    ids = [list(range(u.out_channels)) for u in units(m)[:-1]]
    kept = 0
    for _ in range(1000):
        changed, kept = _pass(units(m), ids, protect)
        if not changed:
            break
    return ids, kept


def _rebuild(m: nn.Module, name: str, config: dict[str, Any], channels: list[int]):
    from fpga_flow.models import build

    cfg = {k: v for k, v in config.items() if k not in ("width", "checkpoint")}
    cfg.update(channels=channels, bn=False)
    fresh = build(name, **cfg)
    try:
        fresh.load_state_dict(m.state_dict(), strict=True)
    except RuntimeError as err:
        raise FlowError(f"model {name}: simplified weights do not fit build(channels=...): {err}") from err
    return fresh.eval(), cfg
