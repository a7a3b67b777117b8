"""Run Table 4: every row on every board, resumable row by row, with a progress display.

For each (row, board): the row source builds it (the flow: train, prune, quantize, compile, rtlsim,
Yosys), the CPU runtimes are timed and scored on the row's float model (first board only: the CPU does
not depend on the board), and the result is kept in ``<out>/rows/<row>-<board>.json``. A re-run reuses
finished rows whose settings are unchanged; a failed row is recorded in the table and retried next time,
and the command exits non-zero after every other row is done.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fpga_flow.errors import FlowError
from fpga_flow.runtime.buildinfo import read_flow, read_json, write_json
from fpga_flow.runtime.driver import CPU_BACKENDS
from fpga_flow.table4 import record
from fpga_flow.table4.cpu_rows import cpu_rows
from fpga_flow.table4.rows import FlowSource, RowSource, Table4Row, select_rows

DEFAULT_BOARDS = ("Pynq-Z2", "ZCU104")


@dataclass
class Table4Config:
    boards: list[str] = field(default_factory=lambda: list(DEFAULT_BOARDS))
    rows: list[str] | None = None  # None: every row the zoo can build
    out: Path = Path("build/table4")
    threads: int = 2
    repeats: int = 30
    force: bool = False  # re-time CPU runtimes and rebuild the table rows even when unchanged
    cpu_backends: tuple[str, ...] = CPU_BACKENDS


@dataclass
class Table4Result:
    doc: dict
    json_path: Path
    markdown_path: Path
    html_path: Path
    failed: list[str]


def _key(row: Table4Row, board: str, cfg: Table4Config, source: RowSource, first_board: bool) -> str:
    settings = {"row": row.name, "board": board, "threads": cfg.threads, "repeats": cfg.repeats,
                "cpu": list(cfg.cpu_backends) if first_board else [], "source": getattr(source, "settings", None),
                "synth": getattr(source, "synth", None)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    from fpga_flow.runtime.backends.cpu import cpu_flags, cpu_name

    isa = sorted(f for f in cpu_flags() if f.startswith(("avx512_vnni", "avx512_bf16", "amx", "avx_vnni")))
    return {"cpu": cpu_name(), "isa": isa, "host": platform.node(), "load_average": list(os.getloadavg()),
            "versions": {p: _version(p) for p in ("torch", "onnxruntime", "openvino")},
            "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def build_one(row: Table4Row, board: str, cfg: Table4Config, source: RowSource, first_board: bool, log) -> list[dict]:
    bdir = source.build(row, board, log)
    flow = read_flow(bdir)
    backends = cfg.cpu_backends if first_board else ("cpu-torch",)  # other boards: the float score only
    cpu = cpu_rows(bdir, row.name, board, row.task, threads=cfg.threads, repeats=cfg.repeats, force=cfg.force,
                   backends=backends, log=log)
    acc = record.accuracies(bdir, row.task, cpu)
    out = [record.fpga_row(bdir, row.name, board, row.task, acc)]
    if first_board:
        out += [record.cpu_row_dict(r, row.name, row.task, flow.get("config") or {}, acc) for r in cpu]
    for r in out:
        r["build_dir"] = str(bdir)
    return out


def failed_row(row: Table4Row, board: str, status: str) -> dict:
    return {"kind": "fpga", "task": record.TASK_WORD[row.task], "model": row.name, "device": f"FPGA {board}",
            "board": board, "clock_mhz": None, "input": None, "weights": None, "fps": None, "latency_ms": None,
            "source": "failed" if status.startswith("failed") else "not built", "noisy": False, "speedup": None,
            "baseline": None, "accuracy": None, "resources": None, "status": status}


def _row_log(progress, bar, row: str, board: str):
    """Each step of a row on the bar; in a log (no terminal: rich draws no bar there) also as a plain line,
    or hours of table4 leave the log silent."""
    plain = not progress.console.is_terminal

    def log(step: str) -> None:
        progress.update(bar, description=f"{step} ({board})")
        if plain:
            progress.console.print(f"{row} on {board}: {step}", highlight=False, markup=False)
    return log


def run_table4(cfg: Table4Config, source: RowSource | None = None, *, build_root: Path = Path("build"),
               console=None) -> Table4Result:
    from fpga_flow.boards import load_board
    from fpga_flow.flow import console as flow_console
    from fpga_flow.table4.render import write_outputs

    for b in cfg.boards:  # validation before any work
        load_board(b)
    rows, unavailable = select_rows(cfg.rows)
    if not rows:
        raise FlowError("table4: no row can be built (" + "; ".join(r.unavailable() for r in unavailable) + ")")
    source = source or FlowSource(build_root)
    console = console or flow_console
    out = Path(cfg.out)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    results, failed = [], []
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("table4", total=len(rows) * len(cfg.boards))
        for row in rows:
            for i, board in enumerate(cfg.boards):
                first = i == 0
                state_path = out / "rows" / f"{row.name}-{board}.json"
                key = _key(row, board, cfg, source, first)
                state = read_json(state_path)
                if not cfg.force and state and state.get("status") == "done" and state.get("key") == key:
                    progress.console.print(f"{row.name} on {board}: done before, reused ({state_path})", style="dim")
                    results += state["rows"]
                    progress.advance(bar)
                    continue
                progress.update(bar, description=f"{row.name} on {board}")
                log = _row_log(progress, bar, row.name, board)
                try:
                    got = build_one(row, board, cfg, source, first, log)
                    write_json(state_path, {"status": "done", "key": key, "rows": got})
                except Exception as err:  # noqa: BLE001 - one row's failure of any kind must not lose the others
                    why = str(err) if isinstance(err, FlowError) else f"{type(err).__name__}: {err}"
                    msg = f"failed: {why}"
                    got = [failed_row(row, board, msg)]
                    failed.append(f"{row.name} on {board}: {why}")
                    write_json(state_path, {"status": "failed", "key": key, "error": why, "rows": got})
                    progress.console.print(f"{row.name} on {board}: {msg}", style="red", highlight=False)
                results += got
                progress.advance(bar)
    for r in unavailable:
        for board in cfg.boards:
            results.append(failed_row(r, board, f"not available: {r.unavailable()}"))
    record.apply_speedups(results)
    doc = {"rows": results, "reference": record.reference_rows(), "machine": machine(),
           "settings": {"boards": cfg.boards, "threads": cfg.threads, "repeats": cfg.repeats,
                        "source": getattr(source, "settings", None), "synth": getattr(source, "synth", None)},
           "failed": failed}
    json_path = write_json(out / "table4.json", doc)
    md, html = write_outputs(doc, out)
    res = Table4Result(doc, json_path, md, html, failed)
    if failed:
        raise Table4Failed(res)
    return res


class Table4Failed(FlowError):
    """Some rows failed; the table (with those rows marked) is written all the same."""

    def __init__(self, result: Table4Result):
        super().__init__(f"table4: {len(result.failed)} row(s) failed: " + " | ".join(result.failed)
                         + f"; the other rows are in {result.markdown_path}")
        self.result = result
