"""Model zoo: registry, topologies, allowed layers, pruned names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models import build, hidden_widths, known_models
from fpga_flow.models.registry import measured_plan

ALLOWED = (nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Upsample, nn.AdaptiveAvgPool2d,
           nn.Flatten, nn.Linear, nn.Dropout)
SMALL = dict(width=1 / 16, in_size=32)


def setup_module() -> None:
    torch.set_num_threads(1)


def test_known_models() -> None:
    assert known_models() == ["lenet5", "mobilenet-v1", "mobilenet-v1-pruned", "resnet18", "resnet18-pruned",
                              "segnet", "segnet-pruned", "unet", "unet-pruned", "vgg16", "vgg16-ha", "vgg16-hcr",
                              "vgg16-pruned", "vgg16-quantized"]


def test_unknown_name_lists_known() -> None:
    with pytest.raises(FlowError, match="unknown model 'resnet50'.*lenet5.*segnet.*vgg16-pruned"):
        build("resnet50")


@pytest.mark.parametrize("name", ["vgg16", "segnet", "lenet5", "vgg16-pruned", "segnet-pruned"])
def test_only_allowed_layers(name: str) -> None:
    m = build(name, **({} if name == "lenet5" else SMALL))
    bad = [type(x).__name__ for x in m.modules() if not isinstance(x, ALLOWED)]
    assert bad == []
    for up in (x for x in m.modules() if isinstance(x, nn.Upsample)):
        assert up.mode == "nearest" and up.scale_factor == 2


def test_vgg16_topology() -> None:
    m = build("vgg16")
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]
    assert len(convs) == 13 and all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert sum(isinstance(x, nn.MaxPool2d) for x in m.modules()) == 5
    assert sum(isinstance(x, nn.BatchNorm2d) for x in m.modules()) == 13
    assert [c.out_channels for c in convs][-1] == 512
    lin = [x for x in m.modules() if isinstance(x, nn.Linear)]
    assert [(x.in_features, x.out_features) for x in lin] == [(512, 8)]
    small = build("vgg16", **SMALL, hidden=32, bn=False)
    assert small(torch.randn(2, 3, 32, 32)).shape == (2, 8)
    assert hidden_widths(small) == [4, 4, 8, 8, 16, 16, 16, 32, 32, 32, 32, 32, 32, 32]


def test_segnet_topology_and_output() -> None:
    m = build("segnet", **SMALL)
    assert sum(isinstance(x, nn.Conv2d) for x in m.modules()) == 26
    assert sum(isinstance(x, nn.Upsample) for x in m.modules()) == 5
    y = m(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 2, 32, 32)


def test_lenet5_seed_topology() -> None:
    m = build("lenet5")
    assert hidden_widths(m) == [20, 50, 500]
    assert sum(p.numel() for p in m.parameters()) == 431080  # Caffe LeNet-5 of the seed's Table 1
    assert m(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_channels_override_and_errors() -> None:
    m = build("lenet5", channels=[11, 26, 113])
    assert hidden_widths(m) == [11, 26, 113]
    with pytest.raises(FlowError, match="lenet5.*3 positive widths"):
        build("lenet5", channels=[11, 26])
    with pytest.raises(FlowError, match="in_size must be a positive multiple of 32"):
        build("vgg16", in_size=40)
    with pytest.raises(FlowError, match="bad configuration"):
        build("vgg16", colour="red")


def test_pruned_name_nominal_plan_without_checkpoint(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path))
    # full width: the channel plan measured by a SeReNe run (models/plans/vgg16-pruned.json)
    m = build("vgg16-pruned", in_size=32)
    w = hidden_widths(m)
    plan = measured_plan("vgg16-pruned")
    assert w == plan["channels"] == [16, 16, 16, 24, 24, 16, 64, 120, 128, 152, 112, 128, 136]
    assert plan["base_widths"] == hidden_widths(build("vgg16", in_size=32))
    assert all(c % 8 == 0 for c in w)
    # other widths (no measured plan): base widths x nominal_keep, rounded up to multiples of 8
    assert hidden_widths(build("vgg16-pruned", in_size=32, width=0.5)) == [16, 16, 32, 32, 64, 64, 64,
                                                                           128, 128, 128, 128, 128, 128]
    assert measured_plan("segnet-pruned") is None
