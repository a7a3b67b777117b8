"""VGG16 for ISIC classification: the 13 3x3 convs of VGG16 + global-average-pool + small FC head."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.errors import FlowError

# VGG16 "D" configuration: ints are conv widths, "M" a 2x2 max-pool.
VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)


def scaled(widths: list[int], width: float) -> list[int]:
    """Apply a width multiplier, never below one channel."""
    return [max(1, int(round(c * width))) for c in widths]


def resolve_channels(
    name: str, default: list[int], width: float, channels: list[int] | None
) -> list[int]:
    """The per-layer widths: explicit ``channels`` win over ``width`` x the default."""
    if channels is None:
        return scaled(default, width)
    channels = [int(c) for c in channels]
    if len(channels) != len(default) or min(channels) < 1:
        raise FlowError(
            f"model {name}: `channels` must list {len(default)} positive widths "
            f"(every hidden conv/linear in order), got {channels}"
        )
    return channels


def conv_block(cin: int, cout: int, bn: bool) -> list[nn.Module]:
    """3x3 conv (pad 1) [+ BN] + ReLU; the conv has a bias only without BN."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=False))
    return layers


def make_stack(cfg: list[int | str], widths: list[int], cin: int, bn: bool) -> tuple[nn.Sequential, int]:
    """Conv/pool/upsample stack from a layout (ints -> next width, "M" pool, "U" upsample)."""
    layers: list[nn.Module] = []
    it = iter(widths)
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif item == "U":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            cout = next(it)
            layers += conv_block(cin, cout, bn)
            cin = cout
    return nn.Sequential(*layers), cin


def check_size(name: str, in_size: int, factor: int) -> None:
    if in_size < factor or in_size % factor:
        raise FlowError(f"model {name}: in_size must be a positive multiple of {factor}, got {in_size}")


def vgg16(
    num_classes: int = 8,
    in_size: int = 224,
    width: float = 1.0,
    channels: list[int] | None = None,
    bn: bool = True,
    in_channels: int = 3,
    hidden: int = 0,
    dropout: float = 0.0,
) -> nn.Sequential:
    """VGG16 features + AdaptiveAvgPool2d(1) + Flatten + [Linear(C,hidden)+ReLU] + [Dropout] + Linear.

    ``channels`` lists the widths of the 13 convs, then ``hidden`` when ``hidden > 0``.
    """
    check_size("vgg16", in_size, 32)
    conv_default = [c for c in VGG16_CFG if isinstance(c, int)]
    default = conv_default + ([hidden] if hidden else [])
    widths = resolve_channels("vgg16", default, width, channels)
    if channels is None and hidden:
        widths[-1] = hidden  # the head width is absolute, not scaled
    features, c = make_stack(list(VGG16_CFG), widths[:13], in_channels, bn)
    head: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if hidden:
        head += [nn.Linear(c, widths[13]), nn.ReLU(inplace=False)]
        c = widths[13]
    if dropout:
        head.append(nn.Dropout(dropout))
    head.append(nn.Linear(c, num_classes))
    model = nn.Sequential(OrderedDict(features=features, head=nn.Sequential(*head)))
    model.input_shape = (in_channels, in_size, in_size)
    return model
