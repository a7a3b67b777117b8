"""U-Net for ISIC lesion segmentation (Ronneberger et al., 2015) with 'same' padding, nearest x2 upsampling
instead of transposed convs, and one skip concatenation of two inputs per level (``blocks.SkipCat``).

Level l: two 3x3 convs (width w_l) -> SkipCat(max-pool 2x2 -> level l+1 -> upsample x2) -> two 3x3 convs
(w_l + w_{l+1} -> w_l -> w_l). The deepest level (the bottleneck) has only its two convs. A 1x1 conv maps
w_0 to the classes.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.blocks import SkipCat, Widths, conv_bn, plan
from fpga_flow.models.vgg import check_size

LEVELS = (64, 128, 256, 512, 1024)


def default_widths(depth: int = 4) -> list[int]:
    """Hidden conv widths in module order: per level enc1, enc2, (the deeper levels), dec1, dec2."""
    def level(i: int) -> list[int]:
        c = LEVELS[i]
        return [c, c] if i == depth else [c, c, *level(i + 1), c, c]
    return level(0)


def _level(w: Widths, cin: int, i: int, depth: int, bn: bool) -> tuple[nn.Sequential, int]:
    e1 = w.take(f"level{i}.enc1")
    e2 = w.take(f"level{i}.enc2")
    layers: list[tuple[str, nn.Module]] = [("enc1", conv_bn(cin, e1, 3, 1, bn)), ("enc2", conv_bn(e1, e2, 3, 1, bn))]
    if i < depth:
        deeper, cd = _level(w, e2, i + 1, depth, bn)
        inner = nn.Sequential(OrderedDict(pool=nn.MaxPool2d(2, 2), deeper=deeper,
                                          up=nn.Upsample(scale_factor=2, mode="nearest")))
        d1 = w.take(f"level{i}.dec1")
        d2 = w.take(f"level{i}.dec2")
        layers += [("skip", SkipCat(inner)), ("dec1", conv_bn(e2 + cd, d1, 3, 1, bn)), ("dec2", conv_bn(d1, d2, 3, 1, bn))]
        return nn.Sequential(OrderedDict(layers)), d2
    return nn.Sequential(OrderedDict(layers)), e2


def unet(num_classes: int = 2, in_size: int = 224, width: float = 1.0, channels: list[int] | None = None,
         bn: bool = True, in_channels: int = 3, depth: int = 4) -> nn.Sequential:
    """``depth`` max-pools (1-4); ``channels`` lists the hidden conv widths in module order
    (``default_widths(depth)``: 4 * depth + 2). Output: (N, classes, H, W)."""
    if not 1 <= depth <= len(LEVELS) - 1:
        raise FlowError(f"model unet: depth must be 1..{len(LEVELS) - 1}, got {depth}")
    check_size("unet", in_size, 2 ** depth)
    w = Widths("unet", plan("unet", default_widths(depth), width, channels))
    body, c = _level(w, in_channels, 0, depth, bn)
    w.done()
    model = nn.Sequential(OrderedDict(body=body, classifier=nn.Conv2d(c, num_classes, 1)))
    model.input_shape = (in_channels, in_size, in_size)
    return model
