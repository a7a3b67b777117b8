"""The flow's prune stage (SeReNe + simplify, `model_stages.serene_config`) on demo-size float models, one per
seed: trains the float model with the flow's data/train stages when `<build-root>/s<seed>` has none, prunes it
on one thread, and prints one JSON line per seed (pruned %, val metric reference -> final, test metric of the
float and the pruned model, the loop's history); `--out` also writes them to a results file.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/prune_seeds.py --model segnet-pruned --seeds 0 1 2 \\
        --build-root build/prune-seeds --out benchmarks/results/segnet-prune-seeds-demo.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def run_seed(model: str, seed: int, root: Path, overrides: dict) -> dict:
    import torch

    from fpga_flow.flow import DEMO, STAGES, Flow, FlowConfig
    from fpga_flow.flow.model_stages import PRUNE_BATCH, serene_config
    from fpga_flow.models import load_checkpoint
    from fpga_flow.models.train import evaluate, main_metric
    from fpga_flow.prune.pipeline import prune_zoo_model

    c = FlowConfig(model=model, build_root=root / f"s{seed}", seed=seed, **DEMO[model])
    f = Flow(c)
    if not f.path("checkpoints/float.pt").exists():
        f.run([s for s in STAGES if s.name in ("data", "train")])
    net, meta = load_checkpoint(f.path("checkpoints/float.pt"))
    loaders = f.loaders(batch_size=PRUNE_BATCH, size=net.input_shape[-1])
    metric = main_metric(c.task)
    test_float = 100 * evaluate(net, loaders["test"], c.task)[metric]
    cfg = serene_config(c)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    cfg.progress = False
    torch.set_num_threads(1)  # as the flow's prune stage
    t0 = time.perf_counter()
    p = prune_zoo_model(model, net, meta["config"], loaders, c.task, cfg, multiple_of=cfg.multiple_of)
    test = 100 * evaluate(p.model, loaders["test"], c.task)[metric]
    return {"model": model, "seed": seed, "metric": metric, "pruned_pct": round(p.report.channels_pruned_pct, 1),
            "loop_pruned_pct": round(100 * p.result.pruned_fraction, 1),
            "val_reference": round(p.result.reference, 2), "val_final": round(p.report.metric_after, 2),
            "bound": cfg.loss_bound, "bound_met": p.report.metric_after >= p.result.reference - cfg.loss_bound,
            "test_float": round(test_float, 2), "test_pruned": round(test, 2),
            "macs_ratio": round(p.report.macs_ratio, 2), "seconds": round(time.perf_counter() - t0, 1),
            "message": p.result.message, "history": p.result.history}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="segnet-pruned")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--build-root", type=Path, default=Path("build/prune-seeds"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="PruneConfig override for experiments (e.g. recover_epochs=2)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    rows = []
    for seed in a.seeds:
        row = run_seed(a.model, seed, a.build_root, overrides)
        print(json.dumps({k: v for k, v in row.items() if k != "history"}), flush=True)
        rows.append(row)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({"command": "PYTHONPATH=$PWD nice -n 10 .venv/bin/python "
                                     + " ".join(shlex.quote(x) for x in sys.argv), "overrides": overrides,
                                     "all_pruned_ge_50": all(r["pruned_pct"] >= 50 for r in rows),
                                     "all_bound_met": all(r["bound_met"] for r in rows), "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
