"""A trained network moved to the design's input size; datasets too small for their split."""

from __future__ import annotations

import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.models import build
from fpga_flow.models.resize import at_input_size
from fpga_flow.models.train import check_splits


def test_weights_move_to_another_input_size_unchanged() -> None:
    torch.manual_seed(0)
    cfg = {"in_size": 32, "width": 1 / 16, "channels": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], "bn": False}
    small = build("vgg16-hcr", **cfg).eval()
    big, big_cfg = at_input_size(small, "vgg16", cfg, 64)
    assert big.input_shape == (3, 64, 64) and big_cfg["in_size"] == 64
    x = torch.randn(2, 3, 64, 64)
    # the same function: no parameter depends on the input size (global average pool)
    torch.testing.assert_close(big(x), small(x), rtol=0, atol=0)
    seg = build("segnet", in_size=32, width=1 / 16).eval()
    seg64, _ = at_input_size(seg, "segnet", {"in_size": 32, "width": 1 / 16}, 64)
    assert seg64(torch.randn(1, 3, 64, 64)).shape == (1, 2, 64, 64)


def test_dataset_too_small_for_its_split_names_it(tmp_path) -> None:
    from fpga_flow.data import get_loaders, synth

    synth.generate(tmp_path / "tiny", "seg", n=2, seed=0, size=32)
    loaders = get_loaders(tmp_path / "tiny", "seg", image_size=32)
    with pytest.raises(FlowError, match=r"tiny: 2 images are too few for the train/val/test split "
                                        r"\(train \d, val \d, test \d\): .*would be empty"):
        check_splits(loaders)
