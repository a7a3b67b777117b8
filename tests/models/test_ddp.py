"""The torchrun path of ``fit`` on CPU: 2 processes, gloo, a tiny net, a few steps. DDP averages the
gradients of the two ranks' batches, so both ranks end with the weights one process gets from
training on the two batches joined (the loss is a mean over equal-sized batches)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from fpga_flow.models.train import TrainConfig, fit

from .ddp_data import batches, tiny_net

HERE = Path(__file__).parent
REPO = HERE.parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_ddp_gloo_two_processes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("WORLD_SIZE", None)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
                        str(HERE / "ddp_worker.py"), str(tmp_path)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{i}.pt", weights_only=False) for i in (0, 1)]
    assert [(d["world"], d["backend"]) for d in ranks] == [(2, "gloo")] * 2
    for k, v in ranks[0]["state"].items():
        assert torch.equal(v, ranks[1]["state"][k]), k  # DDP keeps the replicas identical

    torch.manual_seed(0)
    ref = tiny_net()
    start = {k: v.clone() for k, v in ref.state_dict().items()}
    train, val = batches()
    joined = [(torch.cat([train[i][0], train[i + 1][0]]), torch.cat([train[i][1], train[i + 1][1]]))
              for i in range(0, len(train), 2)]
    fit(ref, {"train": joined, "val": val}, "digits",
        TrainConfig(epochs=2, lr=1e-2, seed=0, progress=False, class_weights=False))
    for k, v in ref.state_dict().items():
        assert not torch.equal(v, start[k]), k  # training moved every tensor
        torch.testing.assert_close(ranks[0]["state"][k], v, rtol=1e-4, atol=1e-5)
