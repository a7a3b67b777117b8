"""torch Datasets over an ISIC index, with resize / normalise transforms."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from fpga_flow.data.layouts import Index
from fpga_flow.errors import FlowError

log = logging.getLogger(__name__)

# ImageNet statistics: the usual choice for dermoscopy with ImageNet-style backbones.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _size2(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    h, w = image_size
    return int(h), int(w)


@dataclass(frozen=True)
class Transform:
    """Resize to ``(H, W)`` (bilinear image, nearest mask), scale to [0,1], normalise; optional flips."""

    size: tuple[int, int]
    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD
    flip: bool = False

    def load_image(self, path) -> Image.Image:
        with Image.open(path) as im:
            h, w = self.size
            im.draft("RGB", (w, h))  # JPEG: decode at the smallest scale still >= target size
            return im.convert("RGB").resize((w, h), Image.BILINEAR)

    def load_mask(self, path) -> Image.Image:
        with Image.open(path) as im:
            h, w = self.size
            return im.convert("L").resize((w, h), Image.NEAREST)

    def image_tensor(self, im: Image.Image) -> torch.Tensor:
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return ((x - mean) / std).contiguous()

    @staticmethod
    def mask_tensor(m: Image.Image) -> torch.Tensor:
        return torch.from_numpy((np.asarray(m) > 127).astype(np.int64))

    def flips(self) -> tuple[bool, bool]:
        if not self.flip:
            return False, False
        r = torch.rand(2)
        return bool(r[0] < 0.5), bool(r[1] < 0.5)


def denormalize(x: torch.Tensor, mean=MEAN, std=STD) -> torch.Tensor:
    """Undo the normalisation: (…,3,H,W) -> values in [0,1]."""
    m = torch.tensor(mean, dtype=x.dtype).view(3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(3, 1, 1)
    return x * s + m


class ISICDataset(Dataset):
    """Samples ``indices`` of an :class:`Index`.

    ``cls``: ``(float image (3,H,W), int label)``; ``seg``: ``(float image (3,H,W), long mask (H,W))``.
    A file that fails to decode here (after passing the index check) is skipped: the next
    readable sample is returned instead and ``skipped`` counts it.
    """

    def __init__(self, index: Index, indices: Sequence[int], transform: Transform):
        self.index = index
        self.indices = [int(i) for i in indices]
        self.transform = transform
        self.task = index.layout.task
        self.skipped: set[int] = set()

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.index.classes

    @property
    def labels(self) -> list[int]:
        return [self.index.labels[i] for i in self.indices] if self.task == "cls" else []

    def _load(self, i: int):
        t = self.transform
        im = t.load_image(self.index.images[i])
        hflip, vflip = t.flips()
        if self.task == "cls":
            if hflip:
                im = im.transpose(Image.FLIP_LEFT_RIGHT)
            if vflip:
                im = im.transpose(Image.FLIP_TOP_BOTTOM)
            return t.image_tensor(im), int(self.index.labels[i])
        m = t.load_mask(self.index.masks[i])
        if hflip:
            im, m = im.transpose(Image.FLIP_LEFT_RIGHT), m.transpose(Image.FLIP_LEFT_RIGHT)
        if vflip:
            im, m = im.transpose(Image.FLIP_TOP_BOTTOM), m.transpose(Image.FLIP_TOP_BOTTOM)
        return t.image_tensor(im), t.mask_tensor(m)

    def __getitem__(self, k: int):
        n = len(self.indices)
        for step in range(n):
            pos = (k + step) % n
            if pos in self.skipped:
                continue
            i = self.indices[pos]
            try:
                return self._load(i)
            except Exception as err:  # corrupt file discovered late: skip, count, go on
                self.skipped.add(pos)
                log.warning("skipping unreadable %s (%s); %d skipped so far", self.index.images[i], err, len(self.skipped))
        raise FlowError(f"{self.index.root}: no readable sample left in this split")
