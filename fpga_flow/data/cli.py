"""CLI commands of fpga_flow.data."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("data", help="ISIC datasets: synthesize, inspect (not built yet)")
    def _data() -> None:
        raise NotBuiltYet("`fpga-flow data` is not built yet")
