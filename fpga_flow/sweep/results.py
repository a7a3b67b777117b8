"""The sweep's results: Pareto front, best point per board, ``sweep.json`` / ``sweep.md`` / plot.

Objectives of the front (one front per board): FPS up; LUT, DSP and BRAM share of the board down; accuracy up when
every built point has one (random-weight rows have none, and the table says so).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from fpga_flow.sweep.points import write_atomic

SHARES = ("lut", "dsp", "bram18")


@dataclass(frozen=True)
class Constraints:
    min_accuracy: float | None = None  # fraction in [0, 1]
    max_lut: float | None = None       # shares of the board
    max_dsp: float | None = None
    max_bram: float | None = None

    def violations(self, row: dict) -> list[str]:
        out = []
        u = row.get("utilization", {})
        if self.min_accuracy is not None:
            if row.get("accuracy") is None:
                out.append(f"no accuracy ({row.get('accuracy_note', 'not measured')})")
            elif row["accuracy"] < self.min_accuracy:
                out.append(f"accuracy {row['accuracy']:.3f} < {self.min_accuracy:g}")
        for name, key, lim in (("LUT", "lut", self.max_lut), ("DSP", "dsp", self.max_dsp),
                               ("BRAM", "bram18", self.max_bram)):
            if lim is not None and u.get(key, 0.0) > lim:
                out.append(f"{name} {u.get(key, 0.0):.0%} > {lim:.0%}")
        return out


def built(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("status") == "ok" and r.get("fits", True)]


def objectives(row: dict, with_accuracy: bool) -> tuple[float, ...]:
    """Larger is better in every coordinate."""
    u = row["utilization"]
    v = (row["fps"],) + tuple(-u[k] for k in SHARES)
    return v + ((row["accuracy"],) if with_accuracy else ())


def dominates(a: tuple, b: tuple) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def pareto_front(rows: list[dict]) -> list[str]:
    """Keys of the built points that no built point of the same board dominates (a share of one
    board is not comparable with a share of another: one front per board)."""
    ok = built(rows)
    acc = bool(ok) and all(r.get("accuracy") is not None for r in ok)
    objs = {r["key"]: (r["board"], objectives(r, acc)) for r in ok}
    return [k for k, (b, o) in objs.items()
            if not any(dominates(p, o) for j, (bj, p) in objs.items() if j != k and bj == b)]


def best_per_board(rows: list[dict], cons: Constraints) -> dict[str, str | None]:
    """Per board: the fastest built point within the constraints (ties: the smaller largest share)."""
    best: dict[str, str | None] = {}
    for r in rows:
        best.setdefault(r["board"], None)
    for board in best:
        cands = [r for r in built(rows) if r["board"] == board and not cons.violations(r)]
        if cands:
            top = max(cands, key=lambda r: (r["fps"], -max(r["utilization"][k] for k in SHARES),
                                            -sum(r["utilization"][k] for k in SHARES)))
            best[board] = top["key"]
    return best


def write_results(root: Path, rows: list[dict], grid, cons: Constraints, wall_s: float, cluster: dict,
                  reused: int, plot: bool = True) -> tuple[dict[str, Path], list[str], dict]:
    front = pareto_front(rows)
    best = best_per_board(rows, cons)
    doc = {"source_note": "fps_source / resources_source per point: estimate, rtlsim or yosys",
           "grid": grid.to_dict(), "constraints": asdict(cons), "wall_s": round(wall_s, 2), "cluster": cluster,
           "reused": reused, "points": rows, "pareto": front, "best": best,
           "failed": [r["key"] for r in rows if r.get("status") != "ok"]}
    files = {"json": root / "sweep.json", "md": root / "sweep.md"}
    write_atomic(files["json"], json.dumps(doc, indent=1, default=str) + "\n")
    write_atomic(files["md"], markdown(rows, front, best, cons, wall_s, cluster))
    if plot and built(rows):
        from fpga_flow.sweep.plots import pareto_plot

        files["png"] = pareto_plot(rows, front, root / "pareto.png")
    return files, front, best


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def markdown(rows: list[dict], front: list[str], best: dict, cons: Constraints, wall_s: float,
             cluster: dict) -> str:
    head = ("| point | model | pruned | bits | board | target FPS | FPS | LUT % | DSP % | BRAM % | accuracy "
            "| Pareto | status |\n|" + "---|" * 13 + "\n")
    lines = []
    for r in rows:
        bits = f"w{r['wbits']}a{r['abits']}"
        tgt = "max" if r.get("target_fps") is None else f"{r['target_fps']:g}"
        prune = r.get("prune")
        if r.get("status") == "ok":
            u = r["utilization"]
            src = r["resources_source"]
            acc = f"{r['accuracy']:.3f}" if r.get("accuracy") is not None else f"n/a ({r.get('accuracy_note')})"
            cells = [f"{r['fps']:.1f} [{r['fps_source']}]", f"{_pct(u['lut'])} [{src}]", _pct(u["dsp"]),
                     _pct(u["bram18"]), acc, "yes" if r["key"] in front else "", "ok" if r.get("fits") else
                     "over budget"]
        else:
            cells = ["-", "-", "-", "-", "-", "", f"failed: {str(r.get('error', ''))[:120]}"]
        lines.append(f"| {r['key'][:8]} | {r['model']} | {prune if prune is not None else '-'} | {bits} | "
                     f"{r['board']} | {tgt} | " + " | ".join(cells) + " |")
    by_key = {r["key"]: r for r in rows}
    lim = ", ".join(f"{k}={v:g}" for k, v in asdict(cons).items() if v is not None) or "none"
    best_lines = []
    for board, key in best.items():
        if key is None:
            best_lines.append(f"- {board}: no built point within the constraints")
        else:
            r = by_key[key]
            best_lines.append(f"- {board}: {r['label']} — {r['fps']:.1f} FPS [{r['fps_source']}], LUT "
                              f"{_pct(r['utilization']['lut'])} %, DSP {_pct(r['utilization']['dsp'])} %, BRAM "
                              f"{_pct(r['utilization']['bram18'])} % [{r['resources_source']}]")
    where = f"{cluster.get('address', 'local')} Ray, {cluster.get('cpus', '?')} CPUs" if cluster else "all reused"
    return (f"# Sweep: {len(rows)} points, {len(front)} on the Pareto front\n\n"
            f"Wall time {wall_s:.1f} s ({where}). FPS and resources name their source in brackets "
            "(estimate: compiler model; rtlsim: Verilator; yosys: synth_xilinx).\n\n" + head + "\n".join(lines)
            + f"\n\n## Best point per board (constraints: {lim})\n\n" + "\n".join(best_lines) + "\n")
