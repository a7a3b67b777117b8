"""Move a trained zoo model to another input size: the same weights in the topology built for ``in_size``.

VGG16 ends in a global average pool and SegNet is fully convolutional, so no parameter depends on the
input size: a network trained (and pruned) at 32x32 runs at 224x224 as it is, and fine-tuning there
recovers what the scale change costs. This is how the 224x224 rows stay affordable on a CPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.registry import build


def at_input_size(model: nn.Module, name: str, config: dict[str, Any], in_size: int) -> tuple[nn.Module, dict]:
    """``(model rebuilt for in_size with model's weights, its config)``."""
    cfg = dict(config) | {"in_size": in_size}
    out = build(name, **cfg)
    try:
        out.load_state_dict(model.state_dict(), strict=True)
    except RuntimeError as err:
        raise FlowError(f"model {name}: weights at input {config.get('in_size')} do not fit input {in_size}: "
                        f"{str(err).splitlines()[0]}") from err
    return out.eval(), cfg


@torch.no_grad()
def with_batchnorm(model: nn.Module, name: str, config: dict[str, Any]) -> tuple[nn.Module, dict]:
    """``(model rebuilt with BatchNorm after every conv, its config)``, computing what ``model`` computes.

    A pruned (simplified) network has its BatchNorms folded into the convs. Moved to a 7x larger input,
    its activations change scale layer after layer and a BN-free deep stack cannot be fine-tuned back
    (measured: vgg16-hcr trained and pruned at 32x32, then fine-tuned at 224x224 without BN: 84.2 % ->
    10.8 % test balanced accuracy, chance level). Each BN starts as the identity carrying the conv's bias."""
    if config.get("bn", True):
        return model, dict(config)
    cfg = dict(config) | {"bn": True}
    out = build(name, **cfg)
    by_conv = dict(_conv_bn_pairs(out))
    src_layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    dst_layers = [m for m in out.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    if len(src_layers) != len(dst_layers):
        raise FlowError(f"model {name}: {len(src_layers)} layers given, {len(dst_layers)} with BatchNorm")
    for src, dst in zip(src_layers, dst_layers):
        if src.weight.shape != dst.weight.shape:
            raise FlowError(f"model {name}: weight {tuple(src.weight.shape)} does not fit {tuple(dst.weight.shape)}")
        dst.weight.copy_(src.weight)
        bias = src.bias if src.bias is not None else torch.zeros(src.weight.shape[0])
        bn = by_conv.get(dst)
        if bn is None:
            if dst.bias is not None:
                dst.bias.copy_(bias)
            continue
        bn.weight.fill_(1.0)
        bn.bias.copy_(bias)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
    return out.eval(), cfg


def _conv_bn_pairs(model: nn.Module):
    """(conv, the BatchNorm2d right after it) in module order."""
    leaves = [m for m in model.modules() if not list(m.children())]
    for a, b in zip(leaves, leaves[1:]):
        if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(b, nn.BatchNorm2d):
            yield a, b


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, loader, batches: int = 20) -> nn.Module:
    """Running BN statistics re-estimated at the loader's input size (the statistics of another size are
    wrong for this one), from up to ``batches`` training batches."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the batches seen
    model.train()
    for i, (x, _) in enumerate(loader):
        if i >= batches:
            break
        model(x)
    model.eval()
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    return model


def fine_tune_at_size(model: nn.Module, name: str, config: dict[str, Any], in_size: int, loaders, task: str,
                      epochs: int, lr: float = 1e-3, seed: int = 0, progress: bool = True):
    """``(model at in_size, its config, TrainResult)``: BatchNorm put back (a pruned network has it folded),
    its statistics re-estimated at ``in_size``, ``epochs`` of fine-tuning there (the weights as given
    compete as epoch 0, so this never returns a worse model on validation), BatchNorm folded again when
    the model came without it."""
    from fpga_flow.models.train import TrainConfig, fit
    from fpga_flow.prune.simplify import fuse_bn

    folded = not config.get("bn", True)
    if folded:  # no weight depends on the input size: the BN topology is built at in_size directly
        net, cfg = with_batchnorm(model, name, dict(config) | {"in_size": in_size})
    else:
        net, cfg = at_input_size(model, name, config, in_size)
    recalibrate_batchnorm(net, loaders["train"])
    res = fit(net, loaders, task, TrainConfig(epochs=epochs, lr=lr, seed=seed, keep_initial=True, progress=progress,
                                              label=f"fine-tune at {in_size}"))
    net = res.model.cpu().eval()
    if folded:
        cfg = cfg | {"bn": False}
        out = build(name, **cfg)  # the zoo's BN-free topology of this config (simplify's rebuild drops width)
        out.load_state_dict(fuse_bn(net).state_dict(), strict=True)
        net = out.eval()
    return net, cfg, res
