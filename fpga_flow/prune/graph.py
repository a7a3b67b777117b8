"""Walk a zoo model (nested nn.Sequential, plus the ``Residual``/``SkipCat`` branches of
``fpga_flow.models.blocks``) as a flat list of leaves and weight units in module order.

A *chain* (Sequential only, no depthwise conv) feeds unit i's outputs to unit i+1 alone; anything else
needs the channel-dependency graph of ``fpga_flow.prune.depgraph`` to know which channels are coupled."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from fpga_flow.errors import FlowError

ALLOWED = (
    nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Upsample, nn.AdaptiveAvgPool2d,
    nn.Flatten, nn.Linear, nn.Dropout,
)
# Layers between two weight units that map a per-channel constant to the same per-channel constant.
SHAPE_ONLY = (nn.MaxPool2d, nn.Upsample, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout)


@dataclass
class Leaf:
    path: str                # dotted name, e.g. "features.3"
    parent: nn.Sequential
    index: int               # position inside parent
    module: nn.Module


@dataclass
class Unit:
    """A Conv2d/Linear (+ the BatchNorm2d right after it) and the leaves up to the next unit."""

    path: str
    layer: nn.Conv2d | nn.Linear
    bn: nn.BatchNorm2d | None = None
    between: list[nn.Module] = field(default_factory=list)  # leaves after (bn) up to next unit

    @property
    def out_channels(self) -> int:
        return self.layer.out_channels if isinstance(self.layer, nn.Conv2d) else self.layer.out_features

    @property
    def in_channels(self) -> int:
        return self.layer.in_channels if isinstance(self.layer, nn.Conv2d) else self.layer.in_features

    @property
    def relu(self) -> bool:
        return any(isinstance(m, nn.ReLU) for m in self.between)

    @property
    def output_module(self) -> nn.Module:
        """The module whose output is the neuron's pre-activation (BN if present, else the layer)."""
        return self.bn if self.bn is not None else self.layer


def is_depthwise(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels == m.out_channels


def is_chain(model: nn.Module) -> bool:
    """Sequential containers only and no depthwise conv: unit i feeds unit i+1 and nothing else."""
    from fpga_flow.models.blocks import Residual, SkipCat

    return not any(isinstance(m, (Residual, SkipCat)) or is_depthwise(m) for m in model.modules())


def leaves(model: nn.Module) -> list[Leaf]:
    """Leaves in module order; containers are nn.Sequential or the zoo's Residual/SkipCat branches,
    every leaf an allowed type."""
    from fpga_flow.models.blocks import Residual, SkipCat

    out: list[Leaf] = []

    def walk(seq: nn.Module, prefix: str) -> None:
        if not isinstance(seq, nn.Sequential):
            raise FlowError(f"layer {prefix or '<root>'}: {type(seq).__name__} is not an nn.Sequential chain")
        for i, (key, mod) in enumerate(seq.named_children()):
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(mod, nn.Sequential):
                walk(mod, path)
            elif isinstance(mod, (Residual, SkipCat)):
                for k, branch in mod.named_children():
                    walk(branch, f"{path}.{k}")
            elif isinstance(mod, ALLOWED):
                if isinstance(mod, nn.Conv2d) and ((mod.groups != 1 and not is_depthwise(mod))
                                                   or mod.dilation != (1, 1)):
                    raise FlowError(f"layer {path}: grouped (other than depthwise)/dilated Conv2d is not supported")
                out.append(Leaf(path, seq, i, mod))
            else:
                raise FlowError(f"layer {path}: {type(mod).__name__} is not a supported zoo layer")

    walk(model, "")
    return out


def units(model: nn.Module) -> list[Unit]:
    """The weight units in forward order, each with its BN and the layers up to the next unit."""
    result: list[Unit] = []
    for leaf in leaves(model):
        m = leaf.module
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            result.append(Unit(leaf.path, m))
        elif not result:
            continue  # layers before the first unit (none in the zoo)
        elif isinstance(m, nn.BatchNorm2d) and result[-1].bn is None and not result[-1].between:
            result[-1].bn = m
        else:
            if isinstance(m, nn.BatchNorm2d):
                raise FlowError(f"layer {leaf.path}: BatchNorm2d must directly follow a Conv2d")
            result[-1].between.append(m)
    if not result:
        raise FlowError("model has no Conv2d/Linear layer")
    return result
