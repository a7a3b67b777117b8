"""Accuracy through the flow's first stages at the demo's size: data -> train -> prune -> quantize,
one model, several seeds; prints one JSON line per seed (val/test metric per stage, channels pruned,
seconds) — the numbers behind fpga_flow/prune/README.md's "demo, three seeds" table.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/stage_accuracy.py --model segnet-pruned --seeds 0 1 2 \
        [--stages data train prune quantize] [--build-root build/stage-acc]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="segnet-pruned")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--stages", nargs="+", default=["data", "train", "prune", "quantize"])
    ap.add_argument("--build-root", type=Path, default=Path("build/stage-acc"))
    a = ap.parse_args()

    from fpga_flow.flow import DEMO, STAGES, Flow, FlowConfig
    from fpga_flow.runtime.buildinfo import read_json

    for seed in a.seeds:
        cfg = FlowConfig(model=a.model, build_root=a.build_root / f"s{seed}", seed=seed,
                         **DEMO[a.model])
        t0 = time.perf_counter()
        f = Flow(cfg)
        f.run([s for s in STAGES if s.name in a.stages])
        row = {"model": a.model, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
               "stages": (read_json(f.path("flow.json")) or {}).get("stages"),
               "accuracy": read_json(f.path("stage_accuracy.json"))}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
