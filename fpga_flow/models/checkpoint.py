"""Checkpoints: ``{name, config, state_dict, metrics, complete}`` loaded with ``weights_only=True``.

Written atomically (a temp file beside the target, then ``os.replace``), so a killed run leaves either
the old file or the new one. ``complete`` records whether the run that wrote it finished: a partial
checkpoint (written during training) loads only when asked for explicitly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError

FORMAT = "fpga_flow.checkpoint/1"


def atomic_torch_save(blob: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the target's folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(blob, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # SIGTERM turned into SystemExit included: no half file stays behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _why_unreadable(path: Path) -> str:
    """One line on what the file is instead (torch's own message runs to several lines)."""
    import zipfile

    head = path.read_bytes()[:8]
    if not head:
        return "empty file"
    if path.suffix.lower() == ".onnx" or head[:1] == b"\x08":  # ONNX protobuf: field 1 (ir_version)
        return "an ONNX model file, not a checkpoint"
    if not zipfile.is_zipfile(path):
        return "not a torch.save archive (truncated, or another format)"
    return "a torch.save archive that cannot be read with weights_only=True (truncated, or holds non-tensor objects)"


def save_checkpoint(
    path: str | Path, model: nn.Module, name: str, cfg: dict[str, Any], metrics: dict[str, Any] | None = None,
    *, complete: bool = True, progress: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint; ``cfg`` must be the constructor kwargs (incl. pruned ``channels``).
    ``complete=False`` marks the snapshot of a run still in progress (``progress``: e.g. epoch 5 of 10)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {"format": FORMAT, "name": name, "config": dict(cfg), "state_dict": state,
            "metrics": dict(metrics or {}), "complete": bool(complete), "progress": dict(progress or {})}
    return atomic_torch_save(blob, path)


def read_blob(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FlowError(f"{path}: checkpoint not found")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickle error, not a torch file...
        raise FlowError(f"{path}: not a readable checkpoint: {_why_unreadable(path)}; expected a PyTorch "
                        "checkpoint (.pt from `fpga-flow train`/`prune`: name, config, state_dict)") from err
    if not isinstance(blob, dict) or not {"name", "config", "state_dict"} <= set(blob):
        raise FlowError(f"{path}: not an fpga_flow checkpoint (needs name, config, state_dict)")
    return blob


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu", *,
                    allow_partial: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from its name + config and load its weights. Returns ``(model, meta)`` where
    meta has ``name``, ``config``, ``metrics``. Any unreadable/mismatching file, or the partial
    checkpoint of an unfinished run (unless ``allow_partial``) -> FlowError naming the file."""
    from fpga_flow.models.registry import build

    path = Path(path)
    blob = read_blob(path, map_location)
    if not blob.get("complete", True) and not allow_partial:
        at = blob.get("progress") or {}
        where = f" (stopped after epoch {at['epoch']} of {at['epochs']})" if {"epoch", "epochs"} <= set(at) else ""
        raise FlowError(f"{path}: partial checkpoint of a run that did not finish{where}; re-run the command "
                        "that writes it")
    name, config = blob["name"], dict(blob["config"])
    try:
        model = build(name, **config)
    except FlowError as err:
        raise FlowError(f"{path}: {err}") from err
    try:
        model.load_state_dict(blob["state_dict"], strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise FlowError(f"{path}: weights do not match architecture {name} {config}: {detail}") from err
    model.eval()
    meta = {"name": name, "config": config, "metrics": dict(blob.get("metrics", {}))}
    return model, meta
