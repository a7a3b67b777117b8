"""Benchmark [estimate, random weights]: the fold's FPS and memory of VGG16 channel plans at 224x224,
W4A4 (first/last layer W8), per board.

    .venv/bin/python benchmarks/fold_vgg16_plans.py --keep 0.37 [--board Pynq-Z2 --board ZCU104]
                                                    [--work DIR] [--layers]

A plan keeps ``round(keep·c)`` of each of VGG16's 13 conv widths (at least 8). The QONNX file
(calibrated random weights) and the hardware graph before folding are cached in ``--work``; only the
fold runs per board. One JSON line per board: estimate FPS, cycles/frame, BRAM18/URAM/LUT, the layers
whose weights stream from DRAM, and (``--layers``) every MVAU's PE, SIMD, mem_mode, ram_style, BRAM18.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

BASE = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


def plan(keep: float) -> list[int]:
    return [max(8, int(round(c * keep))) for c in BASE]


def hw_graph(keep: float, size: int, work: Path) -> Path:
    """tidy -> streamline -> to_hw of the plan's QONNX, cached as ``work/vgg16-k<keep>-<size>.hw.onnx``."""
    out = work / f"vgg16-k{keep:g}-{size}.hw.onnx"
    if out.is_file():
        return out
    import torch

    from fpga_flow.compiler.transforms.streamline import Streamline
    from fpga_flow.compiler.transforms.tidy import Tidy
    from fpga_flow.compiler.transforms.to_hw import ToHW
    from fpga_flow.models.vgg import vgg16
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
    from qonnx.core.modelwrapper import ModelWrapper

    torch.manual_seed(0)
    fm = vgg16(in_size=size, channels=plan(keep)).eval()
    qm = quantize_model(fm, QuantSpec())
    g = torch.Generator().manual_seed(0)
    calibrate(qm, [torch.randn(1, 3, size, size, generator=g) for _ in range(2)])
    q = work / f"vgg16-k{keep:g}-{size}.qonnx.onnx"
    export_qonnx_clean(qm, (1, 3, size, size), q)
    m = ModelWrapper(str(q))
    for t in (Tidy(), Streamline(), ToHW()):
        m, _ = t.apply(m)
    m.save(str(out))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=float, default=0.37)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--board", action="append", default=None)
    ap.add_argument("--work", type=Path, default=Path("/tmp/fold_vgg16_plans"))
    ap.add_argument("--layers", action="store_true")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    from qonnx.core.modelwrapper import ModelWrapper

    from fpga_flow.boards import load_board
    from fpga_flow.compiler.transforms.fold import fold, hw_ops

    src = hw_graph(a.keep, a.size, a.work)
    for b in a.board or ["Pynq-Z2", "ZCU104"]:
        board = load_board(b)
        m = ModelWrapper(str(src))
        t0 = time.perf_counter()
        m, r = fold(m, board, None)
        dt = time.perf_counter() - t0
        line = {"estimate": "random weights", "plan_keep": a.keep, "channels": plan(a.keep), "size": a.size,
                "board": b, "fps": round(r.fps, 2), "cycles_per_frame": r.max_cycles,
                "bram18": r.resources.bram18, "uram": r.resources.uram, "lut": round(r.resources.lut),
                "dsp": r.resources.dsp, "external": r.external, "limiting": r.limiting, "fold_seconds": round(dt, 1)}
        if a.layers:
            line["mvaus"] = [
                {"name": n.name, "PE": op.get_nodeattr("PE"), "SIMD": op.get_nodeattr("SIMD"),
                 "mem_mode": op.get_nodeattr("mem_mode"), "ram_style": op.get_nodeattr("ram_style"),
                 "bram18": op.resource_estimate().bram18, "cycles": op.exp_cycles()}
                for n, op in hw_ops(m) if n.op_type == "MVAU"]
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
