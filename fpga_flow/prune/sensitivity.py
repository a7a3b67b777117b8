"""Neuron sensitivity (SeReNe, eq. 2): S_n = (1/C) sum_k |d y_k / d a_n| over the C network outputs.

``a_n`` is the neuron's pre-activation (conv/linear output, after BN when present), averaged over the
batch and, for conv channels, over positions. For segmentation y_k is class k's logit summed over pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from fpga_flow.prune.graph import units


def neuron_sensitivity(model: nn.Module, x: torch.Tensor, max_outputs: int = 16) -> list[torch.Tensor]:
    """Per hidden unit (all but the last): a tensor (out_channels,) of sensitivities (model in eval mode)."""
    us = units(model)[:-1]
    acts: list[torch.Tensor] = []
    hooks = [u.output_module.register_forward_hook(lambda _m, _i, out: acts.append(out)) for u in us]
    was = model.training
    model.eval()
    try:
        y = model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    y = y.flatten(2).sum(2) if y.dim() > 2 else y
    C = y.shape[1]
    ks = range(C) if C <= max_outputs else torch.randperm(C)[:max_outputs].tolist()
    sens = [torch.zeros(a.shape[1], device=a.device) for a in acts]
    for j, k in enumerate(ks):
        grads = torch.autograd.grad(y[:, k].sum(), acts, retain_graph=j < len(ks) - 1)
        for s, g in zip(sens, grads):
            dims = [0] + list(range(2, g.dim()))
            s += g.abs().mean(dim=dims)
    return [(s / len(ks)).detach() for s in sens]


def normalise(sens: list[torch.Tensor], ref: str = "mean") -> list[torch.Tensor]:
    """S-bar: each layer's sensitivities divided by the layer's mean (``ref="mean"``: neurons above the
    layer average get no shrinkage, so the regulariser targets the weak ones) or largest one ("max")."""
    if ref not in ("mean", "max"):
        raise ValueError(f"unknown sensitivity normalisation {ref!r}")
    return [s / (s.mean() if ref == "mean" else s.max()).clamp_min(1e-12) for s in sens]
