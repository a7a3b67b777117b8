"""Pruning report in the form of the seed's Table 1: per-layer neurons and remaining parameters,
compression ratio, MACs, and the metric before/after."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from fpga_flow.prune.graph import units
from fpga_flow.prune.masks import nonzero_params

# The seed paper's Table 1 (LeNet-5 on MNIST, source: SeReNe [2]); top-1 is the error in %.
SEED_TABLE1 = [
    {"approach": "Baseline (seed)", "remaining": [100, 100, 100, 100], "ratio": 1.0,
     "neurons": [20, 50, 500, 10], "top1_error": 0.68},
    {"approach": "l2+pruning (seed)", "remaining": [60.20, 7.37, 0.61, 22.14], "ratio": 72.3,
     "neurons": [19, 37, 214, 10], "top1_error": 0.8},
    {"approach": "SeReNe (seed)", "remaining": [33.75, 3.25, 0.27, 10.22], "ratio": 177.05,
     "neurons": [11, 26, 113, 10], "top1_error": 0.8},
]


@dataclass
class LayerRow:
    name: str
    kind: str
    channels_before: int
    channels_after: int
    params_before: int
    params_nonzero: int         # non-zero weights+biases of the simplified layer (Table 1's "remaining")
    params_simplified: int      # dense parameters of the simplified layer
    macs_before: int
    macs_after: int

    @property
    def remaining_pct(self) -> float:
        return 100.0 * self.params_nonzero / max(self.params_before, 1)


@dataclass
class PruneReport:
    model: str
    method: str
    metric: str
    metric_before: float        # points (%)
    metric_after: float         # points (%), of the simplified model
    rows: list[LayerRow] = field(default_factory=list)
    notes: str = ""

    @property
    def params_before(self) -> int:
        return sum(r.params_before for r in self.rows)

    @property
    def params_nonzero(self) -> int:
        return sum(r.params_nonzero for r in self.rows)

    @property
    def params_simplified(self) -> int:
        return sum(r.params_simplified for r in self.rows)

    @property
    def compression(self) -> float:
        """Table 1's ratio: all parameters / remaining non-zero parameters."""
        return self.params_before / max(self.params_nonzero, 1)

    @property
    def structural_compression(self) -> float:
        """Parameters before / dense parameters of the simplified (physically smaller) model."""
        return self.params_before / max(self.params_simplified, 1)

    @property
    def macs_ratio(self) -> float:
        return sum(r.macs_before for r in self.rows) / max(sum(r.macs_after for r in self.rows), 1)

    @property
    def channels_pruned_pct(self) -> float:
        hidden = self.rows[:-1]
        return 100.0 * (1 - sum(r.channels_after for r in hidden) / max(sum(r.channels_before for r in hidden), 1))

    def neurons(self, after: bool = True) -> str:
        return "-".join(f"[{r.channels_after if after else r.channels_before}]" for r in self.rows)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(compression=self.compression, structural_compression=self.structural_compression,
                 macs_ratio=self.macs_ratio, channels_pruned_pct=self.channels_pruned_pct,
                 params_before=self.params_before, params_nonzero=self.params_nonzero,
                 params_simplified=self.params_simplified)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def layers_markdown(self) -> str:
        lines = ["| layer | type | channels | params | remaining % | simplified params | MACs before | MACs after |",
                 "|---|---|---|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r.name} | {r.kind} | {r.channels_before} -> {r.channels_after} | {r.params_before} | "
                         f"{r.remaining_pct:.2f} | {r.params_simplified} | {r.macs_before} | {r.macs_after} |")
        lines.append(f"| total | | {self.channels_pruned_pct:.1f}% channels pruned | {self.params_before} | "
                     f"{100 / self.compression:.2f} | {self.params_simplified} | "
                     f"{sum(r.macs_before for r in self.rows)} | {sum(r.macs_after for r in self.rows)} |")
        return "\n".join(lines)


def layer_macs(model: nn.Module, input_shape: tuple[int, ...]) -> list[int]:
    """Multiply-accumulates of every Conv2d/Linear for one input of ``input_shape`` (C, H, W)."""
    us = units(model)
    macs: list[int] = []

    def hook(mod, _inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            macs.append(int(out.shape[1] * out.shape[2] * out.shape[3] * k))
        else:
            macs.append(int(mod.in_features * mod.out_features))

    hooks = [u.layer.register_forward_hook(hook) for u in us]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros(1, *input_shape, device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    return macs


def _params(u) -> int:
    """Weights + bias of the layer, + BN scale and shift when a BatchNorm follows it."""
    n = u.layer.weight.numel() + (u.layer.bias.numel() if u.layer.bias is not None else 0)
    return n + (u.bn.weight.numel() + u.bn.bias.numel() if u.bn is not None else 0)


def build_report(model_name: str, method: str, original: nn.Module, pruned: nn.Module, simplified: nn.Module,
                 input_shape: tuple[int, ...], metric: str, before: float, after: float, notes: str = "") -> PruneReport:
    """Compare the unpruned ``original``, the ``pruned`` model (zeros in place, same shapes) and its
    ``simplified`` version."""
    uo, us = units(original), units(simplified)
    # remaining = non-zero parameters of the simplified network: the weights that still read a removed
    # neuron are gone with it (``pruned`` has the same shapes as ``original`` and is checked against it)
    assert [u.out_channels for u in units(pruned)] == [u.out_channels for u in uo]
    nz = nonzero_params(simplified)
    mo, ms = layer_macs(original, input_shape), layer_macs(simplified, input_shape)
    rows = [LayerRow(a.path, type(a.layer).__name__, a.out_channels, b.out_channels, _params(a), n, _params(b), x, y)
            for a, b, n, x, y in zip(uo, us, nz, mo, ms)]
    return PruneReport(model_name, method, metric, before, after, rows, notes)


def table1_markdown(ours: list[tuple[str, PruneReport]], seed: bool = True, error: bool = True) -> str:
    """Table 1 layout: remaining parameters per layer (%), compression ratio, neurons, top-1 error."""
    n_layers = max(len(r.rows) for _, r in ours)
    names = [r.name for r in ours[0][1].rows]
    head = "| approach | " + " | ".join(names) + " | compr. ratio | neurons | structural ratio | top-1 error (%) |"
    lines = [head, "|---|" + "---:|" * n_layers + "---:|---|---:|---:|"]
    if seed:
        for s in SEED_TABLE1:
            rem = " | ".join(f"{v:.2f}" for v in s["remaining"])
            neu = "-".join(f"[{v}]" for v in s["neurons"])
            lines.append(f"| {s['approach']} | {rem} | {s['ratio']:.2f}x | {neu} | - | {s['top1_error']:.2f} |")
    for label, r in ours:
        rem = " | ".join(f"{row.remaining_pct:.2f}" for row in r.rows)
        err = 100 - r.metric_after if error else r.metric_after
        lines.append(f"| {label} | {rem} | {r.compression:.2f}x | {r.neurons()} | "
                     f"{r.structural_compression:.2f}x | {err:.2f} |")
    return "\n".join(lines)
