"""Quantized checkpoints: the float model's name/config + QuantSpec + Brevitas state_dict.

Loading rebuilds the float topology with ``fpga_flow.models.build(name, **config)``, converts it
with ``quantize_model`` and loads the quantized weights and learned scales (``weights_only``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.quant.convert import quantize_model
from fpga_flow.quant.spec import QuantSpec

FORMAT = "fpga_flow.quant_checkpoint/1"


def save_quant_checkpoint(path: str | Path, qmodel: nn.Module, name: str, config: dict[str, Any],
                          spec: QuantSpec, input_shape: tuple[int, ...],
                          metrics: dict[str, Any] | None = None) -> Path:
    """Write atomically (``.tmp`` then rename) so that a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"format": FORMAT, "name": name, "config": dict(config), "spec": spec.to_dict(),
            "input_shape": list(input_shape),
            "state_dict": {k: v.detach().cpu() for k, v in qmodel.state_dict().items()},
            "metrics": dict(metrics or {})}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    return path


def read_quant_meta(path: str | Path) -> dict[str, Any]:
    """name, config, spec (QuantSpec), input_shape and metrics of a quantized checkpoint, without building
    the model (cheap checks before any work); FlowError naming ``path`` when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FlowError(f"{path}: quantized checkpoint not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise FlowError(f"{path}: not a readable checkpoint: {err}") from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise FlowError(f"{path}: not a quantized fpga_flow checkpoint (format {FORMAT})")
    meta = {k: blob[k] for k in ("name", "config", "input_shape", "metrics", "state_dict")}
    meta["spec"] = QuantSpec.from_dict(blob["spec"])
    return meta


def load_quant_checkpoint(path: str | Path, in_size: int | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """``(brevitas model in eval mode, meta)``; meta has name, config, spec, input_shape, metrics.

    ``in_size``: the same quantized weights and learned scales in the topology built for that input side
    (VGG16 and SegNet have no parameter that depends on it: ``fpga_flow.models.resize``)."""
    from fpga_flow.models import build

    path = Path(path)
    meta = read_quant_meta(path)
    state = meta.pop("state_dict")
    spec = meta["spec"]
    if in_size is not None and in_size != meta["input_shape"][-1]:
        meta["config"] = dict(meta["config"]) | {"in_size": in_size}
        meta["input_shape"] = [*meta["input_shape"][:-2], in_size, in_size]
    qmodel = quantize_model(build(meta["name"], **meta["config"]), spec)
    try:
        qmodel.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise FlowError(f"{path}: quantized weights do not match {meta['name']}: {detail}") from err
    return qmodel.eval(), meta
