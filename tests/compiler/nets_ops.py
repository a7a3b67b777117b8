"""Small Brevitas nets for the ops beyond the basic set (N-input concat, grouped convs, max-unpool)."""

from __future__ import annotations

import torch
import torch.nn as nn

from .nets import _q


class Concat3Net(nn.Module):
    """An Inception-style join: conv+QuantReLU (x) -> [x | conv 3x3(x) | upsample(conv(maxpool(x)))]
    through one shared quantizer -> one three-input Concat -> conv (logits)."""

    def __init__(self, po2: bool = True, ch: int = 4, classes: int = 3):
        super().__init__()
        qnn, IA, IW, UA = _q()
        kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
        ua = dict(bit_width=4, return_quant_tensor=False, **({"act_quant": UA} if po2 else {}))
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {}))
        self.conv0 = qnn.QuantConv2d(3, ch, 3, padding=1, bias=True, **kw_w)
        self.relu0 = qnn.QuantReLU(**ua)
        self.conv1 = qnn.QuantConv2d(ch, ch, 3, padding=1, bias=True, **kw_w)
        self.relu1 = qnn.QuantReLU(**ua)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = qnn.QuantConv2d(ch, 2 * ch, 3, padding=1, bias=True, **kw_w)
        self.relu2 = qnn.QuantReLU(**ua)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.qcat = qnn.QuantReLU(**ua)
        self.head = qnn.QuantConv2d(4 * ch, classes, 1, bias=True, **kw_w)

    def forward(self, x):
        x = self.relu0(self.conv0(self.inp(x)))
        a = self.relu1(self.conv1(x))
        b = self.up(self.relu2(self.conv2(self.pool(x))))
        return self.head(torch.cat([self.qcat(x), self.qcat(a), self.qcat(b)], dim=1))


def grouped_net(po2: bool = True, ch: int = 8, classes: int = 5):
    """ResNeXt/ShuffleNet-style grouped convs: conv 3x3 -> grouped 3x3 (groups=2, stride 2) + BN ->
    grouped 1x1 (groups=4, 8 -> 16) -> depthwise with channel multiplier 2 (groups=16, 16 -> 32)
    -> GAP -> linear."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
    kw_a = dict(bit_width=4, return_quant_tensor=True, **({"act_quant": UA} if po2 else {}))
    return nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
        qnn.QuantConv2d(3, ch, 3, padding=1, bias=True, **kw_w), qnn.QuantReLU(**kw_a),
        qnn.QuantConv2d(ch, ch, 3, stride=2, padding=1, groups=2, bias=False, **kw_w), nn.BatchNorm2d(ch),
        qnn.QuantReLU(**kw_a),
        qnn.QuantConv2d(ch, 2 * ch, 1, groups=4, bias=True, **kw_w), qnn.QuantReLU(**kw_a),
        qnn.QuantConv2d(2 * ch, 4 * ch, 3, padding=1, groups=2 * ch, bias=True, **kw_w), qnn.QuantReLU(**kw_a),
        nn.AdaptiveAvgPool2d(1), qnn.QuantIdentity(bit_width=8, return_quant_tensor=True,
                                                   **({"act_quant": IA} if po2 else {})),
        nn.Flatten(), qnn.QuantLinear(4 * ch, classes, bias=True, **kw_w))


def unsupported_net(kind: str):
    """conv -> [the op under test] -> quantizer -> conv: an op the compiler rejects, mid-graph."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=4, weight_quant=IW)
    mid = {"sigmoid": [nn.Sigmoid()], "dilated": [qnn.QuantConv2d(8, 8, 3, padding=2, dilation=2, **kw_w)],
           "maxpool_overlap": [nn.MaxPool2d(3, stride=2)], "leaky": [nn.LeakyReLU(0.1)]}[kind]
    return nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, act_quant=IA),
        qnn.QuantConv2d(3, 8, 3, padding=1, **kw_w), qnn.QuantReLU(bit_width=4, act_quant=UA), *mid,
        qnn.QuantIdentity(bit_width=4, act_quant=IA), qnn.QuantConv2d(8, 3, 1, **kw_w))
