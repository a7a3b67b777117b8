"""simplify: BN fusion, bias propagation, channel removal with identical outputs (atol 1e-5)."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models import build, hidden_widths
from fpga_flow.prune.graph import units
from fpga_flow.prune.simplify import fuse_bn, simplify

SMALL = dict(width=1 / 8, in_size=32)


def setup_module() -> None:
    torch.set_num_threads(1)


def _randomise_bn(m: nn.Module) -> None:
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)


@torch.no_grad()
def _kill_half(m: nn.Module, seed: int = 1, constant_last: float | None = None) -> list[int]:
    """Zero half of each hidden layer's channels; returns the expected widths. With BN: gamma=0 and a
    negative shift (dead after ReLU); ``constant_last`` gives some channels of the last hidden layer a
    positive constant output that simplify must fold into the next (unpadded) layer's bias."""
    g = torch.Generator().manual_seed(seed)
    us = units(m)
    widths = []
    for i, u in enumerate(us[:-1]):
        n = u.out_channels
        idx = torch.randperm(n, generator=g)[: n // 2]
        if u.bn is not None:
            u.bn.weight[idx] = 0
            u.bn.bias[idx] = -0.1
            if constant_last is not None and i == len(us) - 2:
                u.bn.bias[idx[:2]] = constant_last
        else:
            u.layer.weight[idx] = 0
            if u.layer.bias is not None:
                u.layer.bias[idx] = constant_last if constant_last is not None else 0.0
        widths.append(n - n // 2)
    return widths


def _check(model: nn.Module, simple: nn.Module, shape) -> float:
    model.eval()
    x = torch.randn(4, *shape)
    err = (model(x) - simple(x)).abs().max().item()
    assert err < 1e-5
    return err


def test_fuse_bn_identical() -> None:
    m = build("vgg16", **SMALL).eval()
    _randomise_bn(m)
    x = torch.randn(2, 3, 32, 32)
    y = m(x)
    fuse_bn(m)
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in m.modules())
    torch.testing.assert_close(m(x), y, atol=1e-5, rtol=0)


def test_vgg16_channels_removed_outputs_identical() -> None:
    torch.manual_seed(0)
    m = build("vgg16", **SMALL)
    _randomise_bn(m)
    expected = _kill_half(m, constant_last=0.7)
    r = simplify(m, name="vgg16", config=SMALL)
    assert r.before == [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]
    assert r.channels == expected == hidden_widths(r.model)
    assert r.config == {"in_size": 32, "channels": expected, "bn": False}
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in r.model.modules())
    _check(m, r.model, (3, 32, 32))
    # rebuilt through the registry: a plain model that loads from its config
    again = build("vgg16", **r.config)
    again.load_state_dict(r.model.state_dict())


def test_segnet_encoder_decoder_and_upsample_path() -> None:
    torch.manual_seed(0)
    m = build("segnet", **SMALL)
    _randomise_bn(m)
    expected = _kill_half(m)
    r = simplify(m, name="segnet", config=SMALL)
    assert r.channels == expected and len(expected) == 25
    assert sum(isinstance(x, nn.Upsample) for x in r.model.modules()) == 5
    _check(m, r.model, (3, 32, 32))


def test_constant_channel_into_padded_conv_is_kept_exactly() -> None:
    """Channel 0 of conv 1 emits relu(0.5) everywhere; a padded 3x3 conv sees zeros at the border, so
    no bias can replace it: it stays (the result is still exact)."""
    torch.manual_seed(0)
    m = build("vgg16", **SMALL, bn=False)
    with torch.no_grad():
        first = units(m)[0].layer
        first.weight[0] = 0
        first.bias[0] = 0.5
        first.weight[1] = 0
        first.bias[1] = -0.5  # dead after ReLU: goes
    r = simplify(m)
    assert r.channels[0] == 7 and r.kept_constant == 1
    _check(m, r.model, (3, 32, 32))


def test_bias_propagation_through_pool_upsample_into_unpadded_conv() -> None:
    torch.manual_seed(0)
    m = nn.Sequential(OrderedDict(
        a=nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        b=nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(6, 5, 3, padding=0), nn.ReLU()),
        c=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3)),
    ))
    with torch.no_grad():
        m.a[0].weight[[1, 4]] = 0
        m.a[0].bias[[1, 4]] = torch.tensor([0.8, 1.3])     # constants 0.8 and 1.3 propagate
        m.b[1].weight[2] = 0
        m.b[1].bias[2] = 0.4                                # folded into the Linear
    r = simplify(m)
    assert r.channels == [4, 4] and r.kept_constant == 0
    _check(m, r.model, (3, 16, 16))


def test_lenet_flatten_without_gap_and_out_dead_channels() -> None:
    torch.manual_seed(0)
    m = build("lenet5")
    with torch.no_grad():
        m.features[0].weight[:5] = 0
        m.features[0].bias[:5] = 0.3                        # constant through pool into unpadded conv2
        m.head[1].weight[:, 16 * 3:16 * 10] = 0             # conv2 channels 3..9 feed nothing: out-dead
        m.head[3].weight[:, 100:] = 0                       # fc1 neurons 100.. feed nothing
    r = simplify(m, name="lenet5")
    assert r.channels == [15, 43, 100]
    _check(m, r.model, (1, 28, 28))


def test_rounding_to_multiples_keeps_outputs() -> None:
    torch.manual_seed(0)
    m = build("vgg16", **SMALL)
    _randomise_bn(m)
    _kill_half(m, seed=3)
    r = simplify(m, multiple_of=8, name="vgg16", config=SMALL)
    assert all(c % 8 == 0 for c in r.channels)
    assert r.channels == [8, 8, 8, 8, 16, 16, 16, 32, 32, 32, 32, 32, 32]
    _check(m, r.model, (3, 32, 32))


def test_not_a_chain_is_rejected() -> None:
    class Res(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(FlowError, match="layer 1: Res is not a supported zoo layer"):
        simplify(nn.Sequential(nn.Conv2d(1, 2, 3), Res(), nn.Conv2d(2, 2, 3)))
