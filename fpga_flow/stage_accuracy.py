"""Accuracy through the flow's stages (float -> pruned -> fine-tuned at the design size (or, the unpruned
rows' recipe, resized to it untrained) -> quantized):
each stage's test metric in ``stage_accuracy.json``, and a warning naming the stage that loses more
than its row's bound (pruning: the recipe's bound; fine-tuning and quantization: the row's
``stage_bound``), so that a 17-point QAT loss can no longer pass silently."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from fpga_flow.runtime.buildinfo import read_json, write_json

LEDGER = "stage_accuracy.json"
ORDER = ("float", "pruned", "fine-tuned", "resized", "quantized")  # resized: at the design size untrained


@dataclass
class StageScore:
    stage: str              # one of ORDER
    metric: str             # balanced_accuracy | iou
    value: float            # fraction
    split: str
    images: int
    size: int               # input side the stage was evaluated at
    bound: float | None     # points this stage may lose against the previous one


def warning_for(prev: StageScore, cur: StageScore, row: str) -> str | None:
    drop = 100 * (prev.value - cur.value)
    if cur.bound is None or drop <= cur.bound + 1e-9:
        return None
    return (f"stage {cur.stage} lost {drop:.2f} points of {cur.split} {cur.metric} ({prev.stage} "
            f"{100 * prev.value:.2f} % -> {cur.stage} {100 * cur.value:.2f} %, {cur.images} {cur.split} images; "
            f"bound {cur.bound:g} points for {row})")


def record(bdir: str | Path, row: str, score: StageScore) -> str | None:
    """Add (or replace) ``score`` in the build folder's ledger, drop the stages after it (their inputs
    changed), recompute the warnings; returns this stage's warning or None."""
    path = Path(bdir) / LEDGER
    data = read_json(path) or {}
    keep = ORDER[: ORDER.index(score.stage)]
    stages = [StageScore(**s) for s in data.get("stages", []) if s.get("stage") in keep] + [score]
    warnings = [w for a, b in zip(stages, stages[1:]) if (w := warning_for(a, b, row))]
    write_json(path, {"row": row, "stages": [asdict(s) for s in stages], "warnings": warnings})
    prev = stages[-2] if len(stages) > 1 else None
    return warning_for(prev, score, row) if prev else None


def read(bdir: str | Path) -> dict:
    return read_json(Path(bdir) / LEDGER) or {}
