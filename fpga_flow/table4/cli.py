"""``fpga-flow table4``: build, simulate and benchmark every Table 4 row on each board, one command."""

from __future__ import annotations

from pathlib import Path

import typer

from fpga_flow.cli_options import FlowCommand, positive, writable


def register(app: typer.Typer) -> None:
    @app.command("table4", cls=FlowCommand, help="every Table 4 row (zoo models) on each board: build, rtlsim, Yosys, the CPU runtimes; "
                                "resumable; writes table4.md/.html/.json and plots under --out")
    def table4(
        board: list[str] = typer.Option(["Pynq-Z2", "ZCU104"], help="board (repeat for several)"),
        row: list[str] = typer.Option(None, help="Table 4 row (zoo model; repeat for several; default: every row "
                                                 "the zoo can build)"),
        out: Path = typer.Option(Path("build/table4"), "--out", callback=writable, help="output folder"),
        build_root: Path = typer.Option(Path("build"), "--build-root", callback=writable, help="folder holding the <model>-<board>/ build folders"),
        data: Path = typer.Option(None, help="ISIC dataset root (default: the synthetic set)"),
        image_size: int = typer.Option(None, "--image-size", min=32, max=1024, help="model input side in pixels (default: the flow's)"),
        width: float = typer.Option(None, "--width", min=0, max=16, callback=positive, help="width multiplier (default: the flow's)"),
        epochs: int = typer.Option(None, "--epochs", min=1, max=10_000, help="float training epochs (default: the flow's)"),
        prune_epochs: int = typer.Option(None, "--prune-epochs", min=1, max=10_000, help="SeReNe epochs (default: the flow's)"),
        qat_epochs: int = typer.Option(None, "--qat-epochs", min=0, max=10_000, help="quantization-aware training epochs (default: the flow's)"),
        n_images: int = typer.Option(None, "--n-images", min=20, max=100_000, help="synthetic set size (default: the flow's)"),
        test_images: int = typer.Option(None, "--n-test", min=1, max=100_000, help="test images through rtlsim and every CPU runtime (default: the flow's)"),
        threads: int = typer.Option(2, "--threads", min=1, max=1024, help="CPU threads for every CPU runtime"),
        repeats: int = typer.Option(30, "--repeats", min=1, max=100_000, help="timed runs per window (>= 30, else flagged noisy)"),
        synth: bool = typer.Option(True, help="Yosys resource counts (slow on full-size models)"),
        force: bool = typer.Option(False, help="re-time and rebuild table rows even when nothing changed"),
    ) -> None:
        from fpga_flow.table4.rows import FlowSource
        from fpga_flow.table4.run import Table4Config, run_table4

        settings = {k: v for k, v in dict(data=data, image_size=image_size, width=width, epochs=epochs,
                                          prune_epochs=prune_epochs, qat_epochs=qat_epochs, n_images=n_images,
                                          n_test=test_images).items() if v is not None}
        cfg = Table4Config(boards=list(board), rows=list(row) if row else None, out=out, threads=threads,
                           repeats=repeats, force=force)
        res = run_table4(cfg, FlowSource(build_root, settings, synth=synth), build_root=build_root)
        typer.echo(f"wrote {res.markdown_path}, {res.html_path} and {res.json_path}")
