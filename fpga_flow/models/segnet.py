"""SegNet for ISIC lesion segmentation: VGG16 encoder, nearest-x2-upsampling decoder (no MaxUnpool)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from fpga_flow.models.vgg import VGG16_CFG, check_size, make_stack, resolve_channels

# Decoder mirrors the encoder: "U" = nearest x2 upsample, ints = 3x3 conv widths.
SEGNET_DECODER: tuple[int | str, ...] = (
    "U", 512, 512, 512, "U", 512, 512, 256, "U", 256, 256, 128, "U", 128, 64, "U", 64,
)


def segnet(
    num_classes: int = 2,
    in_size: int = 224,
    width: float = 1.0,
    channels: list[int] | None = None,
    bn: bool = True,
    in_channels: int = 3,
) -> nn.Sequential:
    """encoder (13 convs, 5 pools) -> decoder (5 upsamples, 12 convs) -> 3x3 conv to ``num_classes``.

    ``channels`` lists the 25 hidden conv widths (13 encoder then 12 decoder). Output: (N, classes, H, W).
    """
    check_size("segnet", in_size, 32)
    enc = [c for c in VGG16_CFG if isinstance(c, int)]
    dec = [c for c in SEGNET_DECODER if isinstance(c, int)]
    widths = resolve_channels("segnet", enc + dec, width, channels)
    encoder, c = make_stack(list(VGG16_CFG), widths[: len(enc)], in_channels, bn)
    decoder, c = make_stack(list(SEGNET_DECODER), widths[len(enc):], c, bn)
    model = nn.Sequential(
        OrderedDict(encoder=encoder, decoder=decoder, classifier=nn.Conv2d(c, num_classes, 3, padding=1))
    )
    model.input_shape = (in_channels, in_size, in_size)
    return model
