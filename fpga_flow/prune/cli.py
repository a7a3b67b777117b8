"""CLI commands of fpga_flow.prune."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("prune", help="structured pruning (SeReNe) + simplify (not built yet)")
    def _prune() -> None:
        raise NotBuiltYet("`fpga-flow prune` is not built yet")
