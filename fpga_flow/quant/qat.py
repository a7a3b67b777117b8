"""Calibration of activation scales and a small QAT fine-tuning loop, with metrics.

``fpga_flow.models`` owns the float training loop; QAT only needs a few epochs of plain
cross-entropy fine-tuning, kept here so that quantization does not depend on its options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fpga_flow.errors import FlowError

Task = str  # "cls" (image -> label) or "seg" (image -> per-pixel label map)


def _inputs(batches: Iterable) -> Iterable[torch.Tensor]:
    for b in batches:
        yield b[0] if isinstance(b, (tuple, list)) else b


def calibrate(qmodel: nn.Module, batches: Iterable, max_batches: int = 8) -> nn.Module:
    """Set every activation scale from statistics of ``batches`` (tensors or (x, y) pairs)."""
    from brevitas.graph.calibrate import calibration_mode

    qmodel.eval()
    n = 0
    with torch.no_grad(), calibration_mode(qmodel):
        for x in _inputs(batches):
            qmodel(x)
            n += 1
            if n >= max_batches:
                break
    if n == 0:
        raise FlowError("calibration got no batches")
    return qmodel.eval()


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, task: Task) -> dict[str, float]:
    """``balanced_accuracy``/``accuracy`` (cls) or lesion ``iou``, ``miou``, ``pixel_accuracy``
    (seg), as fractions, with ``fpga_flow.data.metrics``."""
    model.eval()
    ys, ps, ncls = [], [], 0
    for x, y in loader:
        out = model(x)
        ncls = max(ncls, out.shape[1])
        ps.append(out.argmax(1).cpu().numpy().ravel())
        ys.append(np.asarray(y).ravel())
    if not ys:
        raise FlowError("evaluation loader is empty")
    from fpga_flow.data import metrics

    y, p = np.concatenate(ys), np.concatenate(ps)
    if task == "cls":
        return {"balanced_accuracy": metrics.balanced_accuracy(y, p, ncls),
                "accuracy": metrics.accuracy(y, p)}
    if task == "seg":
        return {"iou": metrics.iou(p, y, positive=1), "miou": metrics.mean_iou(p, y, ncls),
                "pixel_accuracy": metrics.accuracy(y, p)}
    raise FlowError(f"unknown task {task!r} (cls or seg)")


@dataclass
class QATConfig:
    epochs: int = 3
    lr: float = 1e-4
    weight_decay: float = 0.0
    seed: int = 0


def train_qat(qmodel: nn.Module, train_loader: Iterable, cfg: QATConfig | None = None,
              log: Callable[[str], None] | None = None) -> nn.Module:
    """Fine-tune ``qmodel`` (already calibrated) with Adam + cross-entropy (cls or seg)."""
    cfg = cfg or QATConfig()
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(qmodel.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(cfg.epochs):
        qmodel.train()
        total, n = 0.0, 0
        for x, y in train_loader:
            opt.zero_grad()
            loss = loss_fn(qmodel(x), y)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(x)
            n += len(x)
        sched.step()
        if log:
            log(f"qat epoch {epoch + 1}/{cfg.epochs}: loss {total / max(n, 1):.4f}")
    return qmodel.eval()
