"""The quantize stage: Brevitas QAT of the row's bit widths and the QONNX export (the unpruned rows' recipe:
QAT at the low size, the quantized network exported and evaluated at the design size); a stored quantized
checkpoint made from this build's pruned checkpoint with its QAT settings replaces the QAT
(``fpga_flow.flow.quant_reuse``)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from fpga_flow.flow.runner import Flow
from fpga_flow.flow.scores import record


def st_quantize(f: Flow) -> None:
    from fpga_flow.flow.quant_reuse import QAT_BATCH, reuse_quant, stored_quant, write_quant_provenance
    from fpga_flow.quant import quantize_flow

    c = f.cfg
    t0 = time.perf_counter()
    stored = stored_quant(f)
    if stored is not None:
        res = reuse_quant(f, stored)
    else:
        source, export_size = f.path("checkpoints/pruned.pt"), None
        if c.qat_side != c.image_size:  # the unpruned rows' recipe: QAT at the low size, the design runs at image_size
            source, export_size = _float_at(f, source, c.qat_side), c.image_size
        res = quantize_flow(str(source), c.quant_spec(), f.path("quant"), data=str(c.data_root),
                            epochs=c.qat_epochs, batch_size=QAT_BATCH, lr=c.qat_lr, seed=c.seed,
                            export_size=export_size, log=f.note)
        write_quant_provenance(f, res.metrics, time.perf_counter() - t0)
    shutil.copy2(res.qonnx, f.path("model.qonnx.onnx"))
    last = [v for k, v in res.metrics.items() if k != "float"]
    if last:  # the quantize step's own test-split figures (its last row: QAT, else calibrated)
        test = f.loaders()["test"]
        record(f, "quantized", last[-1], "test", len(test.dataset), c.image_size, c.row.stage_bound)
    check_quantized(f)


def _float_at(f: Flow, path: Path, side: int) -> Path:
    """``quant/float.<side>.pt``: the float model of ``path`` with the same weights at input ``side``."""
    from fpga_flow.models import load_checkpoint, save_checkpoint
    from fpga_flow.models.resize import at_input_size

    model, meta = load_checkpoint(path)
    model, config = at_input_size(model, f.cfg.base, meta["config"], side)
    out = f.path(f"quant/float.{side}.pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(out, model, f.cfg.base, config, meta.get("metrics", {}))


def check_quantized(f: Flow) -> None:
    """The quantized checkpoint the build compiles holds the bits of this build (the row's unless
    --wbits/--abits): checked after QAT and whenever a re-run reuses it."""
    from fpga_flow.models.store import check_quant_bits
    from fpga_flow.quant.checkpoint import read_quant_meta

    path = f.path("quant/model.quant.pt")
    check_quant_bits(f.cfg.model, path, read_quant_meta(path)["spec"], f.cfg.bits)


