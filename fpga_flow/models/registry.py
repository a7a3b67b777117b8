"""The model zoo by name: ``build(name, **cfg)``; pruned names resolve to base model + pruning recipe."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.lenet import lenet5
from fpga_flow.models.segnet import segnet
from fpga_flow.models.vgg import vgg16


@dataclass(frozen=True)
class PruneRecipe:
    """How a ``<base>-pruned`` model is produced by ``fpga_flow.prune`` (plain data, no torch)."""

    method: str = "serene"          # serene | magnitude | lobster
    granularity: str = "channel"    # channel (structured) | param (unstructured)
    loss_bound: float = 1.0         # allowed validation metric drop, in points (percent)
    multiple_of: int = 8            # hardware-aware rounding of kept channel counts
    nominal_keep: float = 0.5       # channel fraction used when no checkpoint exists yet
    lam: float = 5e-2               # SeReNe regularisation strength (per step)


@dataclass(frozen=True)
class ModelSpec:
    builder: Callable[..., nn.Module]
    task: str                       # "cls" | "seg" | "digits"
    base: str | None = None         # for pruned names: the base model
    recipe: PruneRecipe | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


MODELS: dict[str, ModelSpec] = {
    "vgg16": ModelSpec(vgg16, "cls"),
    "segnet": ModelSpec(segnet, "seg"),
    "lenet5": ModelSpec(lenet5, "digits"),
    "vgg16-pruned": ModelSpec(vgg16, "cls", base="vgg16", recipe=PruneRecipe()),
    "segnet-pruned": ModelSpec(segnet, "seg", base="segnet", recipe=PruneRecipe()),
}


def known_models() -> list[str]:
    return sorted(MODELS)


def spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise FlowError(f"unknown model {name!r}; known models: {', '.join(known_models())}")
    return MODELS[name]


def checkpoint_dir() -> Path:
    """Where ``<name>.pt`` checkpoints of pruned models are looked up (``FPGA_FLOW_CHECKPOINTS``)."""
    return Path(os.environ.get("FPGA_FLOW_CHECKPOINTS", "build/checkpoints"))


def default_checkpoint(name: str) -> Path:
    return checkpoint_dir() / f"{name}.pt"


PLANS_DIR = Path(__file__).parent / "plans"


def measured_plan(name: str) -> dict | None:
    """``plans/<name>.json``: the channel plan a recorded pruning run of the full-width base model
    produced (with the command and metrics that made it), or None."""
    path = PLANS_DIR / f"{name}.json"
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text())
        plan["channels"] = [int(c) for c in plan["channels"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FlowError(f"{path}: unreadable channel plan ({err})") from err
    return plan


def nominal_channels(name: str, **cfg: Any) -> list[int]:
    """Channel plan of a pruned name before any checkpoint exists: the measured plan of
    ``plans/<name>.json`` for the full-width base model, otherwise base widths x
    recipe.nominal_keep, rounded up to ``recipe.multiple_of``."""
    s = spec(name)
    assert s.recipe is not None and s.base is not None
    base = s.builder(**{k: v for k, v in cfg.items() if k != "channels"})
    widths = hidden_widths(base)
    plan = measured_plan(name)
    if plan is not None and plan.get("base_widths") == widths:
        return list(plan["channels"])
    m, keep = s.recipe.multiple_of, s.recipe.nominal_keep
    return [min(w, max(m, -(-int(round(w * keep)) // m) * m)) for w in widths]


def hidden_widths(model: nn.Module) -> list[int]:
    """Output widths of every Conv2d/Linear except the last one (the ``channels`` convention)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return [m.out_channels if isinstance(m, nn.Conv2d) else m.out_features for m in layers[:-1]]


def build(name: str, **cfg: Any) -> nn.Module:
    """Build a zoo model. Pruned names: with ``channels`` -> that topology; otherwise the checkpoint
    ``checkpoint_dir()/<name>.pt`` when it exists (trained weights), else the recipe's nominal plan."""
    s = spec(name)
    if s.base is not None and "channels" not in cfg:
        explicit = cfg.pop("checkpoint", None)
        ckpt = explicit or default_checkpoint(name)
        if explicit and not Path(explicit).exists():
            raise FlowError(f"{explicit}: checkpoint not found")
        if Path(ckpt).exists():
            from fpga_flow.models.checkpoint import load_checkpoint

            model, _ = load_checkpoint(ckpt)
            return model
        cfg["channels"] = nominal_channels(name, **cfg)
    cfg.pop("checkpoint", None)
    try:
        return s.builder(**cfg)
    except TypeError as err:
        raise FlowError(f"model {name}: bad configuration {cfg}: {err}") from err
