"""CLI commands of the end-to-end flows: ``fpga-flow bitstream`` and ``fpga-flow demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fpga_flow.cli_options import FlowCommand, board_name, choice, existing_dir, existing_file, positive, writable
from fpga_flow.flow import TASK, console

# FlowConfig field -> its option (the reuse note names the options that change a setting)
OPTION_OF = {"data": "--data", "image_size": "--image-size", "train_size": "--train-size", "width": "--width", "epochs": "--epochs",
             "prune_epochs": "--prune-epochs", "qat_epochs": "--qat-epochs", "qat_size": "--qat-size", "wbits": "--wbits", "abits": "--abits",
             "target_fps": "--target-fps", "n_images": "--n-images", "checkpoint": "--checkpoint", "n_test": "--n-test"}


# a recorded None, as the option that gives it
NONE_AS = {"train_size": "0", "qat_size": "(the row's recipe)", "target_fps": "(the fastest fit)",
           "n_test": "(the whole test split)", "data": "(the synthetic set)"}


def reuse_note(bdir: Path, reused: dict) -> str:
    """What a re-run takes over from ``bdir``: settings with an option, then those no option sets (the demo's)."""
    shown = ", ".join(f"{OPTION_OF[k]} {NONE_AS.get(k, v) if v is None else v}" for k, v in reused.items() if k in OPTION_OF)
    fixed = ", ".join(f"{k} {v}" for k, v in reused.items() if k not in OPTION_OF)
    text = f"reusing the settings {bdir} was made with"
    if shown:
        text += f": {shown} (give these options to change them)"
    if fixed:
        text += f"{';' if shown else ':'} also {fixed} (no option sets these)"
    return text + "; another --build-root starts afresh with the defaults"


def _image_side(value):
    if value is not None and value % 32:
        raise typer.BadParameter(f"{value} is not a multiple of 32 (VGG16 and SegNet have 5 max-pools)")
    return value


def register(app: typer.Typer) -> None:
    @app.command("bitstream", cls=FlowCommand,
                 help="train -> prune -> quantize -> build -> rtlsim -> synth -> bitstream -> deploy "
                      "(resumable: settings not given are those the build folder was made with). Exit 0 when "
                      "everything but the bitstream is built (no vivado); 3 then with --require-bitstream.")
    def bitstream(
        model: str = typer.Option("vgg16-pruned", "--model", callback=choice(*TASK), help=" | ".join(TASK)),
        board: str = typer.Option("Pynq-Z2", "--board", callback=board_name,
                                  help="board name (boards/*.yaml) or YAML path"),
        build_root: Path = typer.Option(Path("build"), "--build-root", callback=writable,
                                        help="folder that gets <model>-<board>/"),
        data: Optional[Path] = typer.Option(None, "--data", callback=existing_dir,
                                            help="ISIC dataset root (default: the synthetic set, $ISIC_ROOT is not read; see README)"),
        image_size: Optional[int] = typer.Option(None, "--image-size", min=32, max=1024, callback=_image_side,
                                                 help="the design's input side in pixels, a multiple of 32 (default 224)"),
        train_size: Optional[int] = typer.Option(None, "--train-size", min=0, max=1024, callback=_image_side,
                                                 help="input side of float training and SeReNe, then fine-tuning at "
                                                      "--image-size (default 32; 0: --image-size)"),
        width: Optional[float] = typer.Option(None, "--width", min=0, max=16, callback=positive,
                                              help="channel width multiplier (> 0; default 1: full VGG16/SegNet)"),
        epochs: Optional[int] = typer.Option(None, "--epochs", min=1, max=10_000,
                                             help="float training epochs (default 30)"),
        prune_epochs: Optional[int] = typer.Option(None, "--prune-epochs", min=1, max=10_000,
                                                   help="SeReNe epochs (default 20)"),
        qat_epochs: Optional[int] = typer.Option(None, "--qat-epochs", min=0, max=10_000,
                                                 help="quantization-aware training epochs (default 10)"),
        qat_size: Optional[int] = typer.Option(None, "--qat-size", min=0, max=1024, callback=_image_side,
                                               help="input side of QAT (default: the row's recipe: unpruned rows "
                                                    "--train-size, then the quantized network runs at --image-size "
                                                    "untrained there; pruned rows --image-size; 0: --image-size)"),
        wbits: Optional[int] = typer.Option(None, "--wbits", min=2, max=8, help="weight bits (default: the row's)"),
        abits: Optional[int] = typer.Option(None, "--abits", min=2, max=8, help="activation bits (default: the row's)"),
        target_fps: Optional[float] = typer.Option(None, "--target-fps", min=0, callback=positive,
                                                   help="frames/s the folding must reach (> 0; default: the "
                                                        "fastest folding that fits the board)"),
        n_images: Optional[int] = typer.Option(None, "--n-images", min=20, max=100_000,
                                               help="synthetic set size (default 800)"),
        n_test: Optional[int] = typer.Option(None, "--n-test", min=1, max=100_000,
                                             help="test images through rtlsim for the hardware accuracy "
                                                  "(default: the whole test split, within a simulation budget)"),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", callback=existing_file,
                                                  help="trained float checkpoint of the base model to reuse"),
        require_bitstream: bool = typer.Option(False, "--require-bitstream",
                                               help="exit 3 unless the bitstream is built (default: exit 0 with "
                                                    "everything else built when vivado is missing)"),
    ) -> None:
        from fpga_flow.flow import resolve_config, reused_settings, run_bitstream

        given = dict(data=data, image_size=image_size, train_size=train_size, width=width, epochs=epochs, prune_epochs=prune_epochs,
                     qat_epochs=qat_epochs, qat_size=qat_size, wbits=wbits, abits=abits, target_fps=target_fps, n_images=n_images,
                     n_test=n_test, checkpoint=checkpoint)
        reused = reused_settings(model, board, build_root, **given)
        if reused:
            console.print(reuse_note(build_root / f"{model}-{board}", reused), style="yellow", highlight=False)
        run_bitstream(resolve_config(model, board, build_root, **given), require_bitstream=require_bitstream)

    @app.command("demo", cls=FlowCommand,
                 help="small vgg16-pruned + segnet-pruned on the synthetic ISIC set, rtlsim, notebooks, report")
    def demo(
        build_root: Path = typer.Option(Path("build"), "--build-root", callback=writable,
                                        help="folder that gets the <model>-<board>/ folders and report/"),
        board: str = typer.Option("Pynq-Z2", "--board", callback=board_name,
                                  help="board name (boards/*.yaml) or YAML path"),
    ) -> None:
        from fpga_flow.flow import run_demo

        run_demo(build_root, board)
