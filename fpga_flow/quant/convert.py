"""Float ``nn.Sequential`` -> Brevitas model, by walking the layers with one mapping table.

What the converter emits (a flat ``nn.Sequential``; names are the float module paths with
``.`` replaced by ``_``, inserted quantizers get a suffix):

=====================  =====================================================================
float layer            quantized layer
=====================  =====================================================================
(network input)        ``QuantIdentity`` signed ``in_bits``, per-tensor scale ("input_quant")
Conv2d / Linear        ``QuantConv2d`` / ``QuantLinear``: weights signed narrow-range ``wbits``
                       (``first_wbits``/``last_wbits`` at the edges), per-tensor or per-channel
                       scale; bias kept float (FINN absorbs it into the next thresholds; the
                       last layer's bias stays a host-side Add)
BatchNorm2d            folded into the preceding conv (``fuse_bn``), else kept as float BN
ReLU                   ``QuantReLU`` unsigned ``abits``, per-tensor scale; dropped when its input
                       is already unsigned-quantized (it would be the identity)
MaxPool2d              kept; it always sees a quantized tensor: a MaxPool directly after a
                       conv/linear is swapped with the following ReLU (they commute), else a
                       signed ``QuantIdentity`` is inserted before it
Upsample (nearest)     kept, same rule as MaxPool (exports as ``Resize`` after a ``Quant``)
AdaptiveAvgPool2d(1)   kept (exports as ``GlobalAveragePool``) on a quantized input
Flatten                kept
Dropout, Identity      removed (identity at inference)
=====================  =====================================================================

Scale factors are powers of two by default (``QuantSpec.scales``), zero points always 0.
Any conv/linear whose input would not be quantized (e.g. two convs in a row) gets a signed
``QuantIdentity`` at ``abits`` in front, so that every activation between layers is an integer
times one per-tensor scale with zero point 0.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.quant.spec import QuantSpec, ScaleType, WeightScaling

SUPPORTED = ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Upsample(nearest)",
             "AdaptiveAvgPool2d(1)", "Flatten", "Linear", "Dropout", "Identity", "Sequential",
             "Residual", "SkipCat")


@dataclass
class LayerInfo:
    """One emitted layer, for summaries: name in the quantized model and its widths."""

    name: str
    kind: str
    source: str  # module path in the float model ("" for inserted layers)
    wbits: int | None = None
    abits: int | None = None
    signed: bool | None = None
    params: int = 0


def flatten_layers(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """Leaves of a (nested) Sequential in execution order with their module paths."""
    if not isinstance(model, nn.Sequential):
        raise FlowError(f"{prefix or 'model'}: {type(model).__name__} is not an nn.Sequential; "
                        f"the quantizer walks Sequential models of: {', '.join(SUPPORTED)}")
    out: list[tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Sequential):
            out.extend(flatten_layers(child, path))
        else:
            out.append((path, child))
    return out


def _unsupported(path: str, layer: nn.Module, why: str = "") -> FlowError:
    extra = f" ({why})" if why else ""
    return FlowError(f"layer '{path}' ({type(layer).__name__}) has no quantized mapping{extra}; "
                     f"supported: {', '.join(SUPPORTED)}")


def check_supported(layers: list[tuple[str, nn.Module]]) -> None:
    """Raise a FlowError naming the first layer the converter cannot map."""
    for path, layer in layers:
        t = type(layer)
        if t in (nn.Conv2d,):
            if layer.padding_mode != "zeros":
                raise _unsupported(path, layer, f"padding_mode={layer.padding_mode!r}")
        elif t is nn.Upsample:
            sf = layer.scale_factor
            sfs = sf if isinstance(sf, tuple) else (sf,)
            if layer.mode != "nearest" or sf is None or any(float(s) != int(s) for s in sfs):
                raise _unsupported(path, layer, f"mode={layer.mode!r}, scale_factor={sf!r}; "
                                   "only nearest with an integer scale")
        elif t is nn.AdaptiveAvgPool2d:
            size = layer.output_size
            if size not in (1, (1, 1)):
                raise _unsupported(path, layer, f"output_size={size!r}; only 1")
        elif t in (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear, nn.Dropout,
                   nn.Identity):
            pass
        elif t.__name__ in ("Residual", "SkipCat") and t.__module__ == "fpga_flow.models.blocks":
            for key, branch in layer.named_children():
                check_supported(flatten_layers(branch, f"{path}.{key}"))
        else:
            raise _unsupported(path, layer)


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A copy of ``conv`` with the (eval-mode) ``bn`` folded into weight and bias."""
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True)
    with torch.no_grad():
        inv = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused.weight.copy_(conv.weight * inv.reshape(-1, 1, 1, 1))
        b = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_((b - bn.running_mean) * inv + bn.bias)
    return fused


def _weight_quant(spec: QuantSpec):
    from brevitas import quant as bq
    from brevitas.quant import fixed_point as fp

    per_channel = spec.weight_scaling is WeightScaling.CHANNEL
    if spec.scales is ScaleType.PO2:
        return fp.Int8WeightPerChannelFixedPoint if per_channel else fp.Int8WeightPerTensorFixedPoint
    return bq.Int8WeightPerChannelFloat if per_channel else bq.Int8WeightPerTensorFloat


def _act(bits: int, signed: bool, spec: QuantSpec) -> nn.Module:
    import brevitas.nn as qnn
    from brevitas import quant as bq

    po2 = spec.scales is ScaleType.PO2
    if signed:
        quant = bq.Int8ActPerTensorFixedPoint if po2 else bq.Int8ActPerTensorFloat
        return qnn.QuantIdentity(act_quant=quant, bit_width=bits, return_quant_tensor=False)
    quant = bq.Uint8ActPerTensorFixedPoint if po2 else bq.Uint8ActPerTensorFloat
    return qnn.QuantReLU(act_quant=quant, bit_width=bits, return_quant_tensor=False)


def _qconv(conv: nn.Conv2d, bits: int, spec: QuantSpec) -> nn.Module:
    import brevitas.nn as qnn

    q = qnn.QuantConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                        padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                        bias=conv.bias is not None, weight_quant=_weight_quant(spec),
                        weight_bit_width=bits, bias_quant=None, return_quant_tensor=False)
    with torch.no_grad():
        q.weight.copy_(conv.weight)
        if conv.bias is not None:
            q.bias.copy_(conv.bias)
    return q


def _qlinear(lin: nn.Linear, bits: int, spec: QuantSpec) -> nn.Module:
    import brevitas.nn as qnn

    q = qnn.QuantLinear(lin.in_features, lin.out_features, bias=lin.bias is not None,
                        weight_quant=_weight_quant(spec), weight_bit_width=bits, bias_quant=None,
                        return_quant_tensor=False)
    with torch.no_grad():
        q.weight.copy_(lin.weight)
        if lin.bias is not None:
            q.bias.copy_(lin.bias)
    return q


class _Builder:
    """Walks the float layers, tracking whether the running tensor is quantized."""

    def __init__(self, spec: QuantSpec):
        self.spec = spec
        self.layers: OrderedDict[str, nn.Module] = OrderedDict()
        self.info: list[LayerInfo] = []
        # state of the running tensor: "acc" (float: conv/linear/bn output) or "q" (on a grid)
        self.state = "q"
        self.signed = True

    def add(self, name: str, module: nn.Module, info: LayerInfo) -> None:
        base, i = name, 1
        while name in self.layers:
            name, i = f"{base}_{i}", i + 1
        info.name = name
        self.layers[name] = module
        self.info.append(info)

    def quant_act(self, name: str, bits: int, signed: bool, source: str = "") -> None:
        kind = "QuantIdentity" if signed else "QuantReLU"
        self.add(name, _act(bits, signed, self.spec), LayerInfo(name, kind, source, abits=bits, signed=signed))
        self.state, self.signed = "q", signed

    def ensure_quantized(self, name: str) -> None:
        if self.state == "acc":
            self.quant_act(f"{name}_qin", self.spec.abits, signed=True)


def quantize_model(float_model: nn.Module, spec: QuantSpec | None = None) -> nn.Sequential:
    """Brevitas version of ``float_model`` (weights copied; activation scales uncalibrated).

    The result is an ``nn.Sequential`` in eval mode (flat for a chain; residual and concat blocks
    become ``fpga_flow.quant.branches`` modules holding their quantized branches);
    ``quant_layer_info(model)`` lists its layers with their widths. Call ``calibrate`` (or train)
    before exporting.
    """
    spec = spec or QuantSpec()
    layers = flatten_layers(float_model)
    check_supported(layers)
    mms = [m for m in float_model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not mms:
        raise FlowError("model has no Conv2d/Linear layer to quantize")
    b = _Builder(spec)
    b.quant_act("input_quant", spec.in_bits, signed=True)
    _walk(b, layers, id(mms[0]), id(mms[-1]))
    if spec.out_bits is not None:
        b.quant_act("output_quant", spec.out_bits, signed=True)

    qmodel = nn.Sequential(b.layers)
    qmodel.quant_info = b.info  # type: ignore[attr-defined]
    qmodel.quant_spec = spec  # type: ignore[attr-defined]
    return qmodel.eval()


def _walk(b: _Builder, layers: list[tuple[str, nn.Module]], first: int, last: int) -> None:
    """Convert ``layers`` into ``b``, tracking whether the running tensor is quantized."""
    from fpga_flow.models.blocks import Residual, SkipCat

    spec = b.spec
    layers = [(p, m) for p, m in layers if not isinstance(m, (nn.Dropout, nn.Identity))]
    skip: set[int] = set()
    pending_conv: tuple[str, nn.Conv2d, int] | None = None  # conv waiting for a BN to fuse

    def flush_conv() -> None:
        nonlocal pending_conv
        if pending_conv is not None:
            path, conv, key = pending_conv  # path: "conv" or "conv+bn" when BN was folded
            bits = _wbits(spec, key, first, last)
            q = _qconv(conv, bits, spec)
            b.add(path.split("+")[0].replace(".", "_"), q,
                  LayerInfo("", "QuantConv2d", path, wbits=bits, params=conv.weight.numel()))
            b.state = "acc"
            pending_conv = None

    for i, (path, m) in enumerate(layers):
        if i in skip:
            continue
        name = path.replace(".", "_")
        if isinstance(m, nn.BatchNorm2d):
            if pending_conv is not None and spec.fuse_bn:
                if pending_conv[1].out_channels != m.num_features:
                    raise FlowError(f"layer '{path}': BatchNorm2d({m.num_features}) after a conv "
                                    f"with {pending_conv[1].out_channels} output channels")
                pending_conv = (f"{pending_conv[0]}+{path}", fuse_conv_bn(pending_conv[1], m),
                                pending_conv[2])
                continue
            flush_conv()
            bn = nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
            bn.load_state_dict(m.state_dict())
            b.add(name, bn, LayerInfo("", "BatchNorm2d", path))
            b.state = "acc"
            continue
        flush_conv()
        if isinstance(m, nn.Conv2d):
            b.ensure_quantized(name)
            pending_conv = (path, m, id(m))
        elif isinstance(m, nn.Linear):
            b.ensure_quantized(name)
            bits = _wbits(spec, id(m), first, last)
            b.add(name, _qlinear(m, bits, spec), LayerInfo("", "QuantLinear", path, wbits=bits,
                                                           params=m.weight.numel()))
            b.state = "acc"
        elif isinstance(m, (Residual, SkipCat)):
            from fpga_flow.quant.branches_convert import convert_branch

            b.ensure_quantized(name)
            convert_branch(b, path, m, lambda sub, ls: _walk(sub, ls, first, last))
        elif isinstance(m, nn.ReLU):
            if b.state == "q" and not b.signed:
                continue  # identity on an unsigned quantized tensor
            b.quant_act(name, spec.abits, signed=False, source=path)
        elif isinstance(m, (nn.MaxPool2d, nn.Upsample)):
            if b.state == "acc":
                j = i + 1
                if j < len(layers) and isinstance(layers[j][1], nn.ReLU):
                    # pool/upsample and ReLU commute: quantize first, keep the op on the grid
                    b.quant_act(layers[j][0].replace(".", "_"), spec.abits, signed=False,
                                source=layers[j][0])
                    skip.add(j)
                else:
                    b.ensure_quantized(name)
            kind = type(m).__name__
            b.add(name, _copy_simple(m), LayerInfo("", kind, path))
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            b.ensure_quantized(name)
            b.add(name, nn.AdaptiveAvgPool2d(1), LayerInfo("", "AdaptiveAvgPool2d", path))
        elif isinstance(m, nn.Flatten):
            b.add(name, nn.Flatten(m.start_dim, m.end_dim), LayerInfo("", "Flatten", path))
        else:  # pragma: no cover - check_supported covers it
            raise _unsupported(path, m)
    flush_conv()


def _wbits(spec: QuantSpec, i: int, first: int, last: int) -> int:
    """Bits of the conv/linear ``i`` (module ids: the first and last of the model keep their own)."""
    if i == last:
        return spec.last_wbits
    if i == first:
        return spec.first_wbits
    return spec.wbits


def _copy_simple(m: nn.Module) -> nn.Module:
    if isinstance(m, nn.MaxPool2d):
        return nn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation,
                            ceil_mode=m.ceil_mode)
    sf = m.scale_factor
    sf = tuple(int(s) for s in sf) if isinstance(sf, tuple) else int(sf)
    return nn.Upsample(scale_factor=sf, mode="nearest")


def quant_layer_info(qmodel: nn.Module) -> list[LayerInfo]:
    info = getattr(qmodel, "quant_info", None)
    if info is None:
        raise FlowError("model was not built by fpga_flow.quant.quantize_model")
    return info
