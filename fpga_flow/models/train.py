"""Training loop: seeds, progress display, evaluation (balanced accuracy / IoU), checkpointing.

CPU by default, CUDA when present; under ``torchrun`` (WORLD_SIZE > 1) gradients are averaged with DDP
and each rank takes every WORLD_SIZE-th batch.
"""

from __future__ import annotations

import copy
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fpga_flow.errors import FlowError
from fpga_flow.models.progress import progress_bar


@dataclass
class TrainConfig:
    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adam"          # adam | sgd
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0
    device: str | None = None        # None: cuda when present, else cpu
    progress: bool = True
    class_weights: bool = True       # weight CE by inverse class frequency (ISIC is imbalanced)
    keep_initial: bool = False       # fine-tuning: the model as given competes as "epoch 0" in best-epoch selection,
                                     # so fine-tuning never returns a model worse on validation than its input
    label: str = "train"             # what the progress bar and log lines call the run (train, qat, ...)


@dataclass
class TrainResult:
    model: nn.Module
    best: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def reseed_loader(loader: Iterable, seed: int) -> None:
    """Same shuffling order for the same seed, whatever used the loader before."""
    gen = getattr(loader, "generator", None)
    if isinstance(gen, torch.Generator):
        gen.manual_seed(seed)


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", 0))
        return torch.device(f"cuda:{local}")
    return torch.device("cpu")


def main_metric(task: str) -> str:
    return {"cls": "balanced_accuracy", "seg": "iou", "digits": "accuracy"}[task]


def loss_fn(task: str, weight: torch.Tensor | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def f(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, target.long(), weight=weight)

    return f


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, float]:
    """(predictions, targets, mean CE loss) over a loader, eval mode."""
    was = model.training
    model.eval()
    preds, targets, loss, n = [], [], 0.0, 0
    for x, y in loader:
        x, y = x.to(device), torch.as_tensor(y).to(device)
        out = model(x)
        loss += float(F.cross_entropy(out, y.long(), reduction="sum")) / (y[0].numel() if y.dim() > 1 else 1)
        n += y.shape[0]
        preds.append(out.argmax(1).cpu())
        targets.append(y.cpu())
    model.train(was)
    if not n:
        raise FlowError("evaluation loader is empty")
    return torch.cat(preds), torch.cat(targets), loss / n


def evaluate(model: nn.Module, loader: Iterable, task: str, device: torch.device | str = "cpu") -> dict[str, float]:
    """Loss + the task's metrics (fractions in [0, 1]): balanced_accuracy/accuracy or iou/dice."""
    from fpga_flow.data import metrics

    p, t, loss = predict(model, loader, device)
    out = {"loss": loss}
    if task == "seg":
        out["iou"] = metrics.iou(p, t)
        out["dice"] = metrics.dice(p, t)
    else:
        out["accuracy"] = metrics.accuracy(t, p)
        out["balanced_accuracy"] = metrics.balanced_accuracy(t, p)
    return out


def _class_weights(loader: Iterable, task: str) -> torch.Tensor | None:
    ds = getattr(loader, "dataset", None)
    labels = getattr(ds, "labels", None) if ds is not None else None
    if task == "seg" or labels is None:
        return None
    classes = getattr(ds, "classes", None)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes) if classes else 0)
    w = counts.sum() / np.maximum(counts, 1) / len(counts)
    return torch.tensor(w, dtype=torch.float32)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise FlowError(f"unknown optimizer {cfg.optimizer!r} (adam, sgd)")


def check_splits(loaders: dict[str, Iterable], need: tuple[str, ...] = ("train", "val", "test")) -> None:
    """One error naming the dataset when a split the run needs is empty (a set too small for its split)."""
    sizes = {k: len(getattr(v, "dataset", ())) for k, v in loaders.items() if v is not None}
    empty = [k for k in need if not sizes.get(k)]
    if empty:
        index = getattr(getattr(loaders.get("train"), "dataset", None), "index", None)
        root = getattr(index, "root", "the dataset")
        raise FlowError(f"{root}: {sum(sizes.values())} images are too few for the train/val/test split "
                        f"({', '.join(f'{k} {n}' for k, n in sizes.items())}): {', '.join(empty)} would be empty")


def partial_path(checkpoint: str | Path) -> Path:
    """Where a run in progress keeps its latest epoch (``<name>.partial.pt``), never over the checkpoint itself."""
    p = Path(checkpoint)
    return p.with_name(p.name.removesuffix(".pt") + ".partial.pt")


class TerminateCleanly:
    """Turn SIGTERM into ``SystemExit(143)`` for the duration of a ``with`` block, so that ``finally``
    clauses run (temp files of an interrupted checkpoint write are removed) instead of the process
    vanishing mid-write."""

    def __enter__(self) -> "TerminateCleanly":
        import signal
        import threading

        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame) -> None:
        raise SystemExit(128 + signum)

    def __exit__(self, *exc) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)


def fit(
    model: nn.Module,
    loaders: dict[str, Iterable],
    task: str,
    cfg: TrainConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    name: str | None = None,
    model_cfg: dict[str, Any] | None = None,
    after_step: Callable[[nn.Module, int], None] | None = None,
) -> TrainResult:
    """Train on ``loaders['train']``, select the best epoch on ``loaders['val']`` (task metric), evaluate
    it on ``loaders['test']`` when present, and save it to ``checkpoint`` (needs ``name``/``model_cfg``).

    While the run is in progress, each epoch's best model goes to ``partial_path(checkpoint)`` marked
    ``complete=False``; ``checkpoint`` itself is replaced (atomically) only when the run finishes."""
    cfg = cfg or TrainConfig()
    set_seed(cfg.seed)
    reseed_loader(loaders["train"], cfg.seed)
    device = pick_device(cfg.device)
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    model = model.to(device)
    net: nn.Module = model
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    cw = _class_weights(loaders["train"], task) if cfg.class_weights else None
    criterion = loss_fn(task, cw.to(device) if cw is not None else None)
    opt = make_optimizer(model, cfg)
    metric = main_metric(task)
    best: dict[str, float] = {}
    best_state = copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    step = 0
    if checkpoint is not None and name is None:
        raise FlowError(f"{checkpoint}: saving a checkpoint needs the model name")
    if cfg.keep_initial:
        val = evaluate(model, loaders["val"], task, device)
        best = {f"val_{k}": v for k, v in val.items()} | {"epoch": 0}
        history.append({"epoch": 0, "train_loss": float("nan"), **best})
    with progress_bar(cfg.progress and rank == 0) as bar:
        job = bar.add_task(cfg.label, total=cfg.epochs, info="")
        for epoch in range(cfg.epochs):
            net.train()
            total, count = 0.0, 0
            usable = len(loaders["train"]) // world * world  # every rank runs the same number of steps
            for i, (x, y) in enumerate(loaders["train"]):
                if i >= usable:
                    break
                if i % world != rank:
                    continue
                x, y = x.to(device), torch.as_tensor(y).to(device)
                opt.zero_grad(set_to_none=True)
                loss = criterion(net(x), y)
                loss.backward()
                opt.step()
                if after_step is not None:
                    after_step(model, step)
                step += 1
                total, count = total + loss.item() * x.shape[0], count + x.shape[0]
            val = evaluate(model, loaders["val"], task, device)
            row = {"epoch": epoch + 1, "train_loss": total / max(count, 1), **{f"val_{k}": v for k, v in val.items()}}
            history.append(row)
            if not best or val[metric] > best[f"val_{metric}"]:
                best = {k: v for k, v in row.items() if k.startswith("val_")} | {"epoch": epoch + 1}
                best_state = copy.deepcopy(model.state_dict())
            bar.update(job, advance=1, info=f"loss {row['train_loss']:.3f} val {metric} {val[metric]:.3f}")
            if checkpoint is not None and rank == 0 and epoch + 1 < cfg.epochs:
                _save_partial(checkpoint, model, best_state, name, model_cfg, best, epoch + 1, cfg.epochs)
    model.load_state_dict(best_state)
    if loaders.get("test") is not None:
        best |= {f"test_{k}": v for k, v in evaluate(model, loaders["test"], task, device).items()}
    if checkpoint is not None and rank == 0:
        from fpga_flow.models.checkpoint import save_checkpoint

        save_checkpoint(checkpoint, model.cpu(), name, model_cfg or {}, best)
        partial_path(checkpoint).unlink(missing_ok=True)
        model.to(device)
    return TrainResult(model, best, history)


def _save_partial(checkpoint, model: nn.Module, best_state: dict, name: str | None, model_cfg: dict | None,
                  best: dict, epoch: int, epochs: int) -> None:
    from fpga_flow.models.checkpoint import save_checkpoint

    snapshot = copy.deepcopy(model).cpu()
    snapshot.load_state_dict(best_state)
    save_checkpoint(partial_path(checkpoint), snapshot, name or "", model_cfg or {}, best, complete=False,
                    progress={"epoch": epoch, "epochs": epochs})
