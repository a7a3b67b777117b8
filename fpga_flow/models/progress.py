"""Progress of training, pruning and QAT: a rich bar on a terminal, plain lines in a log.

rich draws nothing when stdout is not a terminal (``make bitstream > log``, CI), so a run of hours
left its log silent until the end. There the same calls print one line per epoch with its
loss/metric and the elapsed time, no more often than every ``PLAIN_INTERVAL_S`` seconds (the
first and the last epoch always), flushed at once. On a terminal only the bar draws: never both.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO, Any

# seconds between two plain lines: short epochs (tiny models, tests) would otherwise flood a log
PLAIN_INTERVAL_S = 30.0


def elapsed_text(seconds: float) -> str:
    """``12.3s``, ``4m05s``, ``2h03m``: short enough for a log line."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


@dataclass
class _Task:
    description: str
    total: int
    started: float                  # time.monotonic() at add_task
    completed: int = 0
    last_line: float | None = None


class PlainProgress:
    """The subset of ``rich.progress.Progress`` the loops use (``add_task``, ``update``, context manager),
    written as plain lines to ``stream``."""

    def __init__(self, stream: IO[str] | None = None, interval_s: float | None = None):
        self.stream = stream
        self.interval_s = PLAIN_INTERVAL_S if interval_s is None else interval_s
        self.tasks: list[_Task] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, description: str, total: int | None = None, **_fields: Any) -> int:
        self.tasks.append(_Task(description, int(total or 0), time.monotonic()))
        return len(self.tasks) - 1

    def update(self, task_id: int, *, advance: int = 0, info: str = "", **_fields: Any) -> None:
        task = self.tasks[task_id]
        task.completed += advance
        now = time.monotonic()
        last = task.completed >= task.total > 0
        due = task.last_line is None or now - task.last_line >= self.interval_s
        if advance and (last or due):
            task.last_line = now
            of = f"/{task.total}" if task.total else ""
            text = f"{task.description}: epoch {task.completed}{of}" + (f", {info}" if info else "")
            stream = self.stream or sys.stdout  # looked up late: pytest's capsys swaps sys.stdout
            stream.write(f"{text}, {elapsed_text(now - task.started)} elapsed\n")
            stream.flush()  # a redirected stdout is block-buffered: the line would wait for kilobytes more


def stdout_is_terminal() -> bool:
    """rich's own test (a TTY, or FORCE_COLOR / TTY_COMPATIBLE set; Jupyter draws bars too)."""
    from rich.console import Console

    console = Console()
    return console.is_terminal or console.is_jupyter


def progress_bar(enabled: bool):
    """A rich bar on a terminal, ``PlainProgress`` otherwise; nothing at all when not ``enabled``."""
    if enabled and not stdout_is_terminal():
        return PlainProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), TextColumn("{task.fields[info]}"), disable=not enabled, transient=False)
