"""CLI commands of fpga_flow.synth: ``fpga-flow synth --build DIR [--board B]``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from fpga_flow.cli_options import FlowCommand, board_name, existing_dir

console = Console()


def print_report(report: dict) -> None:
    keys = ("lut", "ff", "dsp", "bram18", "uram")
    table = Table(title=f"Yosys synth_xilinx -family {report['board']['family']} ({report['board']['name']}, "
                        f"{report['board']['part']})")
    table.add_column("layer", no_wrap=True)
    table.add_column("module", no_wrap=True)
    for k in keys:
        table.add_column(k.upper(), justify="right")
    table.add_column("depth", justify="right")
    for name, v in report["layers"].items():
        r = v["resources"]
        table.add_row(name, v.get("module", ""), *(str(r.get(k, 0)) for k in keys), str(v.get("logic_depth") or "-"))
    if report.get("top"):
        r = report["top"]["resources"]
        table.add_row("stitched top", report["top"]["top"], *(str(r.get(k, 0)) for k in keys),
                      str(report["top"].get("logic_depth") or "-"))
    t = report["total"]
    table.add_row("total", t["scope"], *(str(t.get(k, 0)) for k in keys), "")
    table.add_row("budget", "", *(str(report["budget"][k]) for k in keys), "")
    table.add_row("used", "", *(f"{100 * report['utilization'][k]:.1f}%" for k in keys), "")
    console.print(table)
    if report.get("timing_risk"):
        console.print(f"timing risk at {report['board']['clock_mhz']:g} MHz (estimate from logic depth): "
                      f"{', '.join(report['timing_risk'])}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("synth", cls=FlowCommand, help="Yosys resources (per layer + stitched top) and the Vivado bitstream of a build.")
    def _synth(
        build: Path = typer.Option(..., "--build", callback=existing_dir, help="build folder (build/<model>-<board>)"),
        board: Optional[str] = typer.Option(None, "--board", callback=board_name,
                                             help="board name (default: from the build)"),
        layers: bool = typer.Option(True, "--layers/--no-layers", help="each hardware layer out-of-context"),
        top: bool = typer.Option(True, "--top/--no-top", help="the stitched top in rtl/"),
        top_module: Optional[str] = typer.Option(None, "--top-module", help="name of the stitched top module"),
        jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=256, help="parallel yosys runs"),
        vivado: bool = typer.Option(True, "--vivado/--no-vivado", help="write the Vivado project, build if vivado is on PATH"),
        no_check: bool = typer.Option(False, "--no-budget-check", help="report only, do not fail over budget"),
        require_bitstream: bool = typer.Option(False, "--require-bitstream",
                                               help="exit 3 when no bitstream is built (no vivado on PATH); "
                                                    "default: say so and exit 0"),
    ) -> None:
        from fpga_flow.synth.report import check_budget
        from fpga_flow.synth.run import REPORT, board_of_build, synthesize
        from fpga_flow.synth.vivado import bitstream

        b = board_of_build(build, board)
        report = synthesize(build, b, layers=layers, top=(top_module or True) if top else False,
                            jobs=jobs, check=False)
        print_report(report)
        console.print(f"wrote {build / REPORT}", highlight=False)
        if not no_check:
            check_budget(report, build / REPORT)
        if vivado:
            from fpga_flow.errors import BitstreamSkipped

            try:
                if not (build / "rtl").is_dir():
                    raise BitstreamSkipped(f"bitstream not built: {build / 'rtl'} not found (run codegen first)")
                bit = bitstream(build, b, top_module)
            except BitstreamSkipped as err:
                if require_bitstream:
                    raise
                console.print(f"{err}; everything but the bitstream is built", style="yellow", highlight=False,
                              soft_wrap=True)
                return
            console.print(f"bitstream: {bit}", highlight=False)
