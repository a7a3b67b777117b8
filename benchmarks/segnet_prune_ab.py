"""Prune one seed's demo-size float SegNet (made by ``benchmarks/stage_accuracy.py``) with the demo's
PruneConfig and a chosen fine-tuning loss; prints one JSON line (pruned %, val IoU before/after, history).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/segnet_prune_ab.py --build-root build/stage-acc --seed 0 --loss ce
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
    ap.add_argument("--build-root", type=Path, default=Path("build/stage-acc"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loss", default="auto", help="auto (seg: ce+jaccard) | ce (the loop before issue 12)")
    a = ap.parse_args()

    import torch

    from fpga_flow.flow import DEMO, PRUNE_BATCH, Flow, FlowConfig
    from fpga_flow.models import load_checkpoint
    from fpga_flow.prune.loop import PruneConfig
    from fpga_flow.prune.pipeline import prune_zoo_model

    torch.set_num_threads(1)
    c = FlowConfig(model="segnet-pruned", build_root=a.build_root / f"s{a.seed}", seed=a.seed, **DEMO["segnet-pruned"])
    f = Flow(c)
    model, meta = load_checkpoint(f.path("checkpoints/float.pt"))
    loaders = f.loaders(batch_size=PRUNE_BATCH, size=c.image_size)
    cfg = PruneConfig(method="serene", epochs=c.prune_epochs, schedule="epoch", lr=c.prune_lr, multiple_of=8,
                      loss_bound=c.prune_loss_bound, lam=c.prune_lam, seed=c.seed, recover=0.3, loss=a.loss,
                      progress=False)
    t0 = time.time()
    p = prune_zoo_model("segnet-pruned", model, meta["config"], loaders, "seg", cfg, multiple_of=8)
    print(json.dumps({"seed": a.seed, "loss": a.loss, "pruned_pct": round(p.report.channels_pruned_pct, 1),
                      "val_before": round(p.report.metric_before, 2), "val_after": round(p.report.metric_after, 2),
                      "seconds": round(time.time() - t0), "history": p.result.history}), flush=True)


if __name__ == "__main__":
    main()
