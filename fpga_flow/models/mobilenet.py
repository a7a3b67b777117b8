"""MobileNet-v1 for ISIC classification: a 3x3/2 stem, 13 depthwise-separable blocks (3x3 depthwise conv
+ BN + ReLU, 1x1 pointwise conv + BN + ReLU), global average pool and one linear layer (Howard et al.,
2017, Table 1; ReLU instead of ReLU6: the quantizer bounds activations anyway)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.models.blocks import Widths, conv_bn, plan
from fpga_flow.models.vgg import check_size

STEM = 32
# (depthwise stride, pointwise width) of the 13 blocks
BLOCKS: tuple[tuple[int, int], ...] = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024),
)


def default_widths() -> list[int]:
    """Hidden conv widths in module order: stem, then per block the depthwise conv (= its input) and the
    pointwise conv."""
    out, c = [STEM], STEM
    for _, pw in BLOCKS:
        out += [c, pw]
        c = pw
    return out


def mobilenet_v1(num_classes: int = 8, in_size: int = 224, width: float = 1.0, channels: list[int] | None = None,
                 bn: bool = True, in_channels: int = 3) -> nn.Sequential:
    """``channels`` lists the 27 hidden conv widths (stem, then depthwise/pointwise per block); a depthwise
    conv's width must equal its input's."""
    check_size("mobilenet-v1", in_size, 32)
    w = Widths("mobilenet-v1", plan("mobilenet-v1", default_widths(), width, channels))
    c = w.take("stem")
    layers: list[tuple[str, nn.Module]] = [("stem", conv_bn(in_channels, c, 3, 2, bn))]
    for i, (stride, _) in enumerate(BLOCKS):
        dw = w.same(f"block{i}.dw", c)
        pw = w.take(f"block{i}.pw")
        layers.append((f"block{i}", nn.Sequential(OrderedDict(
            dw=conv_bn(c, dw, 3, stride, bn, depthwise=True), pw=conv_bn(dw, pw, 1, 1, bn)))))
        c = pw
    w.done()
    layers += [("gap", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(c, num_classes))]
    model = nn.Sequential(OrderedDict(layers))
    model.input_shape = (in_channels, in_size, in_size)
    return model
