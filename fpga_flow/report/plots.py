"""Report plots (matplotlib Agg): FPS/speedup bars, roofline, per-layer cycles, resources, overlays.

Each function returns the PNG path it wrote, or None when its inputs are not in the build folder.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fpga_flow.report.collect import ModelReport  # noqa: E402
from fpga_flow.report.reference import reference_rows  # noqa: E402
from fpga_flow.report.tables import RESOURCES, _lookup, estimate_budget, synth_totals  # noqa: E402

SOURCE_COLOR = {"measured": "#1f77b4", "rtlsim": "#2ca02c", "estimate": "#ff7f0e", "reference": "#9e9e9e"}


def _save(fig, path: Path, dpi: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _log_bars(ax, labels: list[str], vals: list[float | None], colors: list[str], title: str) -> None:
    """Horizontal log-scale bars with value labels that stay inside the panel (the x axis leaves them room)."""
    y = np.arange(len(labels))[::-1]
    finite = [v for v in vals if v]
    ax.barh(y, [v if v else np.nan for v in vals], color=colors)
    ax.set_xscale("log")
    if finite:
        ax.set_xlim(min(finite) / 3, max(finite) * 12)
    ax.set_title(title, fontsize=9)
    ax.set_yticks(y, labels, fontsize=8)
    for yy, v in zip(y, vals):
        if v:
            ax.text(v * 1.1, yy, f"{v:,.0f}" if v >= 1000 else f"{v:.3g}", va="center", fontsize=7, clip_on=True)


def fps_speedup_plot(rep: ModelReport, path: Path) -> Path | None:
    """Our rows (coloured by source) on top; the reference's 224×224 rows in their own panels below, so a toy
    build's bars never share an axis with the paper's."""
    if not rep.rows:
        return None
    ours = [(f"{r.device.split(' — ')[0]}", r.fps, r.speedup, r.source) for r in rep.rows]
    ref = [(f"{r.model} {r.device}", r.fps_value, r.speedup_value, "reference") for r in reference_rows(rep.task)]
    n_ours, n_ref = len(ours), max(1, len(ref))
    fig, axes = plt.subplots(2 if ref else 1, 2, figsize=(11, 0.42 * (n_ours + n_ref) + 2.6), squeeze=False,
                             gridspec_kw={"height_ratios": [n_ours, n_ref] if ref else [1]})
    size = _size_words(rep)
    for row, rows, who in ((0, ours, f"ours ({size})"), (1, ref, "reference Table 4 (224×224)")):
        if not rows:
            continue
        colors = [SOURCE_COLOR[r[3]] for r in rows]
        _log_bars(axes[row][0], [r[0] for r in rows], [r[1] for r in rows], colors, f"{who}: FPS (log)")
        _log_bars(axes[row][1], [""] * len(rows), [r[2] for r in rows], colors, "speedup vs own CPU (log)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in SOURCE_COLOR.values()]
    fig.legend(handles, list(SOURCE_COLOR), loc="lower center", ncol=4, fontsize=8, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{rep.model} on {rep.board}: ours (coloured by source) and the reference (grey), separate axes",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _size_words(rep: ModelReport) -> str:
    c = rep.config or {}
    if c.get("image_size"):
        return f"{c['image_size']}×{c['image_size']}" + (f", width ×{c['width']:g}" if c.get("width") else "")
    return "this build"


def roofline_plot(rep: ModelReport, path: Path) -> Path | None:
    est = rep.estimates
    if not est or not est.macs_per_frame or not est.clock_mhz:
        return None
    f = est.clock_mhz * 1e6
    units = np.logspace(0, max(4.0, np.log10(est.mac_units or 1) + 1.5), 100)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(units, f * units / est.macs_per_frame, "k-", label=f"roofline: f_clk·MAC units / {est.macs_per_frame:.3g} MACs")
    if est.mac_units:
        roof = f * est.mac_units / est.macs_per_frame
        ax.axvline(est.mac_units, color="#bbb", ls=":")
        for r in rep.rows:
            if not r.is_cpu:
                ax.plot(est.mac_units, r.fps, "o", color=SOURCE_COLOR.get(r.source, "k"),
                        label=f"{r.source}: {r.fps:.3g} FPS ({100 * r.fps / roof:.0f} % of roof)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MAC units (Σ PE·SIMD)")
    ax.set_ylabel("frames / s")
    ax.set_title(f"{rep.model} roofline at {est.clock_mhz:g} MHz", fontsize=10)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _layer_cycles(layer: dict) -> float | None:
    for k in ("cycles", "exp_cycles", "cycles_per_frame", "estimated_cycles"):
        if isinstance(layer.get(k), (int, float)):
            return float(layer[k])
    return None


def layer_cycles_plot(rep: ModelReport, path: Path) -> Path | None:
    layers = [(str(l.get("name", i)), _layer_cycles(l)) for i, l in enumerate(rep.estimates.layers if rep.estimates else [])]
    layers = [(n, c) for n, c in layers if c]  # FIFOs / width converters have no cycle model (0)
    if not layers:
        return None
    bench = next((b for b in _benches(rep) if b.get("backend") == "rtlsim"), {})
    rtl = (bench.get("details") or {}).get("layer_cycles") or {}
    # horizontal bars: one readable name per row, however many layers
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.28 * len(layers) + 1.5)))
    y = np.arange(len(layers))[::-1]
    h = 0.4 if rtl else 0.8
    ax.barh(y + (h / 2 if rtl else 0), [c for _, c in layers], h, color=SOURCE_COLOR["estimate"], label="estimate")
    if rtl:
        ax.barh(y - h / 2, [rtl.get(n, np.nan) for n, _ in layers], h, color=SOURCE_COLOR["rtlsim"], label="rtlsim")
    ax.set_xscale("log")
    ax.set_yticks(y, [n for n, _ in layers], fontsize=7)
    ax.set_xlabel("cycles / frame (log)")
    ax.set_title(f"{rep.model}: per-layer cycles (the slowest layer sets the FPS)", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _benches(rep: ModelReport) -> list[dict]:
    from fpga_flow.runtime.buildinfo import read_benches

    return read_benches(rep.folder)


def resources_plot(rep: ModelReport, path: Path) -> Path | None:
    used, budget = synth_totals(rep.synth)
    budget = budget or estimate_budget(rep)
    est = rep.estimates.resources if rep.estimates else None
    if not budget or not (used or est):
        return None
    keys = [k for k in RESOURCES if _lookup(budget, k)]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(keys))
    for off, data, label, color in ((-0.2, est, "estimate", SOURCE_COLOR["estimate"]), (0.2, used, "Yosys", "#8c564b")):
        if data:
            vals = [100 * (_lookup(data, k) or 0) / _lookup(budget, k) for k in keys]
            ax.bar(x + off, vals, 0.4, label=label, color=color)
    ax.axhline(100, color="r", ls="--", lw=1, label=f"{rep.board} budget")
    ax.set_xticks(x, [k.upper() for k in keys])
    ax.set_ylabel("% of board budget")
    ax.set_title(f"{rep.model}: resources on {rep.board}", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def seg_overlay_plot(rep: ModelReport, path: Path, n: int = 4) -> Path | None:
    td = rep.folder / "deploy" / "test_data"
    if rep.task != "seg" or not (td / "inputs.npy").is_file() or not (td / "expected_pred.npy").is_file():
        return None
    imgs, masks = np.load(td / "inputs.npy")[:n], np.load(td / "expected_pred.npy")[:n]
    gt = np.load(td / "labels.npy")[:n] if (td / "labels.npy").is_file() else None
    fig, axes = plt.subplots(1, len(imgs), figsize=(2.6 * len(imgs), 2.8), squeeze=False)
    for ax, img, m, i in zip(axes[0], imgs, masks, range(len(imgs))):
        rgb = img.transpose(1, 2, 0)
        rgb = (rgb - rgb.min()) / (np.ptp(rgb) + 1e-9)
        ax.imshow(rgb)
        from matplotlib.colors import ListedColormap

        ax.imshow(np.ma.masked_where(m == 0, m), cmap=ListedColormap(["red"]), alpha=0.45)
        if gt is not None:
            ax.contour(gt[i], levels=[0.5], colors="cyan", linewidths=1)
        ax.axis("off")
    fig.suptitle(f"{rep.model}: accelerator masks (red)" + (", ground truth (cyan)" if gt is not None else ""), fontsize=9)
    return _save(fig, path)


PLOTS = (("fps", fps_speedup_plot, "FPS and speedup (log scale)"),
         ("roofline", roofline_plot, "Roofline"),
         ("layers", layer_cycles_plot, "Per-layer cycles"),
         ("resources", resources_plot, "Resources vs board budget"),
         ("overlay", seg_overlay_plot, "Segmentation overlays"))
