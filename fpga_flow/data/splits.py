"""Stratified, seeded train/val/test splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fpga_flow.errors import FlowError

SPLITS = ("train", "val", "test")


def stratified_split(
    labels: Sequence[int], seed: int, val_frac: float = 0.15, test_frac: float = 0.15
) -> dict[str, np.ndarray]:
    """Indices per split, stratified by ``labels`` (one label per sample; seg uses a constant).

    Per class, ``round(n·frac)`` samples go to val and test; a class with at least 3 samples
    has at least one sample in each split. Same labels + seed -> same split; indices sorted.
    """
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise FlowError(f"split fractions val={val_frac} test={test_frac} must be in [0,1) with sum < 1")
    y = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        n = len(idx)
        n_val = int(round(n * val_frac))
        n_test = int(round(n * test_frac))
        if n >= 3:
            n_val = max(n_val, 1 if val_frac > 0 else 0)
            n_test = max(n_test, 1 if test_frac > 0 else 0)
        while n_val + n_test >= n and n_val + n_test > 0:  # keep at least one for training
            if n_test >= n_val and n_test > 0:
                n_test -= 1
            else:
                n_val -= 1
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val : n_val + n_test])
        parts["train"].append(idx[n_val + n_test :])
    return {s: np.sort(np.concatenate(parts[s])) if parts[s] else np.zeros(0, np.int64) for s in SPLITS}


def grouped_split(groups: Sequence[str], labels: Sequence[int], seed: int, val_frac: float = 0.15,
                  test_frac: float = 0.15) -> dict[str, np.ndarray]:
    """Like :func:`stratified_split`, over groups (e.g. lesions): every sample of a group lands in
    the same split; groups are stratified by the label of their first sample."""
    first: dict[str, int] = {}
    for g, y in zip(groups, labels):
        first.setdefault(g, int(y))
    names = list(first)
    parts = stratified_split([first[g] for g in names], seed, val_frac, test_frac)
    where = {names[i]: s for s in SPLITS for i in parts[s]}
    out = {s: [] for s in SPLITS}
    for i, g in enumerate(groups):
        out[where[g]].append(i)
    return {s: np.asarray(v, dtype=np.int64) for s, v in out.items()}


def split_index(index, seed: int, val_frac: float = 0.15, test_frac: float = 0.15) -> dict[str, np.ndarray]:
    """Split an :class:`~fpga_flow.data.layouts.Index`: stratified by class for cls, seeded random
    for seg; with lesion ids (HAM10000 metadata) whole lesions are split, so that no lesion has
    images on both sides."""
    labels = index.labels if index.layout.task == "cls" else [0] * len(index)
    if index.groups and len(index.groups) == len(index):
        return grouped_split(index.groups, labels, seed, val_frac, test_frac)
    return stratified_split(labels, seed, val_frac, test_frac)
