"""ISIC datasets: layouts, loaders, synthetic dermoscopy generator, metrics.

``get_loaders`` / ``get_datasets`` import torch; ``synth``, ``metrics`` and ``layouts`` do not.
"""

from __future__ import annotations

from fpga_flow.data import metrics, synth
from fpga_flow.data.layouts import LAYOUTS, Index, detect_layout, index_dataset, resolve_root
from fpga_flow.data.splits import grouped_split, split_index, stratified_split


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
