"""QAT recovers the float accuracy on a small deterministic task; the QAT model still exports."""

from __future__ import annotations

import torch
from .quant_helpers import loaders
from torch import nn

from fpga_flow.quant import (QATConfig, QuantSpec, calibrate, evaluate, export_qonnx_clean,
                             integer_grid_report, load_qonnx, max_abs_diff, quantize_model,
                             train_qat)


def float_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4)))


def train_float(net, train, epochs=20):
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(epochs):
        net.train()
        for x, y in train:
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    return net.eval()


def test_qat_recovers_float_accuracy_within_one_point(tmp_path):
    torch.manual_seed(0)
    train, test = loaders()
    net = train_float(float_net(), train)
    float_acc = evaluate(net, test, "cls")["balanced_accuracy"]
    assert float_acc > 0.95  # the task is learnable

    q = quantize_model(net, QuantSpec(wbits=2, abits=2, weight_scaling="channel"))
    calibrate(q, train)
    ptq_acc = evaluate(q, test, "cls")["balanced_accuracy"]
    train_qat(q, train, QATConfig(epochs=10, lr=3e-3))
    qat_acc = evaluate(q, test, "cls")["balanced_accuracy"]
    print(f"float {float_acc:.4f}  W2A2 calibrated {ptq_acc:.4f}  W2A2 QAT {qat_acc:.4f}")
    assert ptq_acc < float_acc  # 2-bit activations cost accuracy before QAT (0.9785 -> 0.8672) ...
    assert qat_acc > ptq_acc and qat_acc >= float_acc - 0.01  # ... QAT wins it back within 1 point

    model = load_qonnx(export_qonnx_clean(q, (1, 1, 16, 16), tmp_path / "m.onnx"))
    x = next(iter(test))[0][:4]
    assert max_abs_diff(q, model, x) <= 1e-5
    assert all(r["ok"] for r in integer_grid_report(model, x[:1].numpy()))
