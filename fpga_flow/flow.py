"""End-to-end flows: `bitstream` (one model/board) and `demo` (the embedded default)."""

from __future__ import annotations

import typer

from fpga_flow.errors import NotBuiltYet


def register(app: typer.Typer) -> None:
    @app.command("bitstream", help="train -> prune -> quantize -> build -> rtlsim -> synth -> bitstream -> deploy (not built yet)")
    def bitstream(model: str = typer.Option("vgg16-pruned"), board: str = typer.Option("Pynq-Z2")) -> None:
        raise NotBuiltYet("`fpga-flow bitstream` is not built yet")

    @app.command("demo", help="the whole flow on the synthetic ISIC set, ending in the report (not built yet)")
    def demo() -> None:
        raise NotBuiltYet("`fpga-flow demo` is not built yet")
