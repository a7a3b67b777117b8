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
    "BinaryMVAU": ("PE", "SIMD", "mem_mode", "ram_style"),
    "ConvolutionInputGenerator": ("SIMD", "ram_style", "parallel_window"),
    "Thresholding": ("PE",),
    "StreamingMaxPool": ("PE",),
    "UpsampleNearestNeighbour": ("PE",),
    "GlobalAccPool": ("PE",),
    "LabelSelect": ("PE",),
    "VVAU": ("PE", "SIMD"),  # SIMD over the kernel, legal with PE = channels
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


INT_ATTRS = {"PE": 1, "SIMD": 1, "depth": 1, "parallel_window": 0}  # attribute -> smallest legal value
STR_ATTRS = {  # FINN's values (both spellings of mem_mode)
    "mem_mode": ("internal_decoupled", "internal_embedded", "external", "decoupled", "const"),
    "ram_style": ("auto", "block", "distributed", "ultra"),
    "resType": ("auto", "lut", "dsp"),
}


def _check_value(where: str, attr: str, val) -> None:
    if attr in INT_ATTRS:
        if isinstance(val, bool) or not isinstance(val, int) or val < INT_ATTRS[attr] \
                or (attr == "parallel_window" and val > 1):
            want = "0 or 1" if attr == "parallel_window" else f"an integer >= {INT_ATTRS[attr]}"
            raise FlowError(f"{where}: '{attr}' must be {want}, got {json.dumps(val)}")
    elif attr in STR_ATTRS and val not in STR_ATTRS[attr]:
        raise FlowError(f"{where}: '{attr}' must be one of {', '.join(STR_ATTRS[attr])}, got {json.dumps(val)}")


def validate_folding_config(cfg, source: str = "folding config") -> dict:
    """Structure and value checks that need no graph (run before any build work)."""
    if not isinstance(cfg, dict):
        raise FlowError(f"{source}: expected a JSON object of layer entries, got {type(cfg).__name__}")
    defaults = cfg.get("Defaults", {})
    if not isinstance(defaults, dict):
        raise FlowError(f"{source}: 'Defaults' must be an object, got {type(defaults).__name__}")
    for attr, spec in defaults.items():
        val, ops = spec if isinstance(spec, list) and len(spec) == 2 else (spec, "all")
        if not (ops == "all" or (isinstance(ops, list) and all(isinstance(o, str) for o in ops))):
            raise FlowError(f"{source}: Defaults '{attr}' must be [value, [op types] or \"all\"], got {json.dumps(spec)}")
        _check_value(f"{source}: Defaults", attr, val)
    for name, entry in cfg.items():
        if name == "Defaults":
            continue
        if not isinstance(entry, dict):
            raise FlowError(f"{source}: entry '{name}' must be an object of attributes, got {json.dumps(entry)}")
        for attr, val in entry.items():
            if isinstance(val, (dict, list)) or val is None:
                raise FlowError(f"{source}: layer {name}: '{attr}' must be a number or a string, got {json.dumps(val)}")
            _check_value(f"{source}: layer {name}", attr, val)
    return cfg


def load_folding_config(config) -> dict:
    if isinstance(config, dict):
        return validate_folding_config(config)
    p = Path(config)
    if p.is_dir():
        raise FlowError(f"folding config {p} is a folder, expected a JSON file")
    if not p.is_file():
        raise FlowError(f"folding config {p} not found")
    try:
        cfg = json.loads(p.read_text())
    except UnicodeDecodeError:
        raise FlowError(f"folding config {p}: not a text file (expected FINN folding JSON)") from None
    except json.JSONDecodeError as e:
        raise FlowError(f"folding config {p}: invalid JSON ({e})") from None
    except OSError as e:
        raise FlowError(f"folding config {p}: cannot be read ({e.strerror})") from None
    return validate_folding_config(cfg, f"folding config {p}")


def _finn_alias(key: str) -> str:
    return re.sub(r"_(hls|rtl)(?=_\d+$)", "", key)


class ApplyConfig:
    """qonnx v0.4 ApplyConfig semantics: Defaults, then per-node attributes.

    ``matched``: config entries used; ``unused``: entries naming no layer in scope;
    ``missing``: layers in scope without an entry. A StreamingMaxPool without an entry (and no
    PE default) takes all channels of a pixel per cycle, as FINN's does. Every layer in scope is
    checked for a legal folding afterwards, whether an entry or a default set it.
    """

    def __init__(self, config, only_op_types: tuple[str, ...] | None = None, warn: bool = False):
        self.cfg = load_folding_config(config)
        self.only = only_op_types
        self.warn = warn
        self.missing: list[str] = []
        self.unused: list[str] = []
        self.matched: list[str] = []
        self.defaults_applied = 0

    def apply(self, model: ModelWrapper):
        cfg = dict(self.cfg)
        defaults = cfg.pop("Defaults", {}) or {}
        by_name = {}
        for k, v in cfg.items():
            by_name.setdefault(k, k)
            by_name.setdefault(_finn_alias(k), k)
        used = set()
        for n in model.graph.node:
            if n.domain != "fpga_flow.compiler.hw" or (self.only and n.op_type not in self.only):
                continue
            op = getCustomOp(n)
            types = op.get_nodeattr_types()
            set_by_default = set()
            for attr, spec in defaults.items():
                val, ops = spec if isinstance(spec, list) and len(spec) == 2 else (spec, "all")
                if (ops == "all" or n.op_type in ops) and attr in types:
                    self._set(op, n, attr, val)
                    set_by_default.add(attr)
                    self.defaults_applied += 1
            key = by_name.get(n.name)
            if key is None:
                self.missing.append(n.name)
                if n.op_type == "StreamingMaxPool" and "PE" not in set_by_default:
                    op.set_nodeattr("PE", op.get_nodeattr("NumChannels"))
            else:
                used.add(key)
                for attr, val in cfg[key].items():
                    if attr not in types:
                        raise FlowError(f"folding config: layer {n.name} ({n.op_type}) has no attribute '{attr}'")
                    self._set(op, n, attr, val)
            errs = op.check_folding()
            if errs:
                origin = f"entry {key}" if key is not None else "the Defaults"
                raise FlowError(f"folding config: layer {n.name}: {'; '.join(errs)} (set by {origin})")
        self.matched = [k for k in cfg if k in used]
        self.unused = [k for k in cfg if k not in used]
        if self.warn and self.unused:
            warnings.warn(f"folding config entries without a matching layer: {', '.join(self.unused)}")
        return model, False

    @staticmethod
    def _set(op, n, attr, val):
        kind = op.get_nodeattr_types()[attr][0]
        if kind == "i" and (isinstance(val, bool) or not isinstance(val, int)):
            raise FlowError(f"folding config: layer {n.name}: '{attr}' must be an integer, got {json.dumps(val)}")
        if kind == "s" and not isinstance(val, str):
            raise FlowError(f"folding config: layer {n.name}: '{attr}' must be a string, got {json.dumps(val)}")
        try:
            op.set_nodeattr(attr, val)
        except (TypeError, ValueError) as e:
            raise FlowError(f"folding config: layer {n.name}: bad value {val!r} for '{attr}' ({e})")


def unmatched_report(source: str, passes: list[ApplyConfig], layers: list[str]) -> list[str]:
    """Notes on entries no pass used; FlowError when the config matches no layer at all."""
    cfg = passes[0].cfg
    entries = [k for k in cfg if k != "Defaults"]
    used = {k for p in passes for k in p.matched}
    unused = [k for k in entries if k not in used]
    if entries and not used and not any(p.defaults_applied for p in passes):
        raise FlowError(f"{source}: none of its {len(entries)} entries matches a layer of this graph "
                        f"(entries: {_few(entries)}; layers: {_few(layers)})")
    if not entries and not any(p.defaults_applied for p in passes):
        raise FlowError(f"{source}: no entries, and its Defaults apply to no layer of this graph")
    notes = []
    if unused:
        notes.append(f"{source}: {len(unused)} entr{'y' if len(unused) == 1 else 'ies'} match no layer of this graph "
                     f"and were not used (layers that run on the host, or another graph's names): {_few(unused)}")
    return notes


def _few(names: list[str], k: int = 8) -> str:
    return ", ".join(names[:k]) + (f", … ({len(names) - k} more)" if len(names) > k else "")
