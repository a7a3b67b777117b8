"""Benchmark: the branching zoo (resnet18, mobilenet-v1, unet; pruned plans) at 224x224 beside vgg16-pruned,
W4A4 (first/last layer W8, per-channel weight scales, as the Table 4 rows), compiled for Pynq-Z2 and ZCU104.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/zoo_224.py [--models ...] [--boards ...] \
        [--out build/zoo224] [--json benchmarks/results/zoo-224.json]

Figures are the compiler's `estimate` (cycle model at the board clock, resource model), on RANDOM
calibrated weights (the topology is what sets them): the pruned names use their channel plan
(``fpga_flow/models/plans/<name>.json`` when one exists, else the recipe's nominal plan, every width x 0.5
rounded up to a multiple of 8; the coupled widths of residual adds and depthwise convs stay equal).
No rtlsim at this size (minutes per frame on this CPU).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

MODELS = ("vgg16-pruned", "resnet18-pruned", "mobilenet-v1-pruned", "unet-pruned")


def make_qonnx(model: str, size: int, path: Path) -> dict:
    import torch

    from fpga_flow.models import build, hidden_widths
    from fpga_flow.models.registry import measured_plan, spec
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model

    t0 = time.perf_counter()
    fm = build(model, in_size=size).eval()
    bits = spec(model).bits
    wbits, abits = (bits.wbits, bits.abits) if bits else (4, 4)
    qm = quantize_model(fm, QuantSpec(wbits=wbits, abits=abits, weight_scaling="channel"))
    g = torch.Generator().manual_seed(0)
    calibrate(qm, [torch.randn(1, 3, size, size, generator=g) for _ in range(2)])
    export_qonnx_clean(qm, (1, 3, size, size), path)
    plan = "measured plan (plans/%s.json)" % model if measured_plan(model) else "nominal plan (x0.5, multiples of 8)"
    return {"channels": hidden_widths(fm), "plan": plan, "bits": f"W{wbits}A{abits} (first/last W8)",
            "params": sum(p.numel() for p in fm.parameters()), "export_s": round(time.perf_counter() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--boards", nargs="+", default=["Pynq-Z2", "ZCU104"])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--out", type=Path, default=Path("build/zoo224"))
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    import os

    from fpga_flow.compiler import build_dataflow
    from fpga_flow.errors import FlowError

    rows = []
    for m in a.models:
        q = a.out / f"{m}-{a.size}.qonnx.onnx"
        info = make_qonnx(m, a.size, q)
        for b in a.boards:
            t0 = time.perf_counter()
            row = {"model": m, "size": a.size, "board": b, "source": "estimate", "weights": "random (calibrated)", **info}
            try:
                r = build_dataflow(q, b, a.out / f"{m}-{b}", quiet=True)
                t = r.estimates["total"]
                row.update(fps=round(t["fps"], 2), cycles_per_frame=t["cycles_per_frame"],
                           slowest_layer=t["slowest_layer"], utilization=t["utilization"],
                           external_weights=t["external_weights"])
            except FlowError as err:  # over the board even fully folded: say so, then the best-effort design
                row["error"] = str(err)
                r = build_dataflow(q, b, a.out / f"{m}-{b}", quiet=True, best_effort=True)
                t = r.estimates["total"]
                row.update(best_effort=True, fps=round(t["fps"], 2), cycles_per_frame=t["cycles_per_frame"],
                           slowest_layer=t["slowest_layer"], utilization=t["utilization"],
                           external_weights=t["external_weights"])
            row["compile_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"command": " ".join(["benchmarks/zoo_224.py", *sys.argv[1:]]),
                                      "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs "
                                                 f"(load {os.getloadavg()[0]:.1f})",
                                      "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
