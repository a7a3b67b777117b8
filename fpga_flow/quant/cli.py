"""CLI commands of fpga_flow.quant."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("quantize", help="Brevitas QAT + QONNX export (not built yet)")
    def _quantize() -> None:
        raise NotBuiltYet("`fpga-flow quantize` is not built yet")
