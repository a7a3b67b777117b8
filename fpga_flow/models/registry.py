"""The model zoo by name: ``build(name, **cfg)``.

The names users type for the Table 4 rows (``vgg16``, ``vgg16-quantized``, ``vgg16-ha``, ``vgg16-hcr``,
``segnet``, ``segnet-pruned``) each resolve to an architecture, a pruning recipe (pruned rows), the bit
widths of the hardware design and a checkpoint (``fpga_flow.models.store``). ``vgg16-pruned`` is another
name for ``vgg16-hcr``.

The unpruned rows (``vgg16``, ``vgg16-quantized``, ``segnet``) follow ``UNPRUNED_RECIPE`` at 224x224: float
training and QAT at the flow's ``--train-size``, then the quantized network at the design size as it is,
its accuracy measured there on the held-out test split; hardware accuracy from the compiled hardware graph
on the whole test split plus Verilator rtlsim on a few frames (``rtlsim_frames``), bit-exact to it.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from fpga_flow.errors import FlowError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Builder:
    """An architecture's constructor, imported on first call: the registry answers names, rows and recipes
    (CLI checks, --help) without importing torch."""

    module: str                     # fpga_flow.models.<module>
    function: str

    def __call__(self, **cfg: Any) -> nn.Module:
        return getattr(importlib.import_module(f"fpga_flow.models.{self.module}"), self.function)(**cfg)


vgg16 = Builder("vgg", "vgg16")
segnet = Builder("segnet", "segnet")
resnet18 = Builder("resnet", "resnet18")
mobilenet_v1 = Builder("mobilenet", "mobilenet_v1")
unet = Builder("unet", "unet")
lenet5 = Builder("lenet", "lenet5")


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
class RowBits:
    """Bit widths of a row's hardware design (plain data; ``fpga_flow.quant.QuantSpec`` is built from it)."""

    wbits: int
    abits: int
    first_wbits: int = 8            # the first layer stays 8-bit where that keeps accuracy
    last_wbits: int = 8

    def label(self) -> str:
        return f"W{self.wbits}A{self.abits}"


W8A8 = RowBits(8, 8)
W4A4 = RowBits(4, 4)


@dataclass(frozen=True)
class ModelSpec:
    builder: Callable[..., nn.Module]
    task: str                       # "cls" | "seg" | "digits"
    base: str | None = None         # the architecture's zoo name when it differs from the row's name
    recipe: PruneRecipe | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    bits: RowBits | None = None     # Table 4 rows: the hardware design's bit widths
    reference: str = ""             # the reference table's row this name reproduces
    what: str = ""
    stage_bound: float = 1.0        # points of the task metric a quantize stage may lose before a warning
    # the unpruned rows' 224x224 recipe (UNPRUNED_RECIPE): float training and QAT at the flow's --train-size,
    # the quantized network then runs at the design size as it is; rtlsim on this many test frames, the
    # hardware accuracy from the compiled hardware graph on the whole test split
    low_res_qat: bool = False
    rtlsim_frames: int | None = None

    @property
    def arch(self) -> str:
        return self.base or next(n for n, s in MODELS.items() if s is self)

    @property
    def pruned(self) -> bool:
        return self.recipe is not None


# How the unpruned rows (15.3 G MACs per 224x224 frame for VGG16: a training step at 224 costs ~50x one
# at 32) stay affordable on a 2-core CPU; the flow prints it (FlowConfig.summary) and README Table 4 says it:
UNPRUNED_RECIPE = (
    "float training and QAT at --train-size (default 32x32); the quantized network (VGG16 ends in a global "
    "average pool, SegNet is fully convolutional: no weight depends on the input size) then runs at "
    "--image-size (default 224x224) with the same integer weights and learned scales, without training there; "
    "its accuracy is measured at 224x224 on the held-out test split; hardware accuracy: the compiled hardware "
    "graph (dataflow.onnx, each layer's integer semantics) on the whole test split, and Verilator rtlsim on "
    "the first test frames (3 by default, --n-test more), bit-exact to it")
UNPRUNED = dict(low_res_qat=True, rtlsim_frames=3)

MODELS: dict[str, ModelSpec] = {
    "vgg16": ModelSpec(vgg16, "cls", bits=W8A8, reference="VGG16 (FPGA)",
                       what="unpruned, W8A8 (weights that do not fit on chip stream from DRAM)", **UNPRUNED),
    "vgg16-quantized": ModelSpec(vgg16, "cls", base="vgg16", bits=W4A4, reference="VGG16-Quantized",
                                 what="unpruned, W4A4 (first and last layer 8-bit)", **UNPRUNED),
    "vgg16-ha": ModelSpec(vgg16, "cls", base="vgg16", recipe=PruneRecipe(loss_bound=0.0), bits=W4A4,
                          reference="VGG16-HA",
                          what="SeReNe-pruned, high accuracy: no loss of validation balanced accuracy, W4A4"),
    "vgg16-hcr": ModelSpec(vgg16, "cls", base="vgg16", recipe=PruneRecipe(loss_bound=2.0), bits=W4A4,
                           reference="VGG16-HCR",
                           what="SeReNe-pruned, high compression: most channels removed within 2 points, W4A4"),
    "segnet": ModelSpec(segnet, "seg", bits=W8A8, reference="SegNet (FPGA)", what="unpruned, W8A8", **UNPRUNED),
    "segnet-pruned": ModelSpec(segnet, "seg", base="segnet", recipe=PruneRecipe(loss_bound=1.0), bits=W4A4,
                               reference="SegNet-Pruned", what="SeReNe-pruned, W4A4, within 1 point of IoU"),
    # branching zoo (issue 14): residual adds, depthwise convs, concatenated skips; not Table 4 rows
    "resnet18": ModelSpec(resnet18, "cls", what="ResNet-18 (residual adds; 2x2 stem max-pool)"),
    "resnet18-pruned": ModelSpec(resnet18, "cls", base="resnet18", recipe=PruneRecipe(loss_bound=1.0),
                                 what="SeReNe-pruned ResNet-18 (channels coupled across each residual add)"),
    "mobilenet-v1": ModelSpec(mobilenet_v1, "cls", what="MobileNet-v1 (depthwise-separable convs)"),
    "mobilenet-v1-pruned": ModelSpec(mobilenet_v1, "cls", base="mobilenet-v1", recipe=PruneRecipe(loss_bound=1.0),
                                     what="SeReNe-pruned MobileNet-v1 (a depthwise conv keeps its input's channels)"),
    "unet": ModelSpec(unet, "seg", what="U-Net (concatenated skips, nearest upsampling)"),
    "unet-pruned": ModelSpec(unet, "seg", base="unet", recipe=PruneRecipe(loss_bound=1.0),
                             what="SeReNe-pruned U-Net (concat consumers sliced per input)"),
    "lenet5": ModelSpec(lenet5, "digits", what="LeNet-5 of the SeReNe paper's Table 1 (digits; not a Table 4 row)"),
}
# names users type that mean another row: `vgg16-pruned` is the high-compression row
ALIASES: dict[str, str] = {"vgg16-pruned": "vgg16-hcr"}


def known_models() -> list[str]:
    return sorted([*MODELS, *ALIASES])


def rows() -> list[str]:
    """The Table 4 rows, in the reference table's order."""
    return [n for n, s in MODELS.items() if s.bits is not None]


def canonical(name: str) -> str:
    """The row a name means (``vgg16-pruned`` -> ``vgg16-hcr``); unknown names -> FlowError listing the rows."""
    name = ALIASES.get(name, name)
    if name not in MODELS:
        listing = "; ".join(f"{n} ({MODELS[n].reference})" for n in rows())
        aliases = ", ".join(f"{a} = {t}" for a, t in ALIASES.items())
        raise FlowError(f"unknown model {name!r}; Table 4 rows: {listing}; also {aliases}, lenet5; "
                        f"known models: {', '.join(known_models())}")
    return name


def spec(name: str) -> ModelSpec:
    return MODELS[canonical(name)]


def checkpoint_dir() -> Path:
    """Where ``<name>.pt`` checkpoints of pruned models are looked up (``FPGA_FLOW_CHECKPOINTS``)."""
    return Path(os.environ.get("FPGA_FLOW_CHECKPOINTS", "build/checkpoints"))


def default_checkpoint(name: str) -> Path:
    return checkpoint_dir() / f"{name}.pt"


PLANS_DIR = Path(__file__).parent / "plans"


def measured_plan(name: str) -> dict | None:
    """``plans/<name>.json``: the channel plan a recorded pruning run of the full-width base model
    produced (with the command and metrics that made it), or None."""
    names = [name, canonical(name), *(a for a, t in ALIASES.items() if t == canonical(name))]
    path = next((PLANS_DIR / f"{n}.json" for n in names if (PLANS_DIR / f"{n}.json").is_file()), None)
    if path is None:
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
    assert s.recipe is not None
    base = s.builder(**{k: v for k, v in cfg.items() if k != "channels"})
    widths = hidden_widths(base)
    plan = measured_plan(name)
    if plan is not None and plan.get("base_widths") == widths:
        return list(plan["channels"])
    m, keep = s.recipe.multiple_of, s.recipe.nominal_keep
    return [min(w, max(m, -(-int(round(w * keep)) // m) * m)) for w in widths]


def hidden_widths(model: nn.Module) -> list[int]:
    """Output widths of every Conv2d/Linear except the last one (the ``channels`` convention)."""
    from torch import nn

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return [m.out_channels if isinstance(m, nn.Conv2d) else m.out_features for m in layers[:-1]]


def build(name: str, **cfg: Any) -> nn.Module:
    """Build a zoo model. Pruned names: with ``channels`` -> that topology; otherwise the checkpoint
    ``checkpoint_dir()/<name>.pt`` when it exists (trained weights), else the recipe's nominal plan."""
    s = spec(name)
    if s.pruned and "channels" not in cfg:
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
