"""Quantization tests: one torch thread (the machine has 2 cores), helpers importable."""

from __future__ import annotations

import warnings

import pytest
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="fast_hadamard_transform")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
