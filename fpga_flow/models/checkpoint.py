"""Checkpoints: ``{name, config, state_dict, metrics}`` loaded with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError

FORMAT = "fpga_flow.checkpoint/1"


def save_checkpoint(
    path: str | Path, model: nn.Module, name: str, cfg: dict[str, Any], metrics: dict[str, Any] | None = None
) -> Path:
    """Write a checkpoint; ``cfg`` must be the constructor kwargs (incl. pruned ``channels``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {"format": FORMAT, "name": name, "config": dict(cfg), "state_dict": state,
            "metrics": dict(metrics or {})}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
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


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from its name + config and load its weights. Returns ``(model, meta)`` where
    meta has ``name``, ``config``, ``metrics``. Any unreadable/mismatching file -> FlowError."""
    from fpga_flow.models.registry import build

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
