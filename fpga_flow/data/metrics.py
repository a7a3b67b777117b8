"""Metrics: balanced accuracy and confusion matrix (classification), IoU and Dice (segmentation).

Inputs may be numpy arrays, torch tensors or lists of integer labels.
"""

from __future__ import annotations

import numpy as np

from fpga_flow.errors import FlowError


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``cm[t, p]`` = number of samples of true class t predicted as p (int64, K×K)."""
    t = _np(y_true).astype(np.int64).ravel()
    p = _np(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise FlowError(f"confusion_matrix: {t.size} labels vs {p.size} predictions")
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise FlowError(f"confusion_matrix: labels outside [0, {num_classes})")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_recall(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Recall per class; NaN for classes absent from ``y_true``."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def balanced_accuracy(y_true, y_pred, num_classes: int | None = None) -> float:
    """Mean recall over the classes present in ``y_true`` (the ISIC 2019 challenge metric)."""
    if _np(y_true).size == 0:
        raise FlowError("balanced_accuracy: no samples")
    return float(np.nanmean(per_class_recall(y_true, y_pred, num_classes)))


def accuracy(y_true, y_pred) -> float:
    t, p = _np(y_true).ravel(), _np(y_pred).ravel()
    if t.size == 0:
        raise FlowError("accuracy: no samples")
    return float((t == p).mean())


def _inter_sizes(pred, target, positive: int, per_image: bool):
    p = _np(pred) == positive
    t = _np(target) == positive
    if p.shape != t.shape:
        raise FlowError(f"segmentation metric: prediction shape {p.shape} != target shape {t.shape}")
    if per_image:
        if p.ndim < 3:
            p, t = p[None], t[None]
        axes = tuple(range(1, p.ndim))
        return (p & t).sum(axes), p.sum(axes), t.sum(axes)
    return np.array([(p & t).sum()]), np.array([p.sum()]), np.array([t.sum()])


def iou(pred, target, positive: int = 1, per_image: bool = False) -> float:
    """Jaccard index |P∩T| / |P∪T| of class ``positive`` over all pixels (1.0 when both empty).

    ``per_image``: mean of the per-image scores over the leading axis (N,H,W) instead.
    """
    inter, ps, ts = _inter_sizes(pred, target, positive, per_image)
    union = ps + ts - inter
    scores = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return float(scores.mean())


def dice(pred, target, positive: int = 1, per_image: bool = False) -> float:
    """Dice 2|P∩T| / (|P|+|T|) of class ``positive`` (1.0 when both empty)."""
    inter, ps, ts = _inter_sizes(pred, target, positive, per_image)
    denom = ps + ts
    scores = np.where(denom > 0, 2 * inter / np.maximum(denom, 1), 1.0)
    return float(scores.mean())


def mean_iou(pred, target, num_classes: int) -> float:
    """Mean over classes of the per-class IoU (classes absent from both are left out)."""
    vals = []
    p, t = _np(pred), _np(target)
    for c in range(num_classes):
        if (p == c).any() or (t == c).any():
            vals.append(iou(p, t, positive=c))
    if not vals:
        raise FlowError("mean_iou: no pixels")
    return float(np.mean(vals))
