"""Assemble the report as blocks, then write Markdown (PNG files beside it) and HTML (PNGs embedded)."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
from dataclasses import dataclass
from pathlib import Path

from fpga_flow.errors import FlowError
from fpga_flow.report import plots, tables
from fpga_flow.report.collect import ModelReport, collect, find_builds
from fpga_flow.report.reference import PAPER, SHORT, TABLE4_CAPTION

SOURCES_NOTE = ("Every figure carries its source: `measured` = wall clock (this CPU, or the board), "
                "`rtlsim` = Verilator cycles per frame ÷ board clock, `estimate` = the compiler's analytic model. "
                "Our CPU rows run the same pruned float model (and its quantized QCDQ form), batch 1, denormals flushed to zero; our speedups are against the "
                "fastest CPU runtime we measured on this machine (marked *baseline*); "
                "the reference rows are the paper's own numbers against its own CPU and are shown beside ours, never mixed in.")
LATENCY_NOTE = ("Inference time is the latency of one frame (in to out); FPS counts frames when they stream back to "
                "back, so on the pipelined FPGA 1/FPS (set by the slowest layer) is shorter than the latency, while "
                "on the CPU (batch 1, one frame at a time) FPS = 1/latency.")


@dataclass
class Block:
    kind: str  # h1 h2 h3 p list table img
    text: str = ""
    items: list | None = None
    table: tables.Table | None = None
    path: Path | None = None


@dataclass
class Report:
    blocks: list[Block]
    models: list[ModelReport]
    markdown_path: Path | None = None
    html_path: Path | None = None


def _config_line(rep: ModelReport) -> str:
    c = rep.config
    if not c:
        return ""
    parts = []
    if c.get("image_size"):
        parts.append(f"input {c['image_size']}×{c['image_size']}")
    if c.get("width"):
        parts.append(f"width ×{c['width']}")
    if c.get("wbits"):
        parts.append(f"W{c['wbits']}A{c.get('abits', '?')}")
    if c.get("data") in (None, "None"):
        parts.append("synthetic ISIC data")
    return " — " + ", ".join(parts) + " (the reference rows are full-size VGG16/SegNet at 224×224 on real ISIC)"


def model_blocks(rep: ModelReport, plot_dir: Path) -> list[Block]:
    word = {"cls": "classification", "seg": "segmentation"}.get(rep.task, rep.task)
    out = [Block("h2", f"{rep.model} on {rep.board} ({word})"),
           Block("p", f"Build folder: `{rep.folder}`" + _config_line(rep))]
    out.append(Block("h3", "Inference time, FPS and speedup"))
    out.append(Block("p", LATENCY_NOTE))
    if rep.rows:
        out.append(Block("table", table=tables.perf_table(rep)))
    else:
        out.append(Block("p", "**No performance figures yet** (no bench JSON, no estimates.json)."))
    out.append(Block("p", f"Reference ({PAPER}, from {SHORT}; full-size models at 224×224 on its own CPU, "
                          "not our measurements):"))
    out.append(Block("table", table=tables.reference_table(rep.task)))
    pr = tables.pruning_table(rep)
    if pr is not None:
        out += [Block("h3", "Pruning (SeReNe + simplify, channels rounded to hardware-friendly multiples)"),
                Block("table", table=pr)]
    acc = tables.accuracy_table(rep)
    out.append(Block("h3", "Accuracy"))
    out.append(Block("table", table=acc) if acc else Block("p", "**Missing:** `metrics.json` (accuracy of float / pruned / quantized / hardware)."))
    warnings = (rep.metrics or {}).get("warnings") or []
    if warnings:  # a stage that lost more than its row's bound (fpga_flow.stage_accuracy)
        out.append(Block("list", items=[f"**Warning:** {w}" for w in warnings]))
    res = tables.resources_table(rep)
    out.append(Block("h3", "Resources"))
    out.append(Block("table", table=res) if res else Block("p", "**Missing:** `synth/report.json` and resource estimates."))
    for key, fn, title in plots.PLOTS:
        p = fn(rep, plot_dir / f"{rep.folder.name}_{key}.png")
        if p is not None:
            out.append(Block("img", text=title, path=p))
    if rep.missing:
        out.append(Block("h3", "Missing from this build"))
        out.append(Block("list", items=list(rep.missing)))
    return out


def build_report(build_root: str | Path, out_dir: str | Path | None = None) -> Report:
    root = Path(build_root)
    out = Path(out_dir) if out_dir else root / "report"
    plot_dir = out / "plots"
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    blocks = [Block("h1", "fpga_flow: CPU vs FPGA report"), Block("p", f"Generated {stamp} from `{root}`."),
              Block("p", SOURCES_NOTE)]
    models = [collect(b) for b in find_builds(root) if b.resolve() != out.resolve()]
    if not models:
        blocks.append(Block("p", f"**No built models under `{root}`.** Run `fpga-flow demo` or "
                                 "`fpga-flow bitstream --model vgg16-pruned --board Pynq-Z2` first."))
    for rep in models:
        blocks += model_blocks(rep, plot_dir)
    blocks += [Block("h2", "Reference Table 4"), Block("p", TABLE4_CAPTION), Block("table", table=tables.reference_table(None))]
    return Report(blocks, models)


def to_markdown(blocks: list[Block], base: Path) -> str:
    lines = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            lines.append("#" * int(b.kind[1]) + " " + b.text)
        elif b.kind == "p":
            lines.append(b.text)
        elif b.kind == "list":
            lines.append("\n".join(f"- {i}" for i in b.items))
        elif b.kind == "table":
            lines.append(b.table.markdown())
        elif b.kind == "img":
            rel = b.path.relative_to(base) if b.path.is_relative_to(base) else b.path
            lines.append(f"![{b.text}]({rel.as_posix()})")
        lines.append("")
    return "\n".join(lines)


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"\*(.+?)\*", r"<i>\1</i>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def to_html(blocks: list[Block]) -> str:
    body = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            body.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "list":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.table.header)
            rows = "".join("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>" for r in b.table.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "img":
            data = base64.b64encode(b.path.read_bytes()).decode()
            body.append(f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}"/>'
                        f"<figcaption>{html.escape(b.text)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:90%}"
             "th{background:#f0f0f0}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>fpga_flow report</title><style>{style}</style>"
            f"</head><body>{''.join(body)}</body></html>\n")


def write_report(build_root: str | Path = "build", out_dir: str | Path | None = None) -> Report:
    """Render ``report.md`` (+ plots/*.png) and ``report.html`` (plots embedded) into ``out_dir``."""
    root = Path(build_root)
    if not root.exists():
        raise FlowError(f"build root {root} not found (expected a folder of <model>-<board>/ builds)")
    if not root.is_dir():
        raise FlowError(f"build root {root} is not a folder")
    out = Path(out_dir) if out_dir else root / "report"
    rep = build_report(build_root, out)
    if not any(m.has_figures for m in rep.models):
        # nothing to report: say what is missing, and leave an earlier report as it was
        found = "; ".join(f"{m.folder.name}: missing {', '.join(m.missing[:3])}" for m in rep.models)
        raise FlowError(f"build root {root}: nothing to report: "
                        + (found if found else "no <model>-<board>/ build folders")
                        + " (run `fpga-flow build` / `fpga-flow bench` first)")
    out.mkdir(parents=True, exist_ok=True)
    rep.markdown_path = out / "report.md"
    rep.markdown_path.write_text(to_markdown(rep.blocks, out))
    rep.html_path = out / "report.html"
    rep.html_path.write_text(to_html(rep.blocks))
    return rep
