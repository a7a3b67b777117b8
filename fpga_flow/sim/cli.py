"""CLI commands of fpga_flow.sim."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("sim", help="Verilator rtlsim of a build (not built yet)")
    def _sim() -> None:
        raise NotBuiltYet("`fpga-flow sim` is not built yet")
