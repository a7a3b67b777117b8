"""CLI commands of fpga_flow.runtime."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("bench", help="CPU / rtlsim / PYNQ benchmark (not built yet)")
    def _bench() -> None:
        raise NotBuiltYet("`fpga-flow bench` is not built yet")
