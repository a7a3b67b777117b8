"""``synth/report.json``: Yosys counts per layer and in total, the compiler's estimates beside
them, and the check against the board budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fpga_flow.boards import Board
from fpga_flow.errors import FlowError
from fpga_flow.synth.cells import RESOURCE_KEYS

BUDGET_KEYS = ("lut", "ff", "dsp", "bram18", "uram")
EST_ALIASES = {"lut": ("lut", "LUT", "luts"), "ff": ("ff", "FF", "ffs"), "dsp": ("dsp", "DSP"),
               "bram18": ("bram18", "BRAM18", "bram_18k", "BRAM_18K"), "uram": ("uram", "URAM")}
# Rough delays (ns) to flag deep paths, an estimate and no timing sign-off: FF clock-to-out +
# setup, one LUT level with its routing, one other cell (carry/MUXF) on the path.
DELAY_NS = {"xc7": {"fixed": 1.0, "lut": 0.85, "other": 0.15}, "xcup": {"fixed": 0.6, "lut": 0.5, "other": 0.08}}


def _est_resources(d: Any) -> dict[str, float] | None:
    if not isinstance(d, dict):
        return None
    src = d.get("resources") if isinstance(d.get("resources"), dict) else d
    out = {}
    for key, names in EST_ALIASES.items():
        for n in names:
            v = src.get(n)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[key] = float(v)
                break
    if "bram18" not in out and isinstance(src.get("bram36"), (int, float)):
        out["bram18"] = 2.0 * src["bram36"]
    return out or None


def read_estimates(build_dir: Path) -> tuple[dict[str, dict], dict | None]:
    """(per-layer estimate resources, total) from ``estimates.json``; ({}, None) when absent."""
    path = build_dir / "estimates.json"
    if not path.is_file():
        return {}, None
    try:
        d = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise FlowError(f"{path}: unreadable JSON ({err})") from err
    if not isinstance(d, dict):
        raise FlowError(f"{path}: expected a JSON object")
    layers = d.get("layers") or d.get("nodes") or {}
    if isinstance(layers, list):
        layers = {str(x.get("name", i)): x for i, x in enumerate(layers) if isinstance(x, dict)}
    per_layer = {name: r for name, v in layers.items() if (r := _est_resources(v))}
    total = _est_resources(d.get("total")) or (_est_resources(d) if isinstance(d.get("resources"), dict) else None)
    if total is None and per_layer:
        total = {k: sum(r.get(k, 0.0) for r in per_layer.values()) for k in BUDGET_KEYS}
    return per_layer, total


def sum_resources(items: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(int(r.get(k, 0)) for r in items) for k in RESOURCE_KEYS}


def depth_check(depth: int | None, lut_depth: int | None, board: Board) -> dict:
    """Estimated delay of the deepest path vs the board clock (source: estimate)."""
    if depth is None or lut_depth is None:
        return {}
    d = DELAY_NS[board.family]
    ns = d["fixed"] + d["lut"] * lut_depth + d["other"] * max(0, depth - lut_depth)
    return {"path_delay_ns": round(ns, 2), "clock_period_ns": round(board.clock_period_ns, 3),
            "timing_risk": ns > board.clock_period_ns, "timing_source": "estimate"}


def build_report(board: Board, layers: dict[str, dict], top: dict | None, estimates: tuple[dict, dict | None],
                 tool: str) -> dict:
    """The report dict. ``layers``: name -> SynthResult.as_dict() (+ op_type/module)."""
    est_layers, est_total = estimates
    layer_sum = sum_resources([v["resources"] for v in layers.values()])
    total = dict(top["resources"]) if top else layer_sum
    budget = board.budget()
    util = {k: (total.get(k, 0) / budget[k] if budget[k] else (0.0 if not total.get(k) else float("inf")))
            for k in BUDGET_KEYS}
    over = [k for k in BUDGET_KEYS if total.get(k, 0) > budget[k]]
    for name, v in layers.items():
        key = v.get("node") or name
        if key in est_layers:
            v["estimate"] = {**est_layers[key], "source": "estimate"}
        v.update(depth_check(v.get("logic_depth"), v.get("lut_depth"), board))
    if top:
        top = {**top, **depth_check(top.get("logic_depth"), top.get("lut_depth"), board)}
    return {
        "source": "yosys",
        "tool": tool,
        "board": {"name": board.name, "part": board.part, "family": board.family, "clock_mhz": board.clock_mhz},
        "budget": budget,
        "total": {**{k: total.get(k, 0) for k in RESOURCE_KEYS}, "source": "yosys",
                  "scope": "stitched top" if top else "sum of layers (out-of-context)"},
        "layer_sum": {**layer_sum, "source": "yosys"},
        "top": top,
        "estimate_total": {**est_total, "source": "estimate"} if est_total else None,
        "utilization": {k: round(v, 4) for k, v in util.items()},
        "fits": not over,
        "timing_risk": sorted(n for n, v in layers.items() if v.get("timing_risk"))
        + (["top"] if top and top.get("timing_risk") else []),
        "over_budget": over,
        "layers": layers,
    }


def check_budget(report: dict, path: Path) -> None:
    """FlowError naming each resource over budget and the layers using most of it."""
    if report["fits"]:
        return
    parts = []
    for k in report["over_budget"]:
        used, avail = report["total"][k], report["budget"][k]
        top = sorted(report["layers"].items(), key=lambda kv: -kv[1]["resources"].get(k, 0))[:3]
        worst = ", ".join(f"{n} {v['resources'].get(k, 0)}" for n, v in top if v["resources"].get(k, 0))
        parts.append(f"{k.upper()} {used} > {avail} (most: {worst or 'top-level logic'})")
    raise FlowError(f"design over the {report['board']['name']} budget: {'; '.join(parts)} (report: {path})")
