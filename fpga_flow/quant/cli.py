"""CLI commands of fpga_flow.quant: ``fpga-flow quantize``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fpga_flow.cli_options import FlowCommand, choice, existing_dir, positive, writable


def register(app: typer.Typer) -> None:
    @app.command("quantize", cls=FlowCommand, help="Brevitas quantization (+ QAT with --data/--epochs) and clean "
                                  "QONNX export: writes model.quant.pt, model.qonnx.onnx, "
                                  "quant_summary.md")
    def _quantize(
        model: str = typer.Option(..., "--model", help="zoo name (e.g. vgg16-pruned) or a float "
                                                       "checkpoint .pt"),
        wbits: int = typer.Option(4, min=2, max=8, help="weight bits inside the network (2..8)"),
        abits: int = typer.Option(4, min=2, max=8, help="activation bits (2..8)"),
        first_wbits: int = typer.Option(8, min=2, max=8, help="weight bits of the first layer"),
        last_wbits: int = typer.Option(8, min=2, max=8, help="weight bits of the last layer"),
        in_bits: int = typer.Option(8, min=2, max=8, help="bits of the (signed) input quantizer"),
        out_bits: Optional[int] = typer.Option(None, min=2, max=8, help="quantize the output to these bits "
                                                          "(default: accumulator x scale + bias)"),
        per_channel: bool = typer.Option(False, help="per-output-channel weight scales"),
        scales: str = typer.Option("po2", callback=choice("po2", "float"), help="scale factors: po2 (powers of two, bit-exact "
                                               "float emulation) or float"),
        keep_bn: bool = typer.Option(False, help="keep BatchNorm2d as float layers instead of "
                                                 "folding them into the convs"),
        data: Optional[Path] = typer.Option(None, callback=existing_dir, help="ISIC data root for calibration, QAT and "
                                                       "accuracy"),
        epochs: int = typer.Option(0, min=0, max=10_000, help="QAT epochs (needs --data)"),
        lr: float = typer.Option(1e-4, min=0, max=10, callback=positive, help="QAT learning rate (fine-tuning: ~1/10 of training)"),
        batch_size: int = typer.Option(16, min=1, max=65_536, help="images per QAT step"),
        in_size: Optional[int] = typer.Option(None, "--image-size", min=8, max=4096, help="input size when building a zoo model "
                                                         "without checkpoint"),
        seed: int = typer.Option(0, min=0, help="random seed"),
        out: Optional[Path] = typer.Option(None, callback=writable, help="output folder (default "
                                                      "build/quant/<model>-w<W>a<A>)"),
    ) -> None:
        import warnings

        warnings.filterwarnings("ignore", message="fast_hadamard_transform")
        from fpga_flow.quant.spec import QuantSpec, WeightScaling

        spec = QuantSpec(wbits=wbits, abits=abits, first_wbits=first_wbits, last_wbits=last_wbits,
                         in_bits=in_bits, out_bits=out_bits,
                         weight_scaling=WeightScaling.CHANNEL if per_channel else WeightScaling.TENSOR,
                         scales=scales, fuse_bn=not keep_bn)
        import torch

        from fpga_flow.quant.pipeline import quantize_flow

        torch.set_num_threads(min(torch.get_num_threads(), 2))
        stem = Path(model).stem if model.endswith(".pt") else model
        out_dir = out or Path("build") / "quant" / f"{stem}-w{wbits}a{abits}"
        quantize_flow(model, spec, out_dir, data=str(data) if data else None, epochs=epochs,
                      batch_size=batch_size, lr=lr, seed=seed, in_size=in_size,
                      log=typer.echo)
