"""Hardware-aware rounding of kept channel counts."""

from __future__ import annotations

import torch

from fpga_flow.prune.rounding import round_count, round_mask


def test_round_count_modes() -> None:
    assert [round_count(k, 8, 64) for k in (1, 8, 9, 17, 60)] == [8, 8, 16, 24, 64]
    assert round_count(13, 8, 64, "down") == 8 and round_count(3, 8, 64, "down") == 8
    assert round_count(11, 8, 64, "nearest") == 8 and round_count(12, 8, 64, "nearest") == 16
    assert round_count(5, 8, 6) == 6      # never more than the layer has
    assert round_count(5, 1, 6) == 5


def test_round_mask_readmits_most_important() -> None:
    keep = torch.tensor([True, False, False, True, False, False, False, False, True, False])
    imp = torch.tensor([0.9, 0.1, 0.5, 0.8, 0.3, 0.7, 0.0, 0.2, 0.4, 0.6])
    out = round_mask(keep, imp, 4)
    assert out.sum() == 4
    assert out.tolist() == [True, False, False, True, False, True, False, False, True, False]  # + ch 5 (0.7)


def test_round_mask_down_drops_least_important_kept() -> None:
    keep = torch.tensor([True, True, True, True, True, False])
    imp = torch.tensor([0.5, 0.1, 0.9, 0.4, 0.8, 1.0])
    out = round_mask(keep, imp, 4, mode="down")
    assert out.tolist() == [True, False, True, True, True, False]


def test_round_mask_respects_alive() -> None:
    keep = torch.tensor([True, False, False, False])
    alive = torch.tensor([True, False, True, False])
    out = round_mask(keep, torch.tensor([1.0, 5.0, 0.1, 4.0]), 2, alive=alive)
    assert out.tolist() == [True, False, True, False]
