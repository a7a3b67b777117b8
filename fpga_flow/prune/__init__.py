"""Structured pruning: SeReNe sensitivity regularisation, magnitude / LOBSTER baselines, simplify
(BN fusion, bias propagation, dead-channel removal), hardware-aware rounding, Table-1 reports.

Names load on first use (PEP 562) so that importing the package (the CLI does) does not import torch.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "METHODS": "loop", "PruneConfig": "loop", "PruneResult": "loop", "candidate": "loop", "prune": "loop",
    "Masks": "masks", "channel_norms": "masks", "nonzero_params": "masks",
    "PruneReport": "report", "build_report": "report", "layer_macs": "report", "table1_markdown": "report",
    "round_count": "rounding", "round_mask": "rounding",
    "neuron_sensitivity": "sensitivity", "normalise": "sensitivity",
    "SimplifyResult": "simplify", "fuse_bn": "simplify", "simplify": "simplify",
}

__all__ = [
    "METHODS", "Masks", "PruneConfig", "PruneReport", "PruneResult", "SimplifyResult", "build_report",
    "candidate", "channel_norms", "fuse_bn", "layer_macs", "neuron_sensitivity", "nonzero_params", "normalise",
    "prune", "round_count", "round_mask", "simplify", "table1_markdown",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"fpga_flow.prune.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fpga_flow.prune' has no attribute {name!r}")
