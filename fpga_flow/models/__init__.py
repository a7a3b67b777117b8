"""Model zoo (vgg16, segnet, lenet5, *-pruned), checkpoints and the training loop.

Names load on first use (PEP 562): the CLI imports this package to list and check model names, which
must not cost torch's import (~2 s) on `fpga-flow --help` or a usage error.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "MODELS": "registry", "PruneRecipe": "registry", "build": "registry", "default_checkpoint": "registry",
    "hidden_widths": "registry", "known_models": "registry", "spec": "registry",
}

__all__ = [
    "MODELS", "PruneRecipe", "build", "default_checkpoint", "hidden_widths", "known_models",
    "load_checkpoint", "save_checkpoint", "spec",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"fpga_flow.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fpga_flow.models' has no attribute {name!r}")
