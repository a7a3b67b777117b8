"""Table 4 plots (matplotlib Agg), all from table4.json: FPS per row and board beside the reference,
accuracy vs FPS, resources against each board's budget, segmentation masks (float vs hardware).

Each function returns the PNG it wrote, or None when the document has nothing for it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fpga_flow.report.plots import SOURCE_COLOR, _save as _save_report  # noqa: E402
from fpga_flow.report.reference import SHORT  # noqa: E402
from fpga_flow.report.tables import RESOURCES  # noqa: E402


def _save(fig, path: Path) -> Path:
    return _save_report(fig, path, dpi=90)


def _label(r: dict) -> str:
    where = r["board"] if r["kind"] == "fpga" else r["device"].split(" (")[0]
    return f"{r['model']} · {where}" + (" (noisy)" if r.get("noisy") else "")


def fps_plot(doc: dict, path: Path) -> Path | None:
    fig = fps_figure(doc)
    return None if fig is None else _save(fig, path)


def fps_figure(doc: dict):
    """FPS per row (ours, coloured by source) and the reference's rows in a panel of their own."""
    ours = [r for r in doc["rows"] if r.get("fps")]
    if not ours:
        return None
    ref = doc["reference"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 0.32 * max(len(ours), len(ref)) + 1.8),
                                 gridspec_kw={"width_ratios": [3, 2]})
    for ax, rows, title, colors in (
            (a1, ours, "ours: FPS (log), coloured by source", [SOURCE_COLOR.get(r["source"], "k") for r in ours]),
            (a2, ref, f"reference Table 4 ({SHORT}): FPS (log)", [SOURCE_COLOR["reference"]] * len(ref))):
        y = np.arange(len(rows))[::-1]
        vals = [r["fps"] for r in rows]
        ax.barh(y, vals, color=colors)
        ax.set_xscale("log")
        # a decade below the smallest bar (autoscale started near it: bars read as ratios they are not), and
        # room right of the largest for its value label
        ax.set_xlim(min(vals) / 10, max(vals) * 6)
        ax.set_yticks(y, [_label(r) if ax is a1 else f"{r['model']} · {r['device']}" for r in rows], fontsize=7)
        ax.set_title(title, fontsize=9)
        for yy, v in zip(y, vals):
            ax.text(v, yy, f" {v:.3g}", va="center", fontsize=6)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in SOURCE_COLOR.values()]
    fig.legend(handles, list(SOURCE_COLOR), loc="lower center", ncol=4, fontsize=7)
    fig.subplots_adjust(bottom=0.12)
    return fig


def accuracy_fps_plot(doc: dict, path: Path) -> Path | None:
    pts = []
    for r in doc["rows"]:
        a = r.get("accuracy") or {}
        acc = a.get("this_row") if r["kind"] == "cpu" else a.get("hardware")
        if r.get("fps") and acc is not None:
            pts.append((r, acc))
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (r, acc) in enumerate(pts):
        ax.scatter(r["fps"], 100 * acc, color=SOURCE_COLOR.get(r["source"], "k"), marker="o" if r["kind"] == "cpu" else "s")
        ax.annotate(_label(r), (r["fps"], 100 * acc), fontsize=6, xytext=(3, 2 + 7 * (i % 4)), textcoords="offset points",
                    rotation=20)
    ax.set_xscale("log")
    ax.set_xlabel("FPS (log)")
    ax.set_ylabel("accuracy on the build's test images [%]")
    ax.set_title("accuracy vs FPS (circles: CPU runtimes, squares: accelerators)", fontsize=9)
    return _save(fig, path)


def resources_plot(doc: dict, path: Path) -> Path | None:
    rows = [r for r in doc["rows"] if r["kind"] == "fpga" and (r.get("resources") or {}).get("budget")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(rows) + 2), 4))
    w = 0.8 / len(RESOURCES)
    x = np.arange(len(rows))
    for i, k in enumerate(RESOURCES):
        vals = []
        for r in rows:
            res = r["resources"]
            budget = {str(b).lower(): v for b, v in res["budget"].items()}.get(k)
            vals.append(100 * (res.get(k) or 0) / budget if budget else np.nan)
        ax.bar(x + (i - len(RESOURCES) / 2 + 0.5) * w, vals, w, label=k.upper())
    ax.axhline(100, color="r", ls="--", lw=1, label="board budget")
    ax.set_xticks(x, [f"{r['model']}\n{r['board']} [{r['resources'].get('source', '?')}]" for r in rows], fontsize=7)
    ax.set_ylabel("% of the board's budget")
    ax.set_title("resources against each board's budget", fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    return _save(fig, path)


def seg_overlay_plot(doc: dict, path: Path, n: int = 3) -> Path | None:
    panels = []
    for r in doc["rows"]:
        if r["kind"] != "fpga" or r["task"] != "Segmentation" or not r.get("build_dir"):
            continue
        sim = Path(r["build_dir"]) / "sim"
        files = [sim / f for f in ("test_inputs.npy", "float_pred.npy", "test_pred.npy")]
        if all(f.is_file() for f in files):
            x, fl, hw = (np.load(f)[:n] for f in files)
            panels += [(r, img, f, h) for img, f, h in zip(x, fl, hw)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3), squeeze=False)
    for ax, (r, img, fl, hw) in zip(axes[0], panels):
        rgb = img.transpose(1, 2, 0)
        ax.imshow((rgb - rgb.min()) / (np.ptp(rgb) + 1e-9))
        ax.imshow(np.ma.masked_where(hw == 0, hw), cmap=matplotlib.colors.ListedColormap(["red"]), alpha=0.4)
        if fl.any() and not fl.all():
            ax.contour(fl, levels=[0.5], colors="cyan", linewidths=1)
        ax.set_title(f"{r['model']} · {r['board']}", fontsize=7)
        ax.axis("off")
    fig.suptitle("hardware mask (red fill) and float model mask (cyan outline)", fontsize=9)
    return _save(fig, path)


PLOTS = (("fps", fps_plot, "FPS per row and board (log), reference beside"),
         ("accuracy_fps", accuracy_fps_plot, "Accuracy vs FPS"),
         ("resources", resources_plot, "Resources against each board's budget"),
         ("seg_overlay", seg_overlay_plot, "Segmentation: float and hardware masks"))
