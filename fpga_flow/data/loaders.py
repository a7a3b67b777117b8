"""`get_loaders`: index an ISIC root, split it, wrap each split in a DataLoader."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader

from fpga_flow.data.dataset import ISICDataset, Transform, _size2
from fpga_flow.data.layouts import index_dataset, resolve_root
from fpga_flow.data.splits import SPLITS, split_index
from fpga_flow.errors import FlowError

log = logging.getLogger(__name__)


def get_datasets(
    root: str | os.PathLike | None,
    task: str,
    image_size: int | Sequence[int] = 64,
    seed: int = 0,
    *,
    layout: str | None = None,
    val_frac: float = 0.15,
    test_frac: float = 0.15,
    augment: bool = False,
    check: bool = True,
    strict_masks: bool = False,
) -> dict[str, ISICDataset]:
    """{"train","val","test"} Datasets. ``augment`` adds random flips to train only."""
    index = index_dataset(resolve_root(root), task, layout, check=check, strict_masks=strict_masks)
    if index.skipped:
        log.warning("%s: skipped %d unreadable file(s), e.g. %s (%s)", index.root, len(index.skipped), *index.skipped[0])
    parts = split_index(index, seed, val_frac, test_frac)
    size = _size2(image_size)
    out = {}
    for s in SPLITS:
        if len(parts[s]) == 0 and s == "train":
            raise FlowError(f"{index.root}: no training samples after the split")
        out[s] = ISICDataset(index, parts[s], Transform(size, flip=augment and s == "train"))
    return out


def get_loaders(
    root: str | os.PathLike | None,
    task: str,
    image_size: int | Sequence[int] = 64,
    batch_size: int = 32,
    seed: int = 0,
    *,
    layout: str | None = None,
    num_workers: int = 0,
    val_frac: float = 0.15,
    test_frac: float = 0.15,
    augment: bool = False,
    check: bool = True,
    strict_masks: bool = False,
) -> dict[str, DataLoader]:
    """{"train","val","test": DataLoader}; train shuffled with a generator seeded by ``seed``.

    Batches: ``(float (B,3,H,W), long (B,))`` for cls, ``(float (B,3,H,W), long (B,H,W))`` for seg.
    ``root`` None -> ``$ISIC_ROOT``. ``loaders["train"].dataset.index.skipped`` lists skipped files.
    """
    if batch_size < 1:
        raise FlowError(f"batch_size must be >= 1, got {batch_size}")
    ds = get_datasets(root, task, image_size, seed, layout=layout, val_frac=val_frac,
                      test_frac=test_frac, augment=augment, check=check, strict_masks=strict_masks)
    gen = torch.Generator().manual_seed(seed)
    return {
        s: DataLoader(d, batch_size=batch_size, shuffle=(s == "train"), num_workers=num_workers,
                      generator=gen if s == "train" else None, drop_last=False)
        for s, d in ds.items()
    }
