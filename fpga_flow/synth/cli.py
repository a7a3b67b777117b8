"""CLI commands of fpga_flow.synth."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("synth", help="Yosys resources / Vivado bitstream of a build (not built yet)")
    def _synth() -> None:
        raise NotBuiltYet("`fpga-flow synth` is not built yet")
