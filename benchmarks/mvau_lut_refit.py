"""Refit of the MVAU LUT model's coefficients (``fpga_flow.compiler.hw.mvau.LUT_FIT``) to recorded Yosys
counts: the MVAUs of synthesized builds (``synth/report.json`` beside ``dataflow.onnx``) and the grid of
benchmarks/mvau_lut_model.py (its results file), the grid at half weight (random weights and thresholds,
no trained network's). Non-negative least squares on the relative error; ``lutrom`` stays at its own fit
(benchmarks/lutrom_yosys.py). Prints the coefficients and each layer's ratio; nothing is synthesized.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/mvau_lut_refit.py BUILD_DIR [BUILD_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FIXED = {"lutrom": 0.977, "const": 0.0}
GRID_WEIGHT = 0.5


def main(argv: list[str]) -> int:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp
    from scipy.optimize import nnls

    import fpga_flow.compiler.hw  # noqa: F401
    sys.path.insert(0, str(Path(__file__).parent))
    from mvau_lut_model import grid_jobs

    data = []
    for b in map(Path, argv):
        rep = json.loads((b / "synth" / "report.json").read_text())["layers"]
        for n in ModelWrapper(str(b / "dataflow.onnx")).graph.node:
            if n.op_type == "MVAU" and n.name in rep:
                data.append((f"{b.name}:{n.name}", getCustomOp(n), rep[n.name]["resources"]["lut"], 1.0))
    grid = json.loads(Path("benchmarks/results/mvau-lut-model-grid.json").read_text())["layers"]
    ops, _ = grid_jobs()
    data += [(f"grid:{k}", ops[k], r["yosys"]["lut"], GRID_WEIGHT) for k, r in grid.items()]
    keys = list(data[0][1].lut_terms())
    X = np.array([[op.lut_terms()[k] for k in keys] for _, op, _, _ in data])
    y = np.array([d[2] for d in data], dtype=float)
    w = np.array([d[3] for d in data])
    free = [i for i, k in enumerate(keys) if k not in FIXED]
    rest = y - sum(X[:, keys.index(k)] * v for k, v in FIXED.items())
    c, _ = nnls(X[:, free] / y[:, None] * w[:, None], rest / y * w)
    coef = {k: FIXED.get(k, 0.0) for k in keys}
    coef.update({keys[i]: round(float(v), 3) for i, v in zip(free, c)})
    print(json.dumps(coef))
    worst: dict[str, float] = {}
    for (name, _, yv, _), row in zip(data, X):
        e = sum(coef[k] * row[i] for i, k in enumerate(keys))
        g = name.split(":")[0]
        worst[g] = max(worst.get(g, 0.0), abs(e / yv - 1))
        print(f"{name:60s} yosys {yv:6.0f} model {e:7.0f} {e / yv:.2f}")
    print("worst relative error per source:", {k: round(v, 3) for k, v in worst.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
