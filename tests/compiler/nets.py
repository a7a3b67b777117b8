"""Small Brevitas nets exported to QONNX, used as compiler test inputs."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn


def _q():
    import brevitas.nn as qnn
    from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint,
                                Uint8ActPerTensorFixedPoint)
    return qnn, Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint


def conv_net(po2: bool = True, bn: bool = False, gap: bool = True, ch=(8, 16), classes=5, a_bits=4, w_bits=4):
    """QuantIdentity 8b -> [QuantConv 3x3 + bias -> (BN) -> QuantReLU -> MaxPool] x2 -> GAP/flatten -> QuantLinear."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=w_bits)
    kw_a = dict(bit_width=a_bits, return_quant_tensor=True)
    if po2:
        kw_w["weight_quant"] = IW
        kw_a["act_quant"] = UA
    layers = [qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {}))]
    cin = 3
    for c in ch:
        layers += [qnn.QuantConv2d(cin, c, 3, padding=1, bias=True, **kw_w)]
        if bn:
            layers += [nn.BatchNorm2d(c)]
        layers += [qnn.QuantReLU(**kw_a), nn.MaxPool2d(2)]
        cin = c
    if gap:
        layers += [nn.AdaptiveAvgPool2d(1), qnn.QuantIdentity(bit_width=8, return_quant_tensor=True,
                                                               **({"act_quant": IA} if po2 else {}))]
        nfeat = cin
    else:
        nfeat = cin * 4 * 4  # 16x16 input after two 2x2 pools
    layers += [nn.Flatten(), qnn.QuantLinear(nfeat, classes, bias=True, **kw_w)]
    return nn.Sequential(*layers)


class ArgMaxHead(nn.Module):
    """Per-pixel / per-vector argmax over channels (exports an ArgMax node)."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return torch.argmax(self.body(x), dim=1, keepdim=True)


def upsample_net(po2: bool = True, classes=3, out_quant: bool = False):
    """Encoder-decoder with nearest upsampling, per-pixel logits (quantized to 8 bit if out_quant)."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
    kw_a = dict(bit_width=4, return_quant_tensor=True, **({"act_quant": UA} if po2 else {}))
    return nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
        qnn.QuantConv2d(3, 8, 3, padding=1, bias=True, **kw_w), qnn.QuantReLU(**kw_a), nn.MaxPool2d(2),
        qnn.QuantConv2d(8, 8, 3, padding=1, bias=True, **kw_w), qnn.QuantReLU(**kw_a),
        nn.Upsample(scale_factor=2, mode="nearest"),
        qnn.QuantConv2d(8, classes, 3, padding=1, bias=True, **kw_w),
        *([qnn.QuantIdentity(bit_width=8, return_quant_tensor=False, **({"act_quant": IA} if po2 else {}))]
          if out_quant else []),
    )


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial weights/BN statistics and calibrated activation scales."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(-1.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 16, 16, generator=g))
    model.eval()
    return model


def export(model: nn.Module, path: Path, shape=(1, 3, 16, 16)) -> Path:
    from brevitas.export import export_qonnx
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    export_qonnx(model, torch.randn(*shape), export_path=str(path))
    return path


# the eleven bnn_pynq configurations brevitas_examples ships (model_with_cfg names)
BNN_PYNQ = ("tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a",
            "cnv_1w1a", "cnv_1w2a", "cnv_2w2a")


def bnn_pynq(name: str, seed: int = 1) -> tuple[nn.Module, tuple]:
    """FINN's classic test net ``name`` from brevitas_examples.bnn_pynq (random weights) with random,
    non-trivial BatchNorm statistics; returns (model in eval mode, input shape)."""
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    m, _ = model_with_cfg(name, False)
    shape = (1, 3, 32, 32) if name.startswith("cnv") else (1, 1, 28, 28)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                mod.running_mean.uniform_(-0.5, 0.5, generator=g)
                mod.running_var.uniform_(0.5, 2.0, generator=g)
    m.eval()
    return m, shape


class ResidualNet(nn.Module):
    """Input quantizer -> conv+QuantReLU (x) -> [conv+BN+QuantReLU -> conv+BN -> quantizer] + x ->
    QuantReLU -> conv (per-pixel logits). ``po2``: power-of-two scales, the two add inputs quantized
    separately (4-bit unsigned x, 8-bit signed branch: their scales differ); otherwise float scales
    and one quantizer shared by both add inputs (FINN's rule for residual adds)."""

    def __init__(self, po2: bool = True, ch: int = 8, classes: int = 3, downsample: bool = False):
        super().__init__()
        qnn, IA, IW, UA = _q()
        kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
        ua = dict(bit_width=4, return_quant_tensor=False, **({"act_quant": UA} if po2 else {}))
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {}))
        self.conv0 = qnn.QuantConv2d(3, ch, 3, padding=1, bias=True, **kw_w)
        self.relu0 = qnn.QuantReLU(**ua)
        # ResNet's downsampling block: stride 2 in the branch, a strided 1x1 conv + BN + quantizer on the shortcut
        self.shortcut = nn.Sequential(
            qnn.QuantConv2d(ch, ch, 1, stride=2, bias=False, **kw_w), nn.BatchNorm2d(ch),
            qnn.QuantIdentity(bit_width=6, return_quant_tensor=False, **({"act_quant": IA} if po2 else {}))
        ) if downsample else nn.Identity()
        self.conv1 = qnn.QuantConv2d(ch, ch, 3, stride=2 if downsample else 1, padding=1, bias=True, **kw_w)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu1 = qnn.QuantReLU(**ua)
        self.conv2 = qnn.QuantConv2d(ch, ch, 3, padding=1, bias=True, **kw_w)
        self.bn2 = nn.BatchNorm2d(ch)
        self.po2 = po2
        if po2:
            self.qbranch = qnn.QuantIdentity(bit_width=8, return_quant_tensor=False, act_quant=IA)
        else:
            self.qshared = qnn.QuantIdentity(bit_width=6, return_quant_tensor=False)
        self.relu_out = qnn.QuantReLU(**ua)
        self.head = qnn.QuantConv2d(ch, classes, 1, bias=True, **kw_w)

    def forward(self, x):
        x = self.relu0(self.conv0(self.inp(x)))
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        x = self.shortcut(x)
        s = self.qbranch(y) + x if self.po2 else self.qshared(y) + self.qshared(x)
        return self.head(self.relu_out(s))


class SkipConcatNet(nn.Module):
    """A one-level U-Net: conv+QuantReLU (skip) -> maxpool -> conv+QuantReLU -> upsample, concat
    with the skip (both through one shared quantizer, so the concat has one scale) -> conv (logits)."""

    def __init__(self, po2: bool = True, ch: int = 4, classes: int = 3):
        super().__init__()
        qnn, IA, IW, UA = _q()
        kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
        ua = dict(bit_width=4, return_quant_tensor=False, **({"act_quant": UA} if po2 else {}))
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {}))
        self.conv0 = qnn.QuantConv2d(3, ch, 3, padding=1, bias=True, **kw_w)
        self.relu0 = qnn.QuantReLU(**ua)
        self.pool = nn.MaxPool2d(2)
        self.conv1 = qnn.QuantConv2d(ch, 2 * ch, 3, padding=1, bias=True, **kw_w)
        self.relu1 = qnn.QuantReLU(**ua)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.qcat = qnn.QuantReLU(**ua)
        self.head = qnn.QuantConv2d(3 * ch, classes, 3, padding=1, bias=True, **kw_w)

    def forward(self, x):
        skip = self.relu0(self.conv0(self.inp(x)))
        deep = self.up(self.relu1(self.conv1(self.pool(skip))))
        return self.head(torch.cat([self.qcat(skip), self.qcat(deep)], dim=1))


def depthwise_net(po2: bool = True, ch: int = 8, classes: int = 5):
    """MobileNet-style: conv 3x3 -> [depthwise 3x3 (stride 1, then 2) + BN + QuantReLU -> pointwise 1x1
    + QuantReLU] x2 -> GAP -> linear."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
    kw_a = dict(bit_width=4, return_quant_tensor=True, **({"act_quant": UA} if po2 else {}))
    layers = [qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
              qnn.QuantConv2d(3, ch, 3, padding=1, bias=False, **kw_w), nn.BatchNorm2d(ch), qnn.QuantReLU(**kw_a)]
    for stride in (1, 2):
        layers += [qnn.QuantConv2d(ch, ch, 3, stride=stride, padding=1, groups=ch, bias=False, **kw_w),
                   nn.BatchNorm2d(ch), qnn.QuantReLU(**kw_a),
                   qnn.QuantConv2d(ch, ch, 1, bias=False, **kw_w), nn.BatchNorm2d(ch), qnn.QuantReLU(**kw_a)]
    layers += [nn.AdaptiveAvgPool2d(1), qnn.QuantIdentity(bit_width=8, return_quant_tensor=True,
                                                           **({"act_quant": IA} if po2 else {})),
               nn.Flatten(), qnn.QuantLinear(ch, classes, bias=True, **kw_w)]
    return nn.Sequential(*layers)


def avgpool_net(po2: bool = True, ch: int = 8, classes: int = 5):
    """conv -> QuantReLU -> AvgPool 2x2 (not global) -> quantizer -> conv -> QuantReLU -> AvgPool 3x3 stride 2
    -> quantizer -> flatten -> linear."""
    qnn, IA, IW, UA = _q()
    kw_w = dict(weight_bit_width=4, **({"weight_quant": IW} if po2 else {}))
    kw_a = dict(bit_width=4, return_quant_tensor=False, **({"act_quant": UA} if po2 else {}))
    return nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
        qnn.QuantConv2d(3, ch, 3, padding=1, bias=True, **kw_w), qnn.QuantReLU(**kw_a), nn.AvgPool2d(2),
        qnn.QuantIdentity(bit_width=6, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
        qnn.QuantConv2d(ch, ch, 3, padding=1, bias=True, **kw_w), qnn.QuantReLU(**kw_a), nn.AvgPool2d(3, stride=2),
        qnn.QuantIdentity(bit_width=6, return_quant_tensor=True, **({"act_quant": IA} if po2 else {})),
        nn.Flatten(), qnn.QuantLinear(ch * 3 * 3, classes, bias=True, **kw_w))
