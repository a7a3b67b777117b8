"""CLI commands of fpga_flow.models."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("train", help="train a zoo model (not built yet)")
    def _train() -> None:
        raise NotBuiltYet("`fpga-flow train` is not built yet")
