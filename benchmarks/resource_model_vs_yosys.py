"""Benchmark: the resource model (each hardware layer's ``resource_estimate``) against Yosys per layer.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/resource_model_vs_yosys.py BUILD_DIR [BUILD_DIR ...]
        [--board Pynq-Z2] [--out benchmarks/results/resource-model-vs-yosys.json]

BUILD_DIR is a finished ``fpga-flow bitstream`` folder: ``dataflow.onnx`` and the per-layer Yosys
results of its synthesis stage (``synth/report.json``, ``synth_xilinx`` out of context). Nothing is
synthesized here: the script re-estimates every layer with the model as it is now (so a model change
shows at once) and compares LUT, BRAM18 and DSP with the recorded Yosys counts. FIFOs are estimated at
the depth and RAM style that were synthesized (rtlsim-sized, not the graph's); stages that codegen adds
and the graph lacks (e.g. width converters between a FIFO and its consumer) have Yosys counts only and
are summed apart. The source of every figure is named: ``estimate`` (model) or ``yosys``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEYS = ("lut", "bram18", "dsp")
MVAU_LUT_TOL = 0.25


def _estimate(op, name: str, synth_params: dict) -> dict:
    if op.onnx_node.op_type == "StreamingFIFO" and synth_params:
        op.set_nodeattr("depth", int(synth_params["DEPTH"]))
        op.set_nodeattr("ram_style", str(synth_params.get("RAM_STYLE", "auto")))
    r = op.resource_estimate().to_dict()
    return {k: float(r[k]) for k in KEYS}


def compare(bdir: Path) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    import fpga_flow.compiler.hw  # noqa: F401  (registers the hardware layers)

    rep = json.loads((bdir / "synth" / "report.json").read_text())
    ys = rep["layers"]
    model = ModelWrapper(str(bdir / "dataflow.onnx"))
    rows, seen = [], set()
    for n in model.graph.node:
        y = ys.get(n.name)
        if y is None:
            continue
        seen.add(n.name)
        op = getCustomOp(n)
        est = _estimate(op, n.name, y.get("params") or {})
        yr = {k: float(y["resources"][k]) for k in KEYS}
        row = {"layer": n.name, "op_type": n.op_type, "module": y["module"], "params": y.get("params"),
               "estimate": est, "yosys": yr,
               "lut_ratio": round(est["lut"] / yr["lut"], 3) if yr["lut"] else None}
        rows.append(row)
    extra = {name: {k: float(v["resources"][k]) for k in KEYS} for name, v in ys.items() if name not in seen}
    tot_e = {k: sum(r["estimate"][k] for r in rows) for k in KEYS}
    tot_y = {k: sum(r["yosys"][k] for r in rows) for k in KEYS}
    tot_x = {k: sum(v[k] for v in extra.values()) for k in KEYS}
    by_kind: dict[str, dict] = {}
    for r in rows:
        d = by_kind.setdefault(r["op_type"], {"n": 0, **{f"estimate_{k}": 0.0 for k in KEYS},
                                               **{f"yosys_{k}": 0.0 for k in KEYS}})
        d["n"] += 1
        for k in KEYS:
            d[f"estimate_{k}"] += r["estimate"][k]
            d[f"yosys_{k}"] += r["yosys"][k]
    mvau = [r for r in rows if r["op_type"] in ("MVAU", "BinaryMVAU", "VVAU")]
    off = [r["layer"] for r in mvau if r["lut_ratio"] is not None and abs(r["lut_ratio"] - 1) > MVAU_LUT_TOL]
    return {
        "build": str(bdir),
        "yosys_tool": rep.get("tool"),
        "layers": rows,
        "by_op_type": by_kind,
        "total": {"estimate": tot_e, "yosys": tot_y,
                  "lut_ratio": round(tot_e["lut"] / tot_y["lut"], 3) if tot_y["lut"] else None,
                  "bram18_diff": tot_e["bram18"] - tot_y["bram18"], "dsp_diff": tot_e["dsp"] - tot_y["dsp"],
                  "scope": "the layers of dataflow.onnx (estimate: model now; yosys: per-layer synth_xilinx)"},
        "codegen_only_stages": {"yosys": tot_x, "layers": sorted(extra)},
        "yosys_stitched_top": rep.get("total"),
        "mvau_lut_outside_25pct": off,
        "mvau_abs_lut_error_max": max((abs(r["lut_ratio"] - 1) for r in mvau if r["lut_ratio"]), default=None),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/resource-model-vs-yosys.json"))
    a = ap.parse_args(argv)
    out = {"source": "estimate (fpga_flow resource model, re-run) vs yosys (recorded per-layer synth_xilinx)",
           "command": "PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/resource_model_vs_yosys.py "
                      + " ".join(str(b) for b in a.builds),
           "designs": []}
    for b in a.builds:
        d = compare(b)
        out["designs"].append(d)
        print(f"== {b}")
        for r in d["layers"]:
            if r["op_type"] == "StreamingFIFO" and r["yosys"]["lut"] < 100 and not r["yosys"]["bram18"]:
                continue
            e, y = r["estimate"], r["yosys"]
            print(f"  {r['layer']:32s} LUT {e['lut']:8.0f} / {y['lut']:6.0f} ({r['lut_ratio']})  "
                  f"BRAM18 {e['bram18']:4.0f} / {y['bram18']:3.0f}  DSP {e['dsp']:4.0f} / {y['dsp']:3.0f}")
        t = d["total"]
        print(f"  total (estimate / yosys): LUT {t['estimate']['lut']:.0f} / {t['yosys']['lut']:.0f} "
              f"({t['lut_ratio']}), BRAM18 {t['estimate']['bram18']:.0f} / {t['yosys']['bram18']:.0f}, "
              f"DSP {t['estimate']['dsp']:.0f} / {t['yosys']['dsp']:.0f}; codegen-only stages (yosys): "
              f"{d['codegen_only_stages']['yosys']}")
        print(f"  MVAUs outside 25 % LUT: {d['mvau_lut_outside_25pct']}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
