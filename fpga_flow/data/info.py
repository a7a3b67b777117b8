"""Dataset summary: counts per class and split (what `fpga-flow data info` prints)."""

from __future__ import annotations

import os

import numpy as np

from fpga_flow.data.layouts import index_dataset, resolve_root
from fpga_flow.data.splits import SPLITS, split_index


def dataset_info(root: str | os.PathLike | None, task: str | None = None, seed: int = 0,
                 val_frac: float = 0.15, test_frac: float = 0.15, layout: str | None = None) -> dict:
    """Index ``root`` (every task found when ``task`` is None) and count samples per class/split."""
    from fpga_flow.errors import FlowError

    root = resolve_root(root)
    if not root.is_dir():
        raise FlowError(f"{root}: dataset root is not a directory")
    tasks = [task] if task else ["cls", "seg"]
    out, errors = {}, []
    for t in tasks:
        try:
            idx = index_dataset(root, t, layout if task else None)
        except FlowError as err:
            errors.append(str(err))
            continue
        labels = idx.labels if t == "cls" else [0] * len(idx)
        parts = split_index(idx, seed, val_frac, test_frac)
        y = np.asarray(labels)
        names = idx.classes if t == "cls" else ("images",)
        table = {s: {names[c]: int((y[parts[s]] == c).sum()) for c in range(len(names))} for s in SPLITS}
        out[t] = {"layout": idx.layout.name, "root": str(idx.root), "n": len(idx),
                  "skipped": [f"{p.name}: {why}" for p, why in idx.skipped], "splits": table}
    if not out:
        raise FlowError(errors[0] if len(errors) == 1 else f"{root}: no ISIC dataset found ({'; '.join(errors)})")
    return out
