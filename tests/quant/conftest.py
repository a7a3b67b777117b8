"""Shared fixtures of the quantization tests: one torch thread (the machine has 2 cores)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="fast_hadamard_transform")
sys.path.insert(0, str(Path(__file__).parent))


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BatchNorm statistics, so that BN folding is actually exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
    return model.eval()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
