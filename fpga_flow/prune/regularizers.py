"""Per-step regularised updates applied after ``optimizer.step()``.

- SeReNe: w <- w - lambda * w * ReLU(1 - S-bar_n) for all parameters of hidden neuron n
  (weights, bias, BN scale and shift), S-bar the normalised neuron sensitivity. With BN, its running
  mean/var are scaled with the weights (x -> c x gives mean c mu, var c^2 var) so that eval mode stays consistent.
- LOBSTER: w <- w - lambda * w * ReLU(1 - |dL/dw|) per parameter (loss-based sensitivity).
- magnitude ("l2 + pruning"): plain weight decay, handled by the optimizer.
"""

from __future__ import annotations

import torch
from torch import nn

from fpga_flow.prune.graph import units
from fpga_flow.prune.sensitivity import neuron_sensitivity, normalise


class SereneRegularizer:
    def __init__(self, lam: float, every: int = 5, samples: int = 64):
        self.lam, self.every, self.samples = lam, every, samples
        self.insensitivity: list[torch.Tensor] | None = None

    def __call__(self, model: nn.Module, x: torch.Tensor, step: int) -> None:
        if self.insensitivity is None or step % self.every == 0:
            sb = normalise(neuron_sensitivity(model, x[: self.samples]))
            self.insensitivity = [torch.relu(1 - s) for s in sb]
        with torch.no_grad():
            for u, ins in zip(units(model)[:-1], self.insensitivity):
                shrink = 1 - self.lam * ins
                params = [u.layer.weight, u.layer.bias]
                if u.bn is not None:
                    params += [u.bn.weight, u.bn.bias]
                for p in params:
                    if p is not None:
                        p.mul_(shrink.view(-1, *([1] * (p.dim() - 1))))
                if u.bn is not None:  # BN's running statistics follow its input, which the shrink just scaled:
                    # without this, eval-mode BN normalises the shrunk channel with stale statistics
                    u.bn.running_mean.mul_(shrink)
                    u.bn.running_var.mul_(shrink * shrink)


class LobsterRegularizer:
    def __init__(self, lam: float):
        self.lam = lam

    def __call__(self, model: nn.Module, x: torch.Tensor, step: int) -> None:
        with torch.no_grad():
            for u in units(model):
                for p in (u.layer.weight, u.layer.bias):
                    if p is not None and p.grad is not None:
                        p.sub_(self.lam * p * torch.relu(1 - p.grad.abs()))


def make_regularizer(method: str, lam: float, every: int = 5, samples: int = 64):
    if method == "serene":
        return SereneRegularizer(lam, every, samples)
    if method == "lobster":
        return LobsterRegularizer(lam)
    return None  # magnitude: weight decay in the optimizer
