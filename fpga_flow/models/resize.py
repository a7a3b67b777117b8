"""Move a trained zoo model to another input size: the same weights in the topology built for ``in_size``.

VGG16 ends in a global average pool and SegNet is fully convolutional, so no parameter depends on the
input size: a network trained (and pruned) at 32x32 runs at 224x224 as it is, and fine-tuning there
recovers what the scale change costs. This is how the 224x224 rows stay affordable on a CPU.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.registry import build


def at_input_size(model: nn.Module, name: str, config: dict[str, Any], in_size: int) -> tuple[nn.Module, dict]:
    """``(model rebuilt for in_size with model's weights, its config)``."""
    cfg = dict(config) | {"in_size": in_size}
    out = build(name, **cfg)
    try:
        out.load_state_dict(model.state_dict(), strict=True)
    except RuntimeError as err:
        raise FlowError(f"model {name}: weights at input {config.get('in_size')} do not fit input {in_size}: "
                        f"{str(err).splitlines()[0]}") from err
    return out.eval(), cfg
