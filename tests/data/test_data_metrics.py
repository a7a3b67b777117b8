"""Metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fpga_flow.data import metrics
from fpga_flow.errors import FlowError


def test_confusion_matrix_and_balanced_accuracy():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 1, 0]
    cm = metrics.confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    # recalls 2/3, 2/2, 0/1 -> mean 5/9; plain accuracy 4/6
    assert metrics.balanced_accuracy(y_true, y_pred) == pytest.approx(5 / 9)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    # a class absent from y_true (like ISIC 2019's UNK) does not count
    assert metrics.balanced_accuracy(y_true, y_pred, num_classes=9) == pytest.approx(5 / 9)
    assert metrics.confusion_matrix(torch.tensor(y_true), torch.tensor(y_pred), 4).shape == (4, 4)
    assert metrics.balanced_accuracy([1, 1, 1, 0], [1, 1, 1, 1]) == pytest.approx(0.5)  # 1.0 and 0.0


def test_classification_errors():
    with pytest.raises(FlowError, match="labels outside"):
        metrics.confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(FlowError, match="2 labels vs 3 predictions"):
        metrics.confusion_matrix([0, 1], [0, 1, 1])
    with pytest.raises(FlowError, match="no samples"):
        metrics.balanced_accuracy([], [])


def test_iou_dice_hand_computed():
    pred = np.array([[1, 1, 0], [0, 1, 0]])
    target = np.array([[1, 0, 0], [0, 1, 1]])
    # |P∩T| = 2, |P| = 3, |T| = 3, |P∪T| = 4
    assert metrics.iou(pred, target) == pytest.approx(0.5)
    assert metrics.dice(pred, target) == pytest.approx(4 / 6)
    # background class: P0 = 3 px, T0 = 3 px, ∩ = 2 -> 2/4
    assert metrics.iou(pred, target, positive=0) == pytest.approx(0.5)
    assert metrics.mean_iou(pred, target, 2) == pytest.approx(0.5)
    z = np.zeros((2, 2), int)
    assert metrics.iou(z, z) == 1.0 and metrics.dice(z, z) == 1.0
    assert metrics.iou(z, 1 - z) == 0.0 and metrics.dice(z, 1 - z) == 0.0


def test_iou_global_vs_per_image():
    pred = torch.tensor([[[1, 1], [1, 1]], [[0, 0], [0, 1]]])
    target = torch.tensor([[[1, 1], [0, 0]], [[0, 0], [0, 1]]])
    # global: ∩ = 3, ∪ = 5; per image: 2/4 and 1/1
    assert metrics.iou(pred, target) == pytest.approx(3 / 5)
    assert metrics.iou(pred, target, per_image=True) == pytest.approx((0.5 + 1.0) / 2)
    # dice global: 2*3/(5+3); per image: 2*2/(4+2) and 1
    assert metrics.dice(pred, target) == pytest.approx(6 / 8)
    assert metrics.dice(pred, target, per_image=True) == pytest.approx((4 / 6 + 1) / 2)
    with pytest.raises(FlowError, match="shape"):
        metrics.iou(pred, target[0])
