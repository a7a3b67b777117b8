"""ISIC datasets: layouts, loaders, synthetic dermoscopy generator, metrics.

``get_loaders`` / ``get_datasets`` import torch; ``synth``, ``metrics`` and ``layouts`` do not. Every name
loads on first use (PEP 562): the CLI imports this package, and its --help should not wait for numpy/PIL.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "LAYOUTS": "layouts", "Index": "layouts", "detect_layout": "layouts", "index_dataset": "layouts",
    "resolve_root": "layouts",
    "grouped_split": "splits", "split_index": "splits", "stratified_split": "splits",
}
_SUBMODULES = ("metrics", "synth")


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"fpga_flow.data.{_LAZY[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"fpga_flow.data.{name}")
    raise AttributeError(f"module 'fpga_flow.data' has no attribute {name!r}")


def get_loaders(*args, **kwargs):
    """See :func:`fpga_flow.data.loaders.get_loaders`."""
    from fpga_flow.data.loaders import get_loaders as _get_loaders

    return _get_loaders(*args, **kwargs)


def get_datasets(*args, **kwargs):
    """See :func:`fpga_flow.data.loaders.get_datasets`."""
    from fpga_flow.data.loaders import get_datasets as _get_datasets

    return _get_datasets(*args, **kwargs)


__all__ = ["LAYOUTS", "Index", "detect_layout", "get_datasets", "get_loaders", "grouped_split", "index_dataset",
           "metrics", "resolve_root", "split_index", "stratified_split", "synth"]
