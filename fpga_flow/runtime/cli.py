"""CLI commands of fpga_flow.runtime: ``fpga-flow bench``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from fpga_flow.errors import FlowError
from fpga_flow.runtime.bench import BENCH_BACKENDS, BenchResult

console = Console()


def build_dir_of(model: str, board: str, build_root: Path) -> Path:
    return Path(build_root) / f"{model}-{board}"


def run_bench(model: str, board: str, backend: str, build_root: Path = Path("build"), *, warmup: int = 3,
              repeats: int = 30, quantized: bool = False, threads: int | None = None, save: bool = True,
              force: bool = False, calibration=None) -> BenchResult:
    """Bench one backend on ``build_root/<model>-<board>`` and save ``bench/<backend>.json`` there.

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
    bdir = build_dir_of(model, board, build_root)
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


def register(app: typer.Typer) -> None:
    @app.command("bench", help="batch-1 latency/throughput of a built model on a CPU runtime (PyTorch, onnxruntime fp32/int8, "
                                "OpenVINO default/f32/int8), rtlsim, pynq or estimate")
    def _bench(
        model: str = typer.Option("vgg16-pruned", help="model name (build/<model>-<board>/)"),
        board: str = typer.Option("Pynq-Z2"),
        backend: str = typer.Option("cpu-onnxruntime", help="|".join(BENCH_BACKENDS)),
        build_root: Path = typer.Option(Path("build"), help="folder holding <model>-<board>/"),
        warmup: int = typer.Option(3, min=0),
        repeats: int = typer.Option(30, min=1, help="timed runs per window (a window that is not stable is timed again, "
                                                    "up to 3 windows; fewer than 30 runs are flagged noisy)"),
        quantized: bool = typer.Option(False, help="cpu-onnxruntime: run model.qonnx.onnx (as QCDQ) instead of the float model"),
        threads: int = typer.Option(0, help="CPU threads (0: runtime default)"),
        force: bool = typer.Option(False, help="re-time even when the model and runtime are unchanged since the last bench"),
    ) -> None:
        print_result(run_bench(model, board, backend, build_root, warmup=warmup, repeats=repeats,
                               quantized=quantized, threads=threads or None, force=force))
