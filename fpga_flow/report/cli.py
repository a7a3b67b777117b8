"""CLI commands of fpga_flow.report."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("report", help="CPU-vs-FPGA report (not built yet)")
    def _report() -> None:
        raise NotBuiltYet("`fpga-flow report` is not built yet")
