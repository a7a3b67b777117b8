"""Benchmark: the MVAU LUT model against Yosys ``synth_xilinx``, per MVAU of a build (issue 15).

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/mvau_lut_model.py BUILD_DIR [--board Pynq-Z2]
        [--only MVAU_3 ...] [--out benchmarks/results/NAME.json]

BUILD_DIR is an ``fpga-flow build`` folder (``dataflow.onnx``). Each MVAU is synthesized out of
context by the project's per-layer path (``fpga_flow.synth.run``), cached by content in
``BUILD_DIR/synth/layers/<name>/``; no logic-depth pass (``ltp``) to keep the runs short. Prints one
JSON line per layer (Yosys LUTs, model LUTs, ratio) smallest estimate first and writes the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


# (MW, MH, PE, SIMD, input, weight, resType, lut_mac, ram_style): the shapes vgg16-pruned's folding
# picks (W4A4 unsigned inputs, W8 first layer) plus LUT-MAC and signed-input points
GRID = [
    (144, 32, 4, 16, "UINT4", "INT4", "lut", "multiplier", "auto"),
    (144, 32, 4, 16, "UINT4", "INT4", "lut", "bitplane", "auto"),
    (288, 64, 8, 32, "UINT4", "INT4", "lut", "bitplane", "auto"),
    (288, 64, 8, 8, "UINT4", "INT4", "lut", "multiplier", "auto"),
    (576, 64, 16, 9, "UINT4", "INT4", "lut", "bitplane", "auto"),
    (144, 32, 2, 72, "UINT4", "INT4", "lut", "bitplane", "distributed"),
    (288, 48, 6, 16, "UINT4", "INT4", "dsp", "multiplier", "auto"),
    (288, 48, 12, 8, "UINT4", "INT4", "dsp", "multiplier", "auto"),
    (288, 48, 6, 16, "INT4", "INT4", "dsp", "multiplier", "auto"),
    (27, 64, 16, 27, "INT8", "INT8", "dsp", "multiplier", "distributed"),
    (27, 64, 8, 9, "INT8", "INT8", "lut", "multiplier", "distributed"),
    (144, 32, 4, 16, "INT4", "INT4", "lut", "bitplane", "auto"),
]


def grid_jobs():
    import numpy as np

    from fpga_flow.compiler.hw import make_hw_node
    from fpga_flow.compiler.hw.mvau import MVAU
    from fpga_flow.synth.layers import LayerJob

    rng = np.random.default_rng(15)
    ops, jobs = {}, []
    for mw, mh, pe, simd, idt, wdt, rt, lm, rs in GRID:
        name = f"g{mw}x{mh}_p{pe}s{simd}_{idt}_{wdt}_{rt}_{lm}_{rs}"
        wb = int(wdt[3:])
        lo = int(idt.startswith("INT")) * -(1 << (int(idt[-1]) - 1))
        acc_hi = mw * (1 << (wb - 1)) * 15
        node = make_hw_node("MVAU", "x", "y", name=name, MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=[1, 8, 8],
                            inputDataType=idt, weightDataType=wdt, outputDataType="UINT4", resType=rt, lut_mac=lm,
                            ram_style=rs, weights=rng.integers(-(1 << (wb - 1)), 1 << (wb - 1), (mw, mh)),
                            thresholds=np.sort(rng.integers(-acc_hi // 8 + lo, acc_hi // 8, (mh, 15)), axis=1))
        op = MVAU(node)
        ops[name] = op
        jobs.append(LayerJob(name=name, op_type="MVAU", module="mvau", params=op.rtl_parameters(),
                             memories=op.rtl_memories(), dsp=rt != "lut", node=name))
    return ops, jobs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("build", type=Path, help="build folder, or a scratch folder with --grid")
    ap.add_argument("--grid", action="store_true", help="synthetic MVAUs of GRID instead of a build's")
    ap.add_argument("--board", default=None)
    ap.add_argument("--only", action="append", default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=1800)
    a = ap.parse_args()

    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    from fpga_flow.errors import FlowError
    from fpga_flow.synth.layers import HLS_DIR, layers_from_dataflow, module_library
    from fpga_flow.synth.run import _synth_layer, board_of_build
    from fpga_flow.synth.yosys import yosys_version

    version = yosys_version()
    if a.grid:
        from fpga_flow.boards import load_board

        board = load_board(a.board or "Pynq-Z2")
        ops, jobs = grid_jobs()
        jobs = [j for j in jobs if not a.only or j.node in a.only]
    else:
        board = board_of_build(a.build, a.board)
        model = ModelWrapper(str(a.build / "dataflow.onnx"))
        ops = {n.name: getCustomOp(n) for n in model.graph.node if n.op_type == "MVAU"}
        jobs = [j for j in layers_from_dataflow(a.build) if j.node in ops and (not a.only or j.node in a.only)]
    jobs.sort(key=lambda j: ops[j.node].resource_estimate().lut)
    lib = module_library([HLS_DIR])
    rows = {}
    for job in jobs:
        op = ops[job.node]
        t0 = time.perf_counter()
        try:
            d = _synth_layer(job, lib, board.family, a.build / "synth" / "layers" / job.name, version, False,
                             a.timeout)
        except FlowError as err:
            print(json.dumps({"layer": job.node, "error": str(err)}), flush=True)
            continue
        est = op.resource_estimate()
        got = d["resources"]
        at = op.attrs
        row = {"layer": job.node, "MW": at.MW, "MH": at.MH, "PE": at.PE, "SIMD": at.SIMD,
               "widths": f"W{op.weight_bits()}A{op.input_datatype().bitwidth()}", "resType": at.resType,
               "products_per_dsp": op.products_per_dsp(), "lut_mac": at.lut_mac, "ram_style": at.ram_style,
               "yosys": {k: got[k] for k in ("lut", "lutram", "dsp", "bram18", "uram")},
               "model": {"lut": round(est.lut), "dsp": est.dsp, "bram18": est.bram18, "uram": est.uram},
               "lut_ratio": round(est.lut / max(1, got["lut"]), 3),
               "yosys_s": d.get("seconds"), "wall_s": round(time.perf_counter() - t0, 1)}
        rows[job.node] = row
        print(json.dumps(row), flush=True)
    if a.out:
        worst = max((abs(r["lut_ratio"] - 1) for r in rows.values()), default=0.0)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({
            "source": "yosys vs estimate", "tool": version, "board": board.name, "family": board.family,
            "build": str(a.build), "worst_lut_error": round(worst, 3), "layers": rows,
            "command": "PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/mvau_lut_model.py " + " ".join(sys.argv[1:]),
            "note": "out-of-context Yosys per MVAU, no ltp pass; LUTs include LUTs used as memory; shared, loaded "
                    "2-core machine (yosys_s and wall_s are not comparable run to run)",
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
