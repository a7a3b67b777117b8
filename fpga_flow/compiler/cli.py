"""CLI commands of fpga_flow.compiler: ``fpga-flow build``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fpga_flow.cli_options import FlowCommand, board_name, existing_file, positive, writable
from fpga_flow.compiler import MVAU_WWIDTH_MAX
from fpga_flow.errors import FlowError

REPO = Path(__file__).resolve().parents[2]


def resolve_model(model: str, root: Path = REPO) -> tuple[Path, str]:
    """A QONNX path, or a zoo name -> its exported QONNX (build/<model>/model.qonnx.onnx or the
    newest build/quant/<model>*/model.qonnx.onnx)."""
    p = Path(model)
    if p.is_dir():
        if (p / "model.qonnx.onnx").is_file():
            return p / "model.qonnx.onnx", p.name
        raise FlowError(f"{p}: a folder without model.qonnx.onnx; pass a QONNX .onnx file or a zoo name")
    if p.suffix == ".onnx" or p.is_file() or p.is_absolute() or len(p.parts) > 1:
        if not p.is_file():
            raise FlowError(f"{p}: QONNX file not found")
        stem = p.parent.name if p.name == "model.qonnx.onnx" else p.name.removesuffix(".onnx").removesuffix(".qonnx")
        return p, stem
    cands = [root / "build" / model / "model.qonnx.onnx"]
    cands += sorted((root / "build" / "quant").glob(f"{model}-w*a*/model.qonnx.onnx"),
                    key=lambda q: q.stat().st_mtime, reverse=True)
    for c in cands:
        if c.is_file():
            return c, model
    raise FlowError(f"no QONNX export for zoo model '{model}' (looked for build/{model}/model.qonnx.onnx and "
                    f"build/quant/{model}-w*a*/model.qonnx.onnx): run `fpga-flow quantize --model {model}` first, "
                    "or pass the path of a .onnx file")


def register(app: typer.Typer) -> None:
    @app.command("build", cls=FlowCommand, help="QONNX -> streamlined graph -> folded hardware layers + estimates "
                               "(writes steps/, dataflow.onnx, folding.json, estimates.json, io.json)")
    def _build(
        model: str = typer.Option(..., "--model", help="zoo name (e.g. vgg16-pruned) or path of a QONNX .onnx"),
        board: str = typer.Option("Pynq-Z2", "--board", callback=board_name,
                                  help="board name (boards/*.yaml) or YAML path"),
        target_fps: Optional[float] = typer.Option(None, "--target-fps", min=0, callback=positive,
                                                   help="frames/s to reach (> 0); default: fastest that fits"),
        out: Optional[Path] = typer.Option(None, "--out", callback=writable,
                                           help="build folder (default build/<model>-<board>)"),
        folding_config: Optional[Path] = typer.Option(None, "--folding-config", callback=existing_file,
                                                      help="FINN folding JSON to apply instead of the search"),
        best_effort: bool = typer.Option(False, "--best-effort",
                                         help="build the best feasible folding when the target is not reachable"),
        budget_fraction: float = typer.Option(0.85, "--budget-fraction", min=0, max=1, callback=positive,
                                              help="fraction of each board resource the search may use (0 < f <= 1)"),
        mvau_wwidth_max: int = typer.Option(MVAU_WWIDTH_MAX, "--mvau-wwidth-max", min=1,
                                            help="largest SIMD·W_BITS of an MVAU (FINN's mvau_wwidth_max)"),
    ) -> None:
        import warnings

        warnings.filterwarnings("ignore")
        from fpga_flow.boards import load_board
        from fpga_flow.compiler.build import build_dataflow

        b = load_board(board)
        path, stem = resolve_model(model)
        out_dir = out or (REPO / "build" / f"{stem}-{b.name}")
        r = build_dataflow(path, b, out_dir, target_fps=target_fps, folding_config=folding_config,
                           best_effort=best_effort, budget_fraction=budget_fraction, mvau_wwidth_max=mvau_wwidth_max)
        typer.echo(f"{r.out_dir}: {r.fps:.2f} FPS [estimate], dataflow.onnx + estimates.json written")
