"""CLI command of fpga_flow.sweep: ``fpga-flow sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from fpga_flow.cli_options import FlowCommand, positive, writable


def register(app: typer.Typer) -> None:
    @app.command("sweep", cls=FlowCommand, help="Design-space sweep on Ray: every combination of --model x --prune x --bits x "
                               "--board x --target-fps x --budget-fraction is one build (a Ray task); writes "
                               "sweep.json, sweep.md and pareto.png under --out. Built points are reused.")
    def _sweep(
        model: List[str] = typer.Option(..., "--model", help="zoo name or float checkpoint .pt (repeatable)"),
        image_size: Optional[int] = typer.Option(None, "--image-size", min=32, max=1024, help="input size of zoo models built "
                                                                              "without checkpoint"),
        width: Optional[float] = typer.Option(None, "--width", min=0, max=16, callback=positive, help="width multiplier of zoo models built "
                                                                     "without checkpoint"),
        bits: List[str] = typer.Option(["4"], "--bits", help="weight/activation bits: 4, w4a2 or 4/2 (repeatable)"),
        prune: List[float] = typer.Option([0.0], "--prune", help="fraction of channels removed by magnitude "
                                                                 "(repeatable; 0 = unpruned)"),
        board: List[str] = typer.Option(["Pynq-Z2"], "--board", help="board name or YAML (repeatable)"),
        target_fps: List[str] = typer.Option(["max"], "--target-fps", help="frames/s, or 'max' for the fastest "
                                                                           "folding that fits (repeatable)"),
        budget_fraction: List[float] = typer.Option([0.85], "--budget-fraction",
                                                    help="folding option: share of each resource the folding "
                                                         "search may use (repeatable)"),
        rtlsim: bool = typer.Option(False, "--rtlsim", help="also Verilator rtlsim each point (FPS source rtlsim)"),
        yosys: bool = typer.Option(False, "--yosys", help="also Yosys each point (resource source yosys)"),
        data: Optional[Path] = typer.Option(None, "--data", help="ISIC data root: calibration + accuracy of "
                                                                 "checkpoint rows"),
        out: Path = typer.Option(Path("build/sweep"), "--out", callback=writable, help="sweep root (points/, qonnx/, sweep.json)"),
        address: Optional[str] = typer.Option(None, "--address", envvar="RAY_ADDRESS",
                                              help="Ray cluster address (default: an embedded local Ray)"),
        num_cpus: Optional[int] = typer.Option(None, "--num-cpus", min=1, max=4096, help="CPUs of the embedded local Ray"),
        cpus_per_point: float = typer.Option(1.0, "--cpus-per-point", min=0, max=4096, callback=positive, help="CPUs each point's task declares"),
        memory_mb: Optional[int] = typer.Option(None, "--memory-mb", min=1, max=10_000_000, help="memory each point's task declares"),
        max_retries: int = typer.Option(1, "--max-retries", min=0, max=100, help="re-runs of a point whose worker died"),
        min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy", min=0, max=1, help="constraint for the best point "
                                                                                  "(fraction, e.g. 0.7)"),
        max_lut: Optional[float] = typer.Option(None, "--max-lut", min=0, max=1, help="constraint: LUT share of the board"),
        max_dsp: Optional[float] = typer.Option(None, "--max-dsp", min=0, max=1, help="constraint: DSP share of the board"),
        max_bram: Optional[float] = typer.Option(None, "--max-bram", min=0, max=1, help="constraint: BRAM share of the board"),
    ) -> None:
        import warnings

        warnings.filterwarnings("ignore")
        from fpga_flow.sweep.grid import ModelRow, SweepGrid, parse_bits, parse_target
        from fpga_flow.sweep.results import Constraints
        from fpga_flow.sweep.runner import run_sweep

        grid = SweepGrid(models=[ModelRow(m, image_size, width) for m in model], bits=[parse_bits(b) for b in bits],
                         prune=list(prune), boards=list(board), target_fps=[parse_target(t) for t in target_fps],
                         budget_fraction=list(budget_fraction), rtlsim=rtlsim, yosys=yosys,
                         data=str(data) if data else None)
        res = run_sweep(grid, out, address=address, num_cpus=num_cpus, cpus_per_point=cpus_per_point,
                        memory_mb=memory_mb, max_retries=max_retries,
                        constraints=Constraints(min_accuracy, max_lut, max_dsp, max_bram))
        typer.echo(res.files["md"].read_text())
