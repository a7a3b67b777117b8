"""CLI commands of fpga_flow.report: ``fpga-flow report``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from fpga_flow.cli_options import FlowCommand, writable


def register(app: typer.Typer) -> None:
    @app.command("report", cls=FlowCommand, help="CPU-vs-FPGA report (Markdown + HTML with plots) for every model under --build-root")
    def _report(
        build_root: Path = typer.Option(Path("build"), "--build-root", help="folder holding <model>-<board>/ build folders"),
        out: Path = typer.Option(None, "--out", callback=writable, help="output folder (default: <build-root>/report)"),
    ) -> None:
        from fpga_flow.report.render import write_report
        from fpga_flow.report.tables import perf_table

        console = Console()
        rep = write_report(build_root, out)
        for m in rep.models:
            console.print(f"[bold]{m.model} / {m.board}[/]")
            console.print(perf_table(m).markdown() if m.rows else "  no performance figures", highlight=False)
            if m.missing:
                console.print(f"  missing: {'; '.join(m.missing)}", style="yellow", highlight=False)
        if not rep.models:
            console.print(f"no built models under {build_root}", style="yellow")
        console.print(f"wrote {rep.markdown_path} and {rep.html_path}")
