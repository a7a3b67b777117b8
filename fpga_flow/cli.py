"""`fpga-flow`: the command line. Each stage package contributes its commands via ``register``."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from fpga_flow.errors import FlowError

app = typer.Typer(
    help="PyTorch -> prune -> quantize -> QONNX -> dataflow compiler -> RTL/rtlsim -> CPU-vs-FPGA report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

# Order = order in --help, following the data path.
STAGE_CLIS = (
    "fpga_flow.data.cli",
    "fpga_flow.models.cli",
    "fpga_flow.prune.cli",
    "fpga_flow.quant.cli",
    "fpga_flow.compiler.cli",
    "fpga_flow.sim.cli",
    "fpga_flow.synth.cli",
    "fpga_flow.runtime.cli",
    "fpga_flow.report.cli",
    "fpga_flow.table4.cli",
    "fpga_flow.sweep.cli",
    "fpga_flow.flow_cli",
)

for _module in STAGE_CLIS:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point: a FlowError becomes one red line and its exit code, never a traceback.

    Typer's standalone mode already handles usage errors (exit 2) and Ctrl-C; everything else
    that is a FlowError is caught here.
    """
    try:
        app()
    except FlowError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
