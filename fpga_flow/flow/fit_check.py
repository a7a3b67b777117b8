"""Before any training: does an unpruned row fit the board at all?

An unpruned row's topology and bit widths are known before training, and a design needs no fewer
resources at 224x224 than at 32x32 (line buffers grow with the image; weights and thresholds do not
change), so the fully folded design of an untrained copy at 32x32 tells in about a minute what the
compiler would otherwise say after the whole training and QAT (vgg16, W8A8, on Pynq-Z2: its 8-bit
threshold activations need more LUTs than the board has)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fpga_flow.errors import FlowError
from fpga_flow.flow.config import FlowConfig

CHECK_SIZE = 32


def check_fits(cfg: FlowConfig, log=print) -> None:
    """FlowError naming the row and board when even the fully folded design of the row does not fit."""
    import torch

    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.models import build
    from fpga_flow.quant import calibrate, export_qonnx_clean, quantize_model

    if cfg.row.pruned or cfg.checkpoint is not None or (cfg.bdir / "dataflow.onnx").exists():
        return  # a pruned topology exists only after pruning; a compiled build folder has passed the compiler
    log(f"fit check: compiling an untrained {cfg.model} ({cfg.bits.label()}, width ×{cfg.width:g}) at "
        f"{CHECK_SIZE}x{CHECK_SIZE} for {cfg.board}, fully folded, before any training")
    model_cfg = {"in_size": CHECK_SIZE, "width": cfg.width}
    if cfg.task == "cls":
        model_cfg["num_classes"] = 8  # the head's width costs next to nothing; the data is not indexed yet
    torch.manual_seed(cfg.seed)
    qmodel = quantize_model(build(cfg.base, **model_cfg), cfg.quant_spec())
    calibrate(qmodel, [torch.randn(2, 3, CHECK_SIZE, CHECK_SIZE)])
    where = f"fit check of {cfg.model} ({cfg.bits.label()}, untrained, {CHECK_SIZE}x{CHECK_SIZE})"
    with tempfile.TemporaryDirectory(prefix="fpga-flow-fit-") as tmp:
        try:
            onnx = export_qonnx_clean(qmodel.eval(), (1, 3, CHECK_SIZE, CHECK_SIZE), Path(tmp) / "model.qonnx.onnx")
        except FlowError as err:
            raise FlowError(f"{where}: the QONNX export, which the quantize stage would reach after training, "
                            f"fails: {err}") from None
        try:
            build_dataflow(onnx, cfg.board, Path(tmp) / "build", quiet=True)
        except FlowError as err:
            if "even the fully folded design" in str(err):
                raise FlowError(f"{where}: does not fit {cfg.board} at any input size: "
                                + str(err).replace(f"board {cfg.board}: ", "")) from None
            # vgg16 W8A8 at full width: an accumulator beyond float32-exact execution
            raise FlowError(f"{where}: the compiler, which the build stage would reach after training, refuses "
                            f"it: {err}") from None
    log(f"fit check: {cfg.model} {cfg.bits.label()} fits {cfg.board} fully folded at {CHECK_SIZE}x{CHECK_SIZE}")
