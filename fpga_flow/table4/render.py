"""table4.json -> ``table4.md`` (plots beside it) and ``table4.html`` (plots embedded).

Every figure printed here is read from the JSON document; nothing is computed twice. The reference
rows get their own table, never mixed into our speedups.
"""

from __future__ import annotations

from pathlib import Path

from fpga_flow.report.reference import SHORT, TABLE4_CAPTION
from fpga_flow.report.render import Block, to_html, to_markdown
from fpga_flow.report.tables import Table
from fpga_flow.table4 import plots

HEADER = ["Task", "Model", "Device", "Inference time [ms]", "FPS", "Speedup", "Accuracy", "Source"]
METRIC_WORD = {"balanced_accuracy": "bal. acc.", "iou": "IoU"}


def _num(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def accuracy_cell(r: dict) -> str:
    a = r.get("accuracy")
    if not a:
        return "-"
    own = a.get("this_row") if r["kind"] == "cpu" else a.get("hardware")
    if own is None:
        return "-"
    word = METRIC_WORD.get(a["metric"], a["metric"])
    flo = "" if a.get("float") is None or r["kind"] == "cpu" and r.get("numeric_format") == "fp32" \
        else f" (float {100 * a['float']:.1f} %)"
    return f"{word} {100 * own:.1f} %{flo}, {a['n_images']} img"


def speedup_cell(r: dict) -> str:
    if r.get("is_baseline"):
        return "1.00× (baseline)"
    if r.get("speedup") is None:
        return "-"
    v = r["speedup"]
    return (f"{v:.2f}×" if v >= 0.1 else f"{v:.2g}×") + f" vs {r['baseline']}"  # never a bare "0.00×"


def source_cell(r: dict) -> str:
    if r["status"] != "ok":
        return r["status"]
    src = f"`{r['source']}`"
    if r.get("noisy"):
        src += " **noisy**"
    if r["kind"] == "cpu" and not r.get("fair_baseline") and r.get("fps"):
        src += " (not a baseline: accuracy > 1 point off float)"
    return src


def device_cell(r: dict) -> str:
    if r["kind"] == "cpu":
        return r["device"]
    clock = f" @ {r['clock_mhz']:g} MHz" if r.get("clock_mhz") else ""
    res = r.get("resources") or {}
    fits = {True: ", fits", False: ", does NOT fit"}.get(res.get("fits"), "")
    return f"{r['device']}{clock} ({r.get('numeric_format', '')}{fits})"


def our_table(doc: dict) -> Table:
    rows = sorted(doc["rows"], key=lambda r: (r["task"] != "Classification", r["model"], r["kind"] != "cpu",
                                              r.get("board") or ""))
    return Table(HEADER, [[r["task"], r["model"], device_cell(r), _num(r.get("latency_ms"), ".2f"),
                           _num(r.get("fps"), ",.2f"), speedup_cell(r), accuracy_cell(r), source_cell(r)]
                          for r in rows])


def reference_table(doc: dict) -> Table:
    return Table(HEADER, [[r["task"], r["model"], r["device"], f"{r['latency_ms']:.2f}", f"{r['fps']:.2f}",
                           "-" if r["speedup"] is None else f"{r['speedup']:.2f}×", "-", r["source"]]
                          for r in doc["reference"]])


def blocks(doc: dict, out: Path) -> list[Block]:
    m = doc["machine"]
    b = [Block("h1", "Table 4: CPU vs FPGA"),
         Block("p", f"Generated {m['generated']} on {m['cpu']} (ISA: {', '.join(m['isa']) or 'n/a'}; load average "
                    f"{', '.join(f'{x:.1f}' for x in m['load_average'])}). Every figure carries its source: `measured` "
                    "= wall clock on this CPU, `rtlsim` = Verilator cycles per frame ÷ board clock, `estimate` = the "
                    "compiler's model. Accuracies of a build are on the same test images for every row. The speedup "
                    "of a row divides by the fastest CPU runtime of its task whose accuracy is within 1 point of the "
                    "float model, named in the cell; **noisy** marks a timing that never settled (see below)."),
         Block("h2", "Our rows"), Block("table", table=our_table(doc)),
         Block("h2", f"Reference Table 4 ({SHORT}; its own CPU and boards; not our measurements)"),
         Block("p", TABLE4_CAPTION),
         Block("table", table=reference_table(doc))]
    noisy = [f"{r['model']} {r['device'].split(' - ')[0]}: {'; '.join(r.get('noise') or [])}"
             for r in doc["rows"] if r.get("noisy")]
    if noisy:
        b += [Block("h3", "Noisy timings"), Block("list", items=noisy)]
    bad = [f"{r['model']} on {r.get('board') or 'CPU'}: {r['status']}" for r in doc["rows"] if r["status"] != "ok"]
    if bad:
        b += [Block("h3", "Rows without figures"), Block("list", items=bad)]
    for key, fn, title in plots.PLOTS:
        p = fn(doc, out / "plots" / f"{key}.png")
        if p is not None:
            b.append(Block("img", text=title, path=p))
    return b


def write_outputs(doc: dict, out: Path) -> tuple[Path, Path]:
    out = Path(out)
    bl = blocks(doc, out)
    md = out / "table4.md"
    md.write_text(to_markdown(bl, out))
    html = out / "table4.html"
    html.write_text(to_html(bl).replace("<title>fpga_flow report</title>", "<title>fpga_flow Table 4</title>"))
    return md, html
