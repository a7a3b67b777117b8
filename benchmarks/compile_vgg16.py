"""Benchmark: compile time QONNX -> folded hardware graph + estimates (issue 8), vgg16-pruned at
224x224, W4A4 (first/last layer W8), on this machine.

    .venv/bin/python benchmarks/compile_vgg16.py [--model vgg16-pruned] [--size 224] [--board Pynq-Z2 ...]
                                                 [--verify]  # + bit-exact check of the full frame

The QONNX file is made here from the zoo topology (nominal pruning plan or the checkpoint if one
exists) with calibrated random weights; its export time is reported separately and not counted.
Prints one JSON line per board with the compile seconds and the estimated FPS ([estimate]).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def make_qonnx(model: str, size: int, path: Path) -> float:
    import torch

    from fpga_flow.models import build
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model

    t0 = time.perf_counter()
    fm = build(model, in_size=size)
    fm.eval()
    qm = quantize_model(fm, QuantSpec())
    g = torch.Generator().manual_seed(0)
    calibrate(qm, [torch.randn(1, 3, size, size, generator=g) for _ in range(2)])
    export_qonnx_clean(qm, (1, 3, size, size), path)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vgg16-pruned")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--board", action="append", default=None)
    ap.add_argument("--qonnx", type=Path, default=None, help="use this QONNX file instead of exporting one")
    ap.add_argument("--verify", action="store_true", help="bit-exact check of one full frame (slow)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    boards = a.board or ["Pynq-Z2", "ZCU104"]

    from fpga_flow.compiler import build_dataflow

    work = a.out or Path(tempfile.mkdtemp(prefix="compile_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    q = a.qonnx
    if q is None:
        q = work / f"{a.model}-{a.size}.qonnx.onnx"
        t_exp = make_qonnx(a.model, a.size, q)
        print(json.dumps({"step": "export (not counted)", "seconds": round(t_exp, 2), "qonnx": str(q)}), flush=True)
    for b in boards:
        t0 = time.perf_counter()
        r = build_dataflow(q, b, work / f"{a.model}-{b}", quiet=True)
        dt = time.perf_counter() - t0
        t = r.estimates["total"]
        print(json.dumps({
            "model": a.model, "size": a.size, "board": b, "compile_seconds": round(dt, 2),
            "steps": {n: round(s, 2) for n, _, _, s in r.steps},
            "fps_estimate": round(t["fps"], 2), "cycles_per_frame": t["cycles_per_frame"],
            "slowest_layer": t["slowest_layer"], "utilization": t["utilization"],
            "external_weights": t["external_weights"], "roofline": t.get("roofline"),
            "target_60s_met": dt <= 60.0,
        }), flush=True)
        if a.verify:
            verify(work / f"{a.model}-{b}", q)
    return 0


def verify(build_dir: Path, qonnx: Path) -> None:
    """Node-by-node bit-exactness of one full frame (every quantized activation + the output)."""
    import numpy as np

    from fpga_flow.compiler.verify import verify_build

    io = json.loads((build_dir / "io.json").read_text())
    x = np.random.default_rng(0).standard_normal(io["input"]["qonnx_shape"]).astype(np.float32)
    t0 = time.perf_counter()
    v = verify_build(build_dir, x)
    print(json.dumps({"verify": build_dir.name, "tensors_checked": v["checked"],
                      "mismatching_elements": sum(v["tensors"].values()),
                      "output_max_abs_diff": v["output_max_abs_diff"], "bit_exact": v["bit_exact"],
                      "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
