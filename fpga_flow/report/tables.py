"""Markdown tables: performance (Table-4 form), the reference rows, accuracy, resources."""

from __future__ import annotations

from dataclasses import dataclass

from fpga_flow.report.collect import ModelReport
from fpga_flow.report.reference import SHORT, reference_rows

RESOURCES = ("lut", "ff", "dsp", "bram18", "uram")
ACC_STAGES = ("float", "pruned", "quantized", "hardware")
ACC_METRICS = {"cls": ("balanced_accuracy", "accuracy"), "seg": ("iou", "dice", "pixel_accuracy")}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> Table:
    return Table(header, rows)


def fmt_ms(v: float) -> str:
    return f"{v:.2f}" if v >= 0.1 else f"{v:.4f}"


def fmt_fps(v: float) -> str:
    return f"{v:,.2f}"


def fmt_speedup(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}×" if v >= 0.1 else f"{v:.2g}×"  # never a bare "0.00×"


PERF_HEADER = ["Task", "Model", "Device", "Inference time [ms]", "FPS", "Speedup", "Source"]


def perf_rows(rep: ModelReport) -> list[list[str]]:
    base = rep.cpu_baseline
    out = []
    for r in rep.rows:
        sp = fmt_speedup(r.speedup)
        if r is base:
            sp += " (baseline)"
        elif base is not None and base.noisy and r.speedup is not None:
            sp += " (noisy baseline)"
        out.append([r.task, r.model, r.device, fmt_ms(r.time_ms), fmt_fps(r.fps), sp,
                    f"`{r.source}`" + (" **noisy**" if r.noisy else "")])
    return out


def perf_table(rep: ModelReport) -> Table:
    return md_table(PERF_HEADER, perf_rows(rep))


def reference_table(task: str | None) -> Table:
    return md_table(PERF_HEADER, [[r.task, r.model, r.device, r.time_ms, r.fps, r.speedup, f"reference ({SHORT})"]
                                  for r in reference_rows(task)])


def _metric_value(entry, key: str) -> float | None:
    if isinstance(entry, dict):
        v = entry.get(key)
        return float(v) if isinstance(v, (int, float)) else None
    return None


def accuracy_table(rep: ModelReport) -> Table | None:
    if not rep.metrics:
        return None
    keys = [k for k in ACC_METRICS.get(rep.task, ()) if any(_metric_value(rep.metrics.get(s), k) is not None for s in ACC_STAGES)]
    if not keys:
        return None
    rows = []
    for stage in ACC_STAGES:
        entry = rep.metrics.get(stage)
        if entry is None:
            rows.append([stage] + ["missing"] * len(keys) + [""])
            continue
        vals = [_metric_value(entry, k) for k in keys]
        note = entry.get("note", "") if isinstance(entry, dict) else ""
        rows.append([stage] + [("-" if v is None else f"{100 * v:.2f} %") for v in vals] + [note])
    return md_table(["Model"] + [k.replace("_", " ") for k in keys] + ["evaluated on"], rows)


def _lookup(d: dict | None, key: str) -> float | None:
    """Case-insensitive resource lookup; BRAM36 counts as two BRAM18."""
    if not isinstance(d, dict):
        return None
    low = {str(k).lower(): v for k, v in d.items()}
    if key in low and isinstance(low[key], (int, float)):
        return float(low[key])
    if key == "bram18":
        if isinstance(low.get("bram36"), (int, float)):
            return 2.0 * low["bram36"]
        if isinstance(low.get("bram"), (int, float)):
            return float(low["bram"])
    return None


def synth_totals(synth: dict | None) -> tuple[dict | None, dict | None]:
    """(used, budget) from synth/report.json."""
    if not isinstance(synth, dict):
        return None, None
    used = synth.get("total") or synth.get("totals") or synth.get("used")
    budget = synth.get("budget")
    if not isinstance(budget, dict) and isinstance(synth.get("board"), dict):
        budget = synth["board"].get("budget")
    return (used if isinstance(used, dict) else None), (budget if isinstance(budget, dict) else None)


def estimate_budget(rep: ModelReport) -> dict | None:
    tot = (rep.estimates.raw.get("total") or {}) if rep.estimates else {}
    return tot.get("budget") if isinstance(tot.get("budget"), dict) else None


def resources_table(rep: ModelReport) -> Table | None:
    used, budget = synth_totals(rep.synth)
    est = rep.estimates.resources if rep.estimates else None
    if not used and not est:
        return None
    budget = budget or estimate_budget(rep)
    rows = []
    for key in RESOURCES:
        e, u, b = _lookup(est, key), _lookup(used, key), _lookup(budget, key)
        if e is None and u is None:
            continue
        ref = u if u is not None else e
        pct = f"{100 * ref / b:.1f} %" if (b and ref is not None) else "-"
        rows.append([key.upper(), "-" if e is None else f"{e:,.0f}", "-" if u is None else f"{u:,.0f}",
                     "-" if b is None else f"{b:,.0f}", pct])
    return md_table(["Resource", "`estimate`", "Yosys (`synth`)", f"{rep.board} budget", "used / budget"], rows)


def pruning_table(rep: ModelReport) -> Table | None:
    """Totals of the prune stage's report (SeReNe + simplify): channels, parameters, MACs."""
    p = rep.prune
    if not isinstance(p, dict) or not p.get("rows"):
        return None
    rows = p["rows"]
    ch_b = sum(r.get("channels_before", 0) for r in rows[:-1])
    ch_a = sum(r.get("channels_after", 0) for r in rows[:-1])
    mac_b = sum(r.get("macs_before", 0) for r in rows)
    mac_a = sum(r.get("macs_after", 0) for r in rows)
    return Table(["", "before", "after", "ratio"], [
        ["hidden channels", f"{ch_b:,}", f"{ch_a:,}", f"{100 * (1 - ch_a / max(ch_b, 1)):.1f} % pruned"],
        ["parameters", f"{p.get('params_before', 0):,}", f"{p.get('params_simplified', 0):,}",
         f"×{p.get('structural_compression', 1):.2f}"],
        ["MACs / frame", f"{mac_b:,}", f"{mac_a:,}", f"×{p.get('macs_ratio', 1):.2f}"],
        [f"val {p.get('metric', '').replace('_', ' ')}", f"{p.get('metric_before', 0):.2f}", f"{p.get('metric_after', 0):.2f}",
         p.get("method", "")],
    ])
