"""ResNet-18 for ISIC classification: torchvision's layout (7x7/2 stem, four stages of two basic blocks,
global average pool, one linear layer) with two changes the dataflow compiler needs: the stem's max-pool
is 2x2 stride 2 (the hardware max-pool is k x k, stride k, unpadded; torchvision's is 3x3/2 padded), and
the ReLU after each residual add is a layer of the parent chain (``blocks.Residual`` holds only the add).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.blocks import Residual, Widths, conv_bn, plan
from fpga_flow.models.vgg import check_size

STAGES = (64, 128, 256, 512)
BLOCKS = 2  # basic blocks per stage (ResNet-18)


def default_widths() -> list[int]:
    """Hidden conv widths in module order: stem, then per block conv1, conv2 (+ the 1x1 shortcut conv of
    each stage's first block after the first stage)."""
    out = [STAGES[0]]
    for s, c in enumerate(STAGES):
        for b in range(BLOCKS):
            out += [c, c] + ([c] if s > 0 and b == 0 else [])
    return out


def basic_block(w: Widths, cin: int, where: str, stride: int, down: bool, bn: bool) -> tuple[Residual, int]:
    c1 = w.take(f"{where}.conv1")
    c2 = w.take(f"{where}.conv2")
    body = nn.Sequential(OrderedDict(
        conv1=conv_bn(cin, c1, 3, stride, bn), conv2=conv_bn(c1, c2, 3, 1, bn, relu=False)))
    if down:
        shortcut = nn.Sequential(OrderedDict(conv=conv_bn(cin, w.same(f"{where}.shortcut", c2), 1, stride, bn,
                                                          relu=False)))
    else:
        if c2 != cin:
            raise FlowError(f"model resnet18: {where}.conv2 is coupled to {cin} channels by the identity "
                            f"shortcut, `channels` gives {c2}")
        shortcut = None
    return Residual(body, shortcut), c2


def resnet18(num_classes: int = 8, in_size: int = 224, width: float = 1.0, channels: list[int] | None = None,
             bn: bool = True, in_channels: int = 3) -> nn.Sequential:
    """stem (7x7/2 conv + 2x2 max-pool) -> 4 stages x 2 basic blocks (stride 2 and a 1x1 shortcut conv at
    the start of stages 2-4) -> GAP -> Linear. ``channels`` lists the 20 hidden conv widths in module order
    (``default_widths``); coupled widths (the convs joined by an identity add) must be equal."""
    check_size("resnet18", in_size, 32)
    w = Widths("resnet18", plan("resnet18", default_widths(), width, channels))
    stem = w.take("stem")
    layers: list[tuple[str, nn.Module]] = [("stem", conv_bn(in_channels, stem, 7, 2, bn)),
                                           ("pool", nn.MaxPool2d(2, 2))]
    c = stem
    for s in range(len(STAGES)):
        for b in range(BLOCKS):
            where = f"layer{s + 1}.{b}"
            block, c = basic_block(w, c, where, 2 if s > 0 and b == 0 else 1, s > 0 and b == 0, bn)
            layers += [(f"layer{s + 1}_{b}", block), (f"layer{s + 1}_{b}_relu", nn.ReLU(inplace=False))]
    w.done()
    layers += [("gap", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(c, num_classes))]
    model = nn.Sequential(OrderedDict(layers))
    model.input_shape = (in_channels, in_size, in_size)
    return model
