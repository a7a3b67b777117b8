"""The layer walk: mapping table, grid invariants, widths per layer, bad layers."""

from __future__ import annotations

import brevitas.nn as qnn
import pytest
import torch
from .quant_helpers import randomize_bn
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.quant import QuantSpec, calibrate, quant_layer_info, quantize_model
from fpga_flow.quant.convert import fuse_conv_bn


def small_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 16), nn.ReLU(),
                      nn.Dropout(0.5), nn.Linear(16, 3)))


def kinds(q) -> list[str]:
    return [i.kind for i in quant_layer_info(q)]


def test_mapping_and_widths_per_layer():
    q = quantize_model(randomize_bn(small_net()), QuantSpec(wbits=3, abits=5, first_wbits=7, last_wbits=6))
    assert kinds(q) == ["QuantIdentity", "QuantConv2d", "QuantReLU", "MaxPool2d", "QuantConv2d",
                        "QuantReLU", "AdaptiveAvgPool2d", "Flatten", "QuantLinear", "QuantReLU",
                        "QuantLinear"]  # BN folded, Dropout removed
    info = {i.name: i for i in quant_layer_info(q)}
    assert [i.wbits for i in quant_layer_info(q) if i.wbits] == [7, 3, 3, 6]
    assert info["input_quant"].abits == 8 and info["input_quant"].signed
    assert [i.abits for i in quant_layer_info(q) if i.kind == "QuantReLU"] == [5, 5, 5]
    mods = dict(q.named_children())
    assert int(mods["0_0"].quant_weight().bit_width) == 7
    assert int(mods["1_5"].quant_weight().bit_width) == 6
    assert int(mods["0_2"].act_quant.bit_width()) == 5
    assert info["0_0"].source == "0.0+0.1" and info["1_2"].source == "1.2"  # BN 0.1 folded


def test_weights_copied_and_bn_folded_exactly():
    net = randomize_bn(small_net())
    q = quantize_model(net, QuantSpec())
    fused = fuse_conv_bn(net[0][0], net[0][1])
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(fused(x), net[0][1](net[0][0](x)), atol=1e-5)
    mods = dict(q.named_children())
    assert torch.equal(mods["0_0"].weight, fused.weight) and torch.equal(mods["0_0"].bias, fused.bias)
    assert torch.equal(mods["1_2"].weight, net[1][2].weight)
    assert torch.equal(mods["1_5"].bias, net[1][5].bias)


def test_quantized_model_tracks_float_at_8_bits():
    net = randomize_bn(small_net())
    q = quantize_model(net, QuantSpec.uniform(8, 8))
    x = torch.randn(16, 3, 8, 8)
    calibrate(q, [x])
    with torch.no_grad():
        ref, out = net(x), q(x)
    err = (out - ref).abs().max() / ref.abs().max()
    assert err < 0.05, err


def test_pool_before_relu_is_swapped_and_conv_conv_gets_a_quantizer():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.ReLU(),
                        nn.Conv2d(4, 4, 1), nn.Conv2d(4, 2, 1), nn.Upsample(scale_factor=2))
    q = quantize_model(net, QuantSpec())
    assert kinds(q) == ["QuantIdentity", "QuantConv2d", "QuantReLU", "MaxPool2d", "QuantConv2d",
                        "QuantIdentity", "QuantConv2d", "QuantIdentity", "Upsample"]
    x = torch.randn(2, 3, 10, 10)
    calibrate(q, [x])
    assert q(x).shape == net(x).shape


def test_relu_after_unsigned_quant_is_dropped_and_bn_can_be_kept():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.ReLU(),
                        nn.Conv2d(4, 2, 1))
    q = quantize_model(randomize_bn(net), QuantSpec(fuse_bn=False))
    assert kinds(q) == ["QuantIdentity", "QuantConv2d", "BatchNorm2d", "QuantReLU", "MaxPool2d",
                        "QuantConv2d"]
    assert isinstance(dict(q.named_children())["2"], qnn.QuantReLU)


def test_output_quantizer_and_per_channel_scales():
    q = quantize_model(small_net(), QuantSpec(out_bits=6, weight_scaling="channel"))
    info = quant_layer_info(q)
    assert info[-1].kind == "QuantIdentity" and info[-1].abits == 6
    scale = dict(q.named_children())["0_4"].quant_weight().scale
    assert scale.shape == (8, 1, 1, 1)


@pytest.mark.parametrize("layer, path, detail", [
    (nn.Sigmoid(), "0.2", "Sigmoid"),
    (nn.Upsample(scale_factor=2, mode="bilinear"), "0.2", "mode='bilinear'"),
    (nn.AdaptiveAvgPool2d(2), "0.2", "output_size=2"),
    (nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect"), "0.2", "padding_mode='reflect'"),
])
def test_unsupported_layer_names_its_path_and_the_supported_types(layer, path, detail):
    net = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), layer), nn.Flatten())
    with pytest.raises(FlowError) as err:
        quantize_model(net, QuantSpec())
    msg = str(err.value)
    assert f"layer '{path}'" in msg and detail in msg
    assert "supported: Conv2d, BatchNorm2d, ReLU, MaxPool2d" in msg


def test_non_sequential_and_empty_models_are_rejected():
    class Net(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(FlowError, match="not an nn.Sequential"):
        quantize_model(Net())
    with pytest.raises(FlowError, match="no Conv2d/Linear"):
        quantize_model(nn.Sequential(nn.ReLU()))
