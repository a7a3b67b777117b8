"""CLI commands of fpga_flow.compiler."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("build", help="QONNX -> folded hardware layers + estimates (not built yet)")
    def _build() -> None:
        raise NotBuiltYet("`fpga-flow build` is not built yet")
