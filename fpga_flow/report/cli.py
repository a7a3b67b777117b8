"""CLI commands of fpga_flow.report: ``fpga-flow report``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from fpga_flow.cli_options import FlowCommand, writable


def terminal_table(table):
    """The performance table for a terminal: task and model are in the heading above it, so the rest fits 80
    columns and every header keeps its unit."""
    from rich.table import Table
    from rich.text import Text

    names = {"Inference time [ms]": "Latency [ms]", "FPS": "FPS [frames/s]", "Speedup": "Speedup [×]"}
    keep = [i for i, name in enumerate(table.header) if name not in ("Task", "Model")]
    t = Table()
    for i in keep:
        name = table.header[i]
        # Text, not a str: rich reads "[ms]" in a str as markup and drops it
        t.add_column(Text(names.get(name, name)), justify="right" if name in names else "left",
                     no_wrap=name in names or name == "Source")
    for row in table.rows:
        t.add_row(*(Text(plain(row[i])) for i in keep))
    return t


def plain(cell) -> str:
    """A Markdown table cell as terminal text (`` `measured` **noisy** `` -> ``measured noisy``)."""
    return str(cell).replace("**", "").replace("`", "")


LOG_WIDTH = 132  # a log file or pipe has no width: rich's 80 columns folded every device name into 5 lines


def register(app: typer.Typer) -> None:
    @app.command("report", cls=FlowCommand, help="CPU-vs-FPGA report (Markdown + HTML with plots) for every model under --build-root")
    def _report(
        build_root: Path = typer.Option(Path("build"), "--build-root", help="folder holding <model>-<board>/ build folders"),
        out: Path = typer.Option(None, "--out", callback=writable, help="output folder (default: <build-root>/report)"),
    ) -> None:
        from fpga_flow.report.render import write_report
        from fpga_flow.report.tables import perf_table

        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, LOG_WIDTH))
        rep = write_report(build_root, out)
        for m in rep.models:
            console.print(f"[bold]{m.model} / {m.board}[/]")
            console.print(terminal_table(perf_table(m)) if m.rows else "  no performance figures", highlight=False)
            if m.missing:
                console.print(f"  missing: {'; '.join(m.missing)}", style="yellow", highlight=False)
        if not rep.models:
            console.print(f"no built models under {build_root}", style="yellow")
        console.print(f"wrote {rep.markdown_path} and {rep.html_path}")
