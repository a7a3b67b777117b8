"""Model zoo (vgg16, segnet, lenet5, *-pruned), checkpoints and the training loop."""

from fpga_flow.models.checkpoint import load_checkpoint, save_checkpoint
from fpga_flow.models.registry import (
    MODELS,
    PruneRecipe,
    build,
    default_checkpoint,
    hidden_widths,
    known_models,
    spec,
)

__all__ = [
    "MODELS", "PruneRecipe", "build", "default_checkpoint", "hidden_widths", "known_models",
    "load_checkpoint", "save_checkpoint", "spec",
]
