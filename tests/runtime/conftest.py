"""Fixtures for the runtime tests: a tiny float model, its ONNX export and an io.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch


def tiny_cls(k: int = 4) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, k)).eval()


def tiny_seg(k: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(4, k, 1)).eval()


def io_dict(task: str = "cls", hw: int = 8, k: int = 4, in_dt: str = "INT8", out_dt: str = "INT16",
            in_scale: float = 1 / 32, out_scale: float = 0.01, label: bool = False) -> dict:
    out_shape = [1, 1, 1, k] if task == "cls" else [1, hw, hw, 1 if label else k]
    return {"task": task, "clock_mhz": 100.0,
            "input": {"shape": [1, hw, hw, 3], "folded_shape": [1, hw, hw, 1, 3], "datatype": in_dt,
                      "scale": in_scale, "bias": 0.0},
            "output": {"shape": out_shape, "folded_shape": out_shape[:-1] + [1, out_shape[-1]],
                       "datatype": "UINT1" if label else out_dt, "scale": out_scale, "bias": 0.0, "is_label": label}}


@pytest.fixture
def cls_build(tmp_path):
    """A build folder with io.json, model.onnx of a tiny classifier."""
    from fpga_flow.runtime.backends.cpu import export_onnx

    model = tiny_cls()
    (tmp_path / "io.json").write_text(json.dumps(io_dict("cls")))
    export_onnx(model, tmp_path / "model.onnx", (1, 3, 8, 8))
    return tmp_path, model


def rand_images(n: int, hw: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, hw, hw)).astype(np.float32)
