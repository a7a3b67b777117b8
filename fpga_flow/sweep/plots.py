"""The sweep's plot: FPS against the largest board share (LUT/DSP/BRAM) per board, Pareto front
marked; accuracy against FPS beside it, or a note when the points have no accuracy."""

from __future__ import annotations

from pathlib import Path


MARKERS = "os^Dv<>p*h"


def _share(r: dict) -> float:
    return max(r["utilization"][k] for k in ("lut", "dsp", "bram18"))


def pareto_plot(rows: list[dict], front: list[str], path: Path) -> Path:
    import os
    import uuid

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fpga_flow.sweep.results import built

    ok = built(rows)
    boards = sorted({r["board"] for r in ok})
    bits = sorted({(r["wbits"], r["abits"]) for r in ok})
    colors = {b: f"C{i}" for i, b in enumerate(boards)}
    marks = {b: MARKERS[i % len(MARKERS)] for i, b in enumerate(bits)}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.4))
    for r in ok:
        on = r["key"] in front
        ax.scatter(_share(r), r["fps"], c=colors[r["board"]], marker=marks[(r["wbits"], r["abits"])], s=60 if on else 30,
                   edgecolors="black" if on else "none", linewidths=1.2, alpha=1.0 if on else 0.55)
    for b in boards:
        pts = sorted((_share(r), r["fps"]) for r in ok if r["board"] == b and r["key"] in front)
        if pts:
            ax.plot(*zip(*pts), c=colors[b], lw=1, alpha=0.7)
    fps_src = "/".join(sorted({r["fps_source"] for r in ok}))
    res_src = "/".join(sorted({r["resources_source"] for r in ok}))
    ax.set_xlabel(f"largest share of the board: max(LUT, DSP, BRAM) [{res_src}]")
    ax.set_ylabel(f"FPS [{fps_src}]")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], ls="", marker="o", c=colors[b], label=b) for b in boards]
    handles += [plt.Line2D([], [], ls="", marker=marks[w], c="gray", label=f"w{w[0]}a{w[1]}") for w in bits]
    handles.append(plt.Line2D([], [], ls="", marker="o", mfc="none", mec="black", label="Pareto front"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title(f"{len(ok)} points, {len(front)} on the Pareto front")
    with_acc = [r for r in ok if r.get("accuracy") is not None]
    if with_acc:
        for r in with_acc:
            bx.scatter(r["fps"], r["accuracy"], c=colors[r["board"]], marker=marks[(r["wbits"], r["abits"])],
                       edgecolors="black" if r["key"] in front else "none")
        bx.set_xscale("log")
        bx.set_xlabel(f"FPS [{fps_src}]")
        bx.set_ylabel(with_acc[0].get("accuracy_metric", "accuracy"))
        bx.grid(alpha=0.3)
        bx.set_title("accuracy of the quantized model")
    else:
        notes = sorted({r.get("accuracy_note", "not measured") for r in ok})
        bx.axis("off")
        bx.text(0.5, 0.5, "no accuracy:\n" + "\n".join(notes), ha="center", va="center", fontsize=11)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
