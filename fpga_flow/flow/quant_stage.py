"""The quantize stage: Brevitas QAT of the row's bit widths and the QONNX export."""

from __future__ import annotations

import shutil

from fpga_flow.flow.runner import Flow
from fpga_flow.flow.scores import record


def st_quantize(f: Flow) -> None:
    from fpga_flow.quant import quantize_flow

    c = f.cfg
    res = quantize_flow(str(f.path("checkpoints/pruned.pt")), c.quant_spec(),
                        f.path("quant"), data=str(c.data_root), epochs=c.qat_epochs, lr=c.qat_lr, seed=c.seed,
                        log=f.note)
    shutil.copy2(res.qonnx, f.path("model.qonnx.onnx"))
    last = [v for k, v in res.metrics.items() if k != "float"]
    if last:  # the quantize step's own test-split figures (its last row: QAT, else calibrated)
        test = f.loaders()["test"]
        record(f, "quantized", last[-1], "test", len(test.dataset), c.image_size, c.row.stage_bound)
    check_quantized(f)


def check_quantized(f: Flow) -> None:
    """The quantized checkpoint the build compiles holds the bits of this build (the row's unless
    --wbits/--abits): checked after QAT and whenever a re-run reuses it."""
    from fpga_flow.models.store import check_quant_bits
    from fpga_flow.quant.checkpoint import read_quant_meta

    path = f.path("quant/model.quant.pt")
    check_quant_bits(f.cfg.model, path, read_quant_meta(path)["spec"], f.cfg.bits)


