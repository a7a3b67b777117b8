"""FINN folding-config JSON: extract from a hardware graph, apply to one (our ApplyConfig).

Format (finn-notes §2): ``{"Defaults": {attr: [value, [op_types] | "all"]}, "<node name>": {attr: value}}``.
Keys written by FINN after specialisation (``MVAU_hls_0``, ``ConvolutionInputGenerator_rtl_0``) are
matched to our node names by dropping ``_hls``/``_rtl``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.errors import FlowError

FOLD_ATTRS = {
    "MVAU": ("PE", "SIMD", "mem_mode", "ram_style", "resType", "dsp_pack", "lut_mac"),
    "ConvolutionInputGenerator": ("SIMD", "ram_style", "parallel_window"),
    "Thresholding": ("PE",),
    "StreamingMaxPool": ("PE",),
    "UpsampleNearestNeighbour": ("PE",),
    "GlobalAccPool": ("PE",),
    "LabelSelect": ("PE",),
    "StreamingFIFO": ("depth", "ram_style"),
    "StreamingDataWidthConverter": (),
}


def extract_folding_config(model: ModelWrapper) -> dict:
    cfg: dict = {"Defaults": {}}
    for n in model.graph.node:
        if n.op_type in FOLD_ATTRS and FOLD_ATTRS[n.op_type]:
            op = getCustomOp(n)
            cfg[n.name] = {a: op.get_nodeattr(a) for a in FOLD_ATTRS[n.op_type]}
    return cfg


def save_folding_config(model: ModelWrapper, path) -> dict:
    cfg = extract_folding_config(model)
    Path(path).write_text(json.dumps(cfg, indent=2) + "\n")
    return cfg


def load_folding_config(config) -> dict:
    if isinstance(config, dict):
        return config
    p = Path(config)
    if not p.is_file():
        raise FlowError(f"folding config {p} not found")
    try:
        cfg = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise FlowError(f"folding config {p}: invalid JSON ({e})")
    if not isinstance(cfg, dict):
        raise FlowError(f"folding config {p}: expected a JSON object")
    return cfg


def _finn_alias(key: str) -> str:
    return re.sub(r"_(hls|rtl)(?=_\d+$)", "", key)


class ApplyConfig:
    """qonnx v0.4 ApplyConfig semantics: Defaults, then per-node attributes; unknown node names and
    nodes without an entry are reported in ``self.missing`` / ``self.unused`` (and warned)."""

    def __init__(self, config, only_op_types: tuple[str, ...] | None = None, warn: bool = True):
        self.cfg = load_folding_config(config)
        self.only = only_op_types
        self.warn = warn
        self.missing: list[str] = []
        self.unused: list[str] = []

    def apply(self, model: ModelWrapper):
        cfg = dict(self.cfg)
        defaults = cfg.pop("Defaults", {}) or {}
        by_name = {}
        for k, v in cfg.items():
            by_name[k] = v
            by_name.setdefault(_finn_alias(k), v)
        used = set()
        for n in model.graph.node:
            if n.domain != "fpga_flow.compiler.hw" or (self.only and n.op_type not in self.only):
                continue
            op = getCustomOp(n)
            types = op.get_nodeattr_types()
            for attr, spec in defaults.items():
                val, ops = spec if isinstance(spec, list) and len(spec) == 2 else (spec, "all")
                if (ops == "all" or n.op_type in ops) and attr in types:
                    self._set(op, n, attr, val)
            entry = by_name.get(n.name)
            if entry is None:
                self.missing.append(n.name)
                continue
            used.update(k for k, v in cfg.items() if v is entry)
            for attr, val in entry.items():
                if attr not in types:
                    raise FlowError(f"folding config: layer {n.name} ({n.op_type}) has no attribute '{attr}'")
                self._set(op, n, attr, val)
            for e in op.check_folding():
                raise FlowError(f"folding config: layer {n.name}: {e}")
        self.unused = [k for k in cfg if k not in used]
        if self.warn and self.unused:
            warnings.warn(f"folding config entries without a matching layer: {', '.join(self.unused)}")
        return model, False

    @staticmethod
    def _set(op, n, attr, val):
        kind = op.get_nodeattr_types()[attr][0]
        try:
            op.set_nodeattr(attr, int(val) if kind == "i" else str(val) if kind == "s" else val)
        except (TypeError, ValueError) as e:
            raise FlowError(f"folding config: layer {n.name}: bad value {val!r} for '{attr}' ({e})")
