"""LeNet-5 (Caffe variant used by SeReNe's Table 1): conv(20,5x5)-pool-conv(50,5x5)-pool-fc(500)-fc(10)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.vgg import resolve_channels

LENET5_WIDTHS = (20, 50, 500)


def lenet5(
    num_classes: int = 10,
    in_size: int = 28,
    width: float = 1.0,
    channels: list[int] | None = None,
    bn: bool = False,
    in_channels: int = 1,
) -> nn.Sequential:
    """``channels`` = [conv1, conv2, fc1] widths (seed: [20, 50, 500]); 28x28 input by default."""
    side = ((in_size - 4) // 2 - 4) // 2
    if in_size < 12 or side < 1:
        raise FlowError(f"model lenet5: in_size must be >= 12 for two 5x5 conv + pool stages, got {in_size}")
    c1, c2, f1 = resolve_channels("lenet5", list(LENET5_WIDTHS), width, channels)

    def conv(cin: int, cout: int) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 5, bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        return layers + [nn.ReLU(inplace=False), nn.MaxPool2d(2, 2)]

    features = nn.Sequential(*conv(in_channels, c1), *conv(c1, c2))
    head = nn.Sequential(
        nn.Flatten(), nn.Linear(c2 * side * side, f1), nn.ReLU(inplace=False), nn.Linear(f1, num_classes)
    )
    model = nn.Sequential(OrderedDict(features=features, head=head))
    model.input_shape = (in_channels, in_size, in_size)
    return model
