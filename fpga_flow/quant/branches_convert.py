"""Convert a zoo ``Residual`` / ``SkipCat`` block inside ``quantize_model``'s walk (see ``branches``)."""

from __future__ import annotations

from typing import Callable

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.quant.branches import QuantResidual, QuantSkipCat, add_bits
from fpga_flow.quant.convert import LayerInfo, _act, _Builder, flatten_layers


def _branch(b: _Builder, path: str, seq: nn.Module, walk: Callable) -> _Builder:
    """A sub-builder that starts from the block input's state and converts ``seq``."""
    sub = _Builder(b.spec)
    sub.state, sub.signed = b.state, b.signed
    walk(sub, flatten_layers(seq, path))
    return sub


def _join(b: _Builder, name: str, path: str, module: nn.Module, subs: list[tuple[str, _Builder]]) -> None:
    b.add(name, module, LayerInfo("", type(module).__name__, path))
    for key, sub in subs:  # nested layers are listed under their module path in the quantized model
        for info in sub.info:
            info.name = f"{name}.{key}.{info.name}"
            b.info.append(info)


def convert_branch(b: _Builder, path: str, m: nn.Module, walk: Callable) -> None:
    from fpga_flow.models.blocks import Residual

    name = path.replace(".", "_")
    if isinstance(m, Residual):
        body = _branch(b, f"{path}.body", m.body, walk)
        short = _branch(b, f"{path}.shortcut", m.shortcut, walk) if m.shortcut is not None else None
        # one quantizer shared by both inputs (FINN's rule): separately calibrated power-of-two scales of a
        # branch accumulator and a ReLU output can lie 2^9 apart, beyond the small integer multipliers the
        # compiler's AddStreams aligns (seen on resnet18 at width 0.125); the shared one costs a Thresholding
        # on the shortcut instead (branches.add_bits: how wide)
        shared = _act(add_bits(b.spec.abits), True, b.spec)
        module = QuantResidual(nn.Sequential(body.layers),
                               nn.Sequential(short.layers) if short is not None else None, shared)
        _join(b, name, path, module, [("body", body)] + ([("shortcut", short)] if short is not None else []))
        if shared is not None:
            b.info.append(LayerInfo(f"{name}.shared", "QuantIdentity", "", abits=add_bits(b.spec.abits), signed=True))
        b.state = "acc"  # the sum of two grids: the ReLU after the add quantizes it again
        return
    inner = _branch(b, f"{path}.inner", m.inner, walk)
    if inner.state == "acc":
        raise FlowError(f"layer '{path}': the deeper branch of a skip concat must end on a quantized "
                        f"activation (ReLU, pool or upsample after one), not on a conv/BN output")
    unsigned = not b.signed and not inner.signed
    quant = _act(b.spec.abits, not unsigned, b.spec)
    _join(b, name, path, QuantSkipCat(nn.Sequential(inner.layers), quant), [("inner", inner)])
    b.info.append(LayerInfo(f"{name}.quant", "QuantReLU" if unsigned else "QuantIdentity", "",
                            abits=b.spec.abits, signed=not unsigned))
    b.state, b.signed = "q", not unsigned
