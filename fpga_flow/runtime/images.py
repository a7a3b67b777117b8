"""Input checks shared by every backend: a batch of float NCHW images of the size the model expects.

Wrong spatial size -> resized (bilinear, numpy only so it runs on a board) with a warning, or
rejected with the expected shape; wrong channel count -> rejected with the expected shape.
"""

from __future__ import annotations

import warnings

import numpy as np

from fpga_flow.errors import FlowError


class InputResized(UserWarning):
    """An input image was resized to the accelerator's input size."""


def _resize_bilinear(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """(C, H, W) -> (C, h, w), align_corners=False like torch/PIL."""
    c, H, W = img.shape
    ys = np.clip((np.arange(h) + 0.5) * H / h - 0.5, 0, H - 1)
    xs = np.clip((np.arange(w) + 0.5) * W / w - 0.5, 0, W - 1)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, H - 1)
    x1 = np.minimum(x0 + 1, W - 1)
    wy = (ys - y0)[None, :, None]
    wx = (xs - x0)[None, None, :]
    a = img[:, y0][:, :, x0]
    b = img[:, y0][:, :, x1]
    cc = img[:, y1][:, :, x0]
    d = img[:, y1][:, :, x1]
    return (a * (1 - wx) + b * wx) * (1 - wy) + (cc * (1 - wx) + d * wx) * wy


def prepare_images(images, channels: int, hw: tuple[int, int] | None, *, resize: bool = True) -> np.ndarray:
    """Return float32 (N, C, H, W); a single (C, H, W) image becomes a batch of one."""
    x = np.asarray(images.detach().cpu().numpy() if hasattr(images, "detach") else images, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    expected = f"(N, {channels}, {hw[0]}, {hw[1]})" if hw else f"(N, {channels}, H, W)"
    if x.ndim != 4:
        raise FlowError(f"input of shape {tuple(x.shape)}: expected float images {expected} (NCHW)")
    if x.shape[1] != channels:
        raise FlowError(f"input of shape {tuple(x.shape)} has {x.shape[1]} channels: expected {expected}")
    if hw is not None and tuple(x.shape[2:]) != tuple(hw):
        if not resize:
            raise FlowError(f"input of shape {tuple(x.shape)}: expected {expected} (pass resize=True to resize)")
        warnings.warn(f"input {tuple(x.shape[2:])} resized to {tuple(hw)}", InputResized, stacklevel=3)
        x = np.stack([_resize_bilinear(img, hw[0], hw[1]) for img in x]).astype(np.float32)
    return x
