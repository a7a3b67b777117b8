"""CLI commands of fpga_flow.runtime: ``fpga-flow bench``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from fpga_flow.cli_options import FlowCommand, board_name, choice, existing_dir
from fpga_flow.errors import FlowError
from fpga_flow.runtime.bench import BENCH_BACKENDS, BenchResult

console = Console()


def build_dir_of(model: str, board: str, build_root: Path) -> Path:
    return Path(build_root) / f"{model}-{board}"


def run_bench(model: str, board: str, backend: str, build_root: Path = Path("build"), *, warmup: int = 3,
              repeats: int = 30, quantized: bool = False, threads: int | None = None, save: bool = True,
              force: bool = False, calibration=None, build_dir: Path | None = None) -> BenchResult:
    """Bench one backend on ``build_dir`` (default ``build_root/<model>-<board>``) and save
    ``bench/<backend>.json`` there.

    A saved bench whose fingerprint (model files, runtime version, threads, CPU) is unchanged and whose
    timing was stable is returned as it is, unless ``force``. int8 CPU backends are calibrated on
    ``calibration`` images, by default the build's own training images."""
    from fpga_flow.runtime.backends.cpu import cpu_name
    from fpga_flow.runtime.bench import bench_accelerator, bench_estimate
    from fpga_flow.runtime.driver import Accelerator
    from fpga_flow.runtime.provenance import calibration_images, fingerprint, model_files

    if backend not in BENCH_BACKENDS:
        raise FlowError(f"unknown backend {backend!r}: choose one of {', '.join(BENCH_BACKENDS)}")
    if quantized and backend != "cpu-onnxruntime":
        raise FlowError(f"--quantized runs the QONNX model on cpu-onnxruntime only, not on {backend}")
    bdir = Path(build_dir) if build_dir is not None else build_dir_of(model, board, build_root)
    if not bdir.is_dir():
        raise FlowError(f"{bdir}: build folder not found (run `fpga-flow bitstream --model {model} --board {board}`)")
    name = backend + ("-quant" if quantized else "")
    if backend == "estimate":
        result = bench_estimate(bdir, model=model, board=board)
    else:
        folder, opts = bdir, {}
        if backend == "pynq":
            folder = bdir / "deploy"
        if backend.startswith("cpu-") and backend != "cpu-torch":
            onnx = bdir / ("model.qonnx.onnx" if quantized else "model.onnx")
            if not onnx.is_file() and not quantized and (bdir / "model.pt").is_file():  # export once
                from fpga_flow.models import load_checkpoint
                from fpga_flow.runtime.backends.cpu import export_onnx

                float_model = load_checkpoint(bdir / "model.pt")[0]
                shape = getattr(float_model, "input_shape", None)
                if shape is None:
                    raise FlowError(f"{bdir / 'model.pt'}: model has no input_shape, cannot export model.onnx")
                export_onnx(float_model, onnx, (1, *shape))
            opts["onnx"] = onnx
        if backend.startswith("cpu-"):
            opts["threads"] = threads
            key = fingerprint(name, model_files(backend, bdir, quantized), threads, cpu_name())
        else:
            key = fingerprint(name, model_files(backend, bdir), None)
        old = _saved(bdir, name)
        if not force and old is not None and old.fingerprint == key and not old.noisy:
            old.details["reused"] = "model and runtime unchanged since this bench (pass --force to re-time)"
            return old
        if backend.endswith("-int8"):
            opts["calibration"] = calibration if calibration is not None else calibration_images(bdir)
        if backend == "rtlsim":
            opts["board"] = board
        with Accelerator(backend, folder, **opts) as acc:
            result = bench_accelerator(acc, model=model, board=board, warmup=warmup, repeats=repeats)
        result.backend, result.fingerprint = name, key
    if save:
        result.details["saved_to"] = str(result.save(bdir))
    return result


def _saved(bdir: Path, backend: str) -> BenchResult | None:
    from fpga_flow.runtime.buildinfo import BENCH_DIR, read_json

    d = read_json(bdir / BENCH_DIR / f"{backend}.json")
    try:
        return BenchResult.from_dict(d) if d else None
    except (KeyError, TypeError):  # a bench file of an older layout: time again
        return None


def print_result(r: BenchResult) -> None:
    console.print(f"[bold]{r.model}[/] on [bold]{r.backend}[/] ({r.device}) — source: [cyan]{r.source}[/]")
    console.print(f"  latency ms  median {r.latency_ms.median:.3f}  min {r.latency_ms.min:.3f}  max {r.latency_ms.max:.3f}")
    console.print(f"  FPS         median {r.fps.median:.2f}  min {r.fps.min:.2f}  max {r.fps.max:.2f}"
                  f"   ({r.repeats} runs after {r.warmup} warm-up, batch {r.batch_size})")
    if r.runtime:
        console.print(f"  runtime     {r.runtime}, {r.numeric_format}, {r.threads} threads", highlight=False)
    if r.stability:
        style = "yellow" if r.noisy else "dim"
        console.print(f"  timing      {'NOISY: ' + '; '.join(r.stability.get('reasons', [])) if r.noisy else 'stable'}"
                      f" ({r.stability.get('rounds', 1)} window(s))", style=style, highlight=False)
    if "reused" in r.details:
        console.print(f"  reused      {r.details['reused']}", style="dim", highlight=False)
    if "saved_to" in r.details:
        console.print(f"  saved {r.details['saved_to']}")


def model_board_of(build: Path) -> tuple[str, str]:
    """(model, board) of a build folder: its flow.json or deploy.json, else its name ``<model>-<board>``."""
    from fpga_flow.boards import known_boards
    from fpga_flow.runtime.buildinfo import read_json

    for rec in (build / "flow.json", build / "deploy" / "deploy.json"):
        d = read_json(rec) or {}
        if d.get("model") and d.get("board"):
            return d["model"], d["board"]
    for board in known_boards():
        if build.name.lower().endswith("-" + board.lower()):
            return build.name[: -len(board) - 1], board
    raise FlowError(f"{build}: cannot tell its model and board (no flow.json, no deploy/deploy.json, "
                    "and the folder is not named <model>-<board>)")


def register(app: typer.Typer) -> None:
    @app.command("bench", cls=FlowCommand,
                 help="batch-1 latency/throughput of a built model on a CPU runtime (PyTorch, onnxruntime fp32/int8, "
                      "OpenVINO default/f32/int8), rtlsim, pynq or estimate")
    def _bench(
        build: Optional[Path] = typer.Option(None, "--build", callback=existing_dir,
                                             help="build folder (default build/vgg16-pruned-Pynq-Z2)"),
        backend: str = typer.Option("cpu-onnxruntime", "--backend", callback=choice(*BENCH_BACKENDS),
                                    help="|".join(BENCH_BACKENDS)),
        warmup: int = typer.Option(3, "--warmup", min=0, max=10_000, help="untimed runs first"),
        repeats: int = typer.Option(30, "--repeats", min=1, max=100_000,
                                    help="timed runs per window (a window that is not stable is timed again, "
                                         "up to 3 windows; fewer than 30 runs are flagged noisy)"),
        quantized: bool = typer.Option(False, "--quantized",
                                       help="cpu-onnxruntime: run model.qonnx.onnx (as QCDQ) instead of the float model"),
        threads: int = typer.Option(0, "--threads", min=0, max=1024, help="CPU threads (0: runtime default)"),
        force: bool = typer.Option(False, "--force",
                                   help="re-time even when the model and runtime are unchanged since the last bench"),
        model: Optional[str] = typer.Option(None, "--model", hidden=True, help="old form: --build-root/<model>-<board>"),
        board: Optional[str] = typer.Option(None, "--board", hidden=True, callback=board_name,
                                            help="old form: --build-root/<model>-<board>"),
        build_root: Optional[Path] = typer.Option(None, "--build-root", hidden=True,
                                                  help="old form: --build-root/<model>-<board>"),
    ) -> None:
        if build is not None and (model or board or build_root):
            raise typer.BadParameter("give --build, or the old --model/--board/--build-root, not both")
        if build is None:
            build = build_dir_of(model or "vgg16-pruned", board or "Pynq-Z2", build_root or Path("build"))
            if not build.is_dir():
                raise FlowError(f"{build}: build folder not found (run `fpga-flow bitstream --model "
                                f"{model or 'vgg16-pruned'} --board {board or 'Pynq-Z2'}`)")
        m, b = model_board_of(build)
        print_result(run_bench(m, b, backend, build.parent, warmup=warmup, repeats=repeats,
                               quantized=quantized, threads=threads or None, force=force, build_dir=build))
