"""``run_sweep``: every point of a grid as Ray tasks, progress on the terminal, results on disk.

Quantization runs once per (row, level, bits) and the builds of that export depend on it
(an ObjectRef argument: Ray schedules the build when the export is done). Points whose folder
exists are read back, not recomputed, so an interrupted sweep resumes. A point that fails
(FlowError in its build, a crashed worker after ``max_retries``, a failed export) is reported
in the table and the other points go on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fpga_flow.sweep.grid import Point, SweepGrid
from fpga_flow.sweep.points import POINT_FILE, build_point, quantize_point, read_json, write_atomic
from fpga_flow.sweep.results import Constraints, write_results


@dataclass
class SweepResult:
    root: Path
    rows: list[dict]
    pareto: list[str]
    best: dict[str, str | None]
    wall_s: float
    reused: int
    files: dict[str, Path] = field(default_factory=dict)

    def by_key(self) -> dict[str, dict]:
        return {r["key"]: r for r in self.rows}


def run_sweep(grid: SweepGrid, root: str | Path, *, address: str | None = None, num_cpus: int | None = None,
              cpus_per_point: float = 1.0, memory_mb: int | None = None, max_retries: int = 1,
              constraints: Constraints | None = None, console: Console | None = None,
              plot: bool = True) -> SweepResult:
    from fpga_flow.sweep.cluster import cluster_cpus, ray_session

    grid.validate()
    console = console or Console(stderr=True)
    root = Path(root).resolve()
    points = grid.points()
    keys = [p.key() for p in points]
    if len(set(keys)) != len(keys):
        points = list({k: p for k, p in zip(keys, points)}.values())
        keys = [p.key() for p in points]
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / "grid.json", json.dumps(grid.to_dict(), indent=1, default=str) + "\n")
    t0 = time.time()
    records: dict[str, dict] = {}
    for k in keys:
        if (rec := read_json(root / "points" / k / POINT_FILE)) is not None:
            records[k] = rec
    reused = len(records)
    todo = [(k, p) for k, p in zip(keys, points) if k not in records]
    cluster: dict = {}
    if todo:
        with ray_session(address, num_cpus):
            import ray

            cluster = {"address": address or "local", "cpus": cluster_cpus(),
                       "nodes": len([n for n in ray.nodes() if n.get("Alive")])}
            records.update(_run_tasks(todo, root, cpus_per_point, memory_mb, max_retries, console, reused,
                                      len(points)))
    rows = [records[k] for k in keys]
    wall = time.time() - t0
    files, pareto, best = write_results(root, rows, grid, constraints or Constraints(), wall, cluster, reused, plot)
    ok = sum(r.get("status") == "ok" for r in rows)
    console.print(f"sweep: {ok}/{len(rows)} points built ({reused} reused), {len(rows) - ok} failed, "
                  f"{wall:.1f} s; {files['json']}", highlight=False)
    return SweepResult(root, rows, pareto, best, wall, reused, files)


def _run_tasks(todo: list[tuple[str, Point]], root: Path, cpus: float, memory_mb: int | None, retries: int,
               console: Console, reused: int, total: int) -> dict[str, dict]:
    import ray
    from ray.exceptions import RayError

    opts: dict = {"num_cpus": cpus, "max_retries": retries}
    if memory_mb:
        opts["memory"] = int(memory_mb) * 1024 * 1024
    quantize = ray.remote(**opts)(quantize_point)
    build = ray.remote(**opts)(build_point)
    exports: dict[str, ray.ObjectRef] = {}
    pending: dict[ray.ObjectRef, tuple[str, Point]] = {}
    for key, p in todo:
        qk = p.quant.key()
        if qk not in exports:
            exports[qk] = quantize.options(name=f"quantize {p.quant.label()}").remote(p.quant, str(root))
        pending[build.options(name=f"build {p.label()}").remote(p, exports[qk], str(root))] = (key, p)
    out: dict[str, dict] = {}
    failed = 0
    columns = (TextColumn("[bold]sweep[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn())
    slots = max(1, int(ray.cluster_resources().get("CPU", 1) // max(cpus, 1e-3)))

    def status() -> str:
        flying = len(pending)
        return (f"done {len(out) - failed + reused}, running {min(flying, slots)}, "
                f"queued {max(0, flying - slots)}, failed {failed}")

    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(status(), total=total, completed=reused)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                key, p = pending.pop(ref)
                try:
                    rec = ray.get(ref)
                except RayError as err:  # worker died past its retries, or the export failed
                    rec = {"key": key, "label": p.label(), **p.settings(), "status": "failed",
                           "error": _first_line(err)}
                out[key] = rec
                if rec.get("status") != "ok":
                    failed += 1
                    console.print(f"[red]failed[/] {p.label()}: {rec.get('error')}", highlight=False)
                bar.update(task, advance=1)
                if not console.is_terminal:  # rich draws no bar in a log: a line per finished point instead
                    console.print(f"sweep: {rec.get('status')} {p.label()} ({status()})", highlight=False,
                                  markup=False)
            bar.update(task, description=status())
    return out


def _first_line(err: Exception) -> str:
    """A Ray error's cause in one line (RayTaskError carries the remote traceback)."""
    cause = getattr(err, "cause", None)
    if cause is not None and not isinstance(cause, type(err)):
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1] if str(cause).strip() else ''}"
    lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"
