"""Run under torchrun: ``fit`` on a tiny CNN with DDP (gloo on CPU); each rank saves its weights."""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from fpga_flow.models.train import TrainConfig, fit

sys.path.insert(0, os.path.dirname(__file__))
from ddp_data import batches, tiny_net  # noqa: E402


def main(out: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = tiny_net()
    train, val = batches()
    res = fit(model, {"train": train, "val": val}, "digits",
              TrainConfig(epochs=2, lr=1e-2, seed=0, progress=False, class_weights=False))
    rank = dist.get_rank()
    torch.save({"state": model.state_dict(), "world": dist.get_world_size(), "backend": dist.get_backend(),
                "history": res.history}, os.path.join(out, f"rank{rank}.pt"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
