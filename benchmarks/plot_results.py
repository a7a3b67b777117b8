"""Plot benchmarks/results/vgg16-pruned-224-*.json: FPS per device, coloured by source, the paper's
Table 4 rows in their own panel (a different CPU and model, never on the same axis).

    .venv/bin/python benchmarks/plot_results.py [--out docs/vgg16-pruned-224_fps.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
COLOURS = {"measured": "tab:blue", "rtlsim": "tab:green", "reference": "tab:gray"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("docs/vgg16-pruned-224_fps.png"))
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fpga_flow.report.reference import reference_rows

    ours = []
    for path in sorted(RESULTS.glob("vgg16-pruned-224-*.json")):
        if path.name.count(".") > 1:  # .folding.json / .yosys.json
            continue
        r = json.loads(path.read_text())
        for c in r.get("cpu", {}).values():
            ours.append((f"CPU {c['runtime']}", c["fps"], "measured"))
        ours.append((f"{r['board']} {r['clock_mhz']:g} MHz", r["rtlsim"]["fps"], "rtlsim"))
    ref = [(f"{row.model} {row.device}", row.fps_value, "reference") for row in reference_rows("cls")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [len(ours), len(ref)]})
    for ax, rows, title in ((ax1, ours, "vgg16-pruned 224×224, this machine / rtlsim"),
                            (ax2, ref, "paper's Table 4 (its CPU and boards)")):
        ax.bar(range(len(rows)), [r[1] for r in rows], color=[COLOURS[r[2]] for r in rows])
        ax.set_xticks(range(len(rows)), [r[0] for r in rows], rotation=20, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(0.3, 3000)
        ax.set_title(title, fontsize=9)
        for i, r in enumerate(rows):
            ax.text(i, r[1], f"{r[1]:.1f}\n[{r[2]}]", ha="center", va="bottom", fontsize=7)
    ax1.set_ylabel("frames / s (log)")
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=120)
    print(a.out)


if __name__ == "__main__":
    main()
