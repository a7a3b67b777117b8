"""The regularise-and-prune loop shared by SeReNe and the baselines.

Train with the method's regulariser; when the validation loss plateaus (or after every epoch with
``schedule="epoch"``, lr and lambda cosine-annealed to 0: short runs), take a pruning step: zero the
lowest-magnitude parameters (or channels) below a threshold found by bisection so that the validation
metric stays within ``loss_bound`` points of the unpruned reference. Keep the most pruned snapshot that
meets the bound; stop when steps stop pruning, when ``target`` is reached, or after ``epochs``. Channel
pruning then spends the rest in groups of ``multiple_of`` channels, one layer at a time, in rounds judged
after recovery fine-tuning (``refine_with_recovery``), always against the same reference and bound.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.progress import progress_bar
from fpga_flow.models.train import evaluate, loss_fn, main_metric, pick_device, reseed_loader, set_seed
from fpga_flow.prune.depgraph import coupling
from fpga_flow.prune.graph import is_chain, units
from fpga_flow.prune.masks import Masks, channel_norms
from fpga_flow.prune.regularizers import make_regularizer
from fpga_flow.prune.rounding import round_mask

METHODS = ("serene", "magnitude", "lobster")
SCHEDULES = ("plateau", "epoch", "auto")
LOSSES = ("auto", "ce", "ce+jaccard")


def soft_jaccard_loss(out: torch.Tensor, target: torch.Tensor, positive: int = 1) -> torch.Tensor:
    """1 - soft IoU of class ``positive`` over the batch (probabilities instead of argmax): the
    differentiable form of the metric segmentation is judged by."""
    prob = torch.softmax(out, 1)[:, positive]
    truth = (target == positive).to(prob.dtype)
    inter = (prob * truth).sum()
    return 1 - (inter + 1.0) / (prob.sum() + truth.sum() - inter + 1.0)


def prune_criterion(task: str, loss: str = "auto") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The fine-tuning loss of the pruning loop. Segmentation (``auto``): cross-entropy + soft Jaccard of the
    lesion class. Plain cross-entropy lets fine-tuning trade lesion pixels (the minority class) for a lower
    loss: SegNet's validation IoU fell 64.5 -> 58.5 in one epoch while its validation loss fell, so the
    bound (IoU within 1 point of the unpruned model) was measured against a score that fine-tuning itself
    did not hold, and the loop could never come back within it to take a pruning step."""
    if loss not in LOSSES:
        raise FlowError(f"unknown pruning loss {loss!r}; known: {', '.join(LOSSES)}")
    ce = loss_fn(task)
    if loss == "ce" or (loss == "auto" and task != "seg"):
        return ce

    def f(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ce(out, target) + soft_jaccard_loss(out, target)

    return f


@dataclass
class PruneConfig:
    method: str = "serene"          # serene | magnitude | lobster
    granularity: str = "channel"    # channel | param
    epochs: int = 20
    lr: float = 0.01
    momentum: float = 0.9
    lam: float = 1e-3               # regulariser strength (weight decay for magnitude)
    patience: int = 2               # epochs without val-loss improvement before a pruning step
    schedule: str = "plateau"       # plateau: step after `patience` epochs without val-loss improvement;
                                    # epoch: step at the end of every epoch (short runs, where a plateau never comes);
                                    # auto: epoch when epochs <= short_run, else plateau
    short_run: int = 8
    anneal: bool | None = None      # cosine-anneal lr and lambda to 0 over the run (None: with the epoch schedule),
                                    # so that the last epochs settle and their pruning steps see a converged model
    recover: float = 0.0            # with anneal: lambda reaches 0 this fraction of the run before the end, so that the
                                    # last epochs fine-tune the shrunk model back above the bound and prune what stayed small
    loss_bound: float = 1.0         # allowed drop of the val metric, in points
    loss: str = "auto"              # fine-tuning loss: auto (seg: ce+jaccard, else ce) | ce | ce+jaccard
    refine: bool = True             # channel granularity: spend what the final model has above the floor on
                                    # further groups of `multiple_of` channels, one layer at a time
    refine_rounds: int = 8          # rounds of refine judged after recovery fine-tuning (0: one plain refine pass)
    recover_epochs: int = 2         # fine-tuning epochs (no regulariser, masks held, lr cosine from `lr`) that
                                    # recover a round's refine before its score is judged against the floor
    refine_slack: float = 2.0       # a round's refine may go this many points below the floor; the recovery
                                    # must bring it back within the bound or the round is undone (slack halved)
    bisect_iters: int = 8
    sens_every: int = 5
    sens_samples: int = 64
    multiple_of: int = 1            # channel granularity: kept counts rounded up to this multiple
    stall: int = 3                  # stop after this many pruning steps that prune nothing
    target: float | None = None     # stop once this fraction is pruned (channels or params)
    metric: str | None = None       # default: the task's main metric
    seed: int = 0
    device: str | None = None
    progress: bool = True


@dataclass
class PruneResult:
    model: nn.Module
    masks: Masks
    reference: float                # val metric of the input model, points
    final: float                    # val metric of the returned model, points
    pruned_fraction: float          # of hidden channels (channel) or weights (param)
    bound_met: bool
    target_met: bool | None
    message: str
    history: list[dict] = field(default_factory=list)


def _pruned_fraction(masks: Masks, granularity: str) -> float:
    if granularity == "param":
        total = sum(w.numel() for w in masks.weight)
        return 1 - masks.alive_params() / total
    hidden = masks.channel[:-1]
    return 1 - sum(int(c.sum()) for c in hidden) / sum(c.numel() for c in hidden)


def candidate(model: nn.Module, masks: Masks, q: float, granularity: str, multiple_of: int = 1) -> Masks:
    """Masks after pruning the fraction ``q`` of the currently alive weights/channels of lowest magnitude
    (channels: l2 norm relative to the layer's largest; the largest channel of a layer always stays)."""
    new = masks.clone()
    if q <= 0:
        return new
    us = units(model)
    if granularity == "param":
        mags = [u.layer.weight.detach().abs().cpu() for u in us]
        alive = torch.cat([m[w.bool()] for m, w in zip(mags, masks.weight)])
        if alive.numel() == 0:
            return new
        t = torch.sort(alive).values[min(alive.numel() - 1, int(q * alive.numel()))]
        for i, m in enumerate(mags):
            new.weight[i] = new.weight[i] * (m >= t).to(new.weight[i].dtype)
        return new
    if not is_chain(model):
        return _candidate_coupled(model, masks, new, q, multiple_of)
    norms = channel_norms(model)[:-1]
    rel = [n / n[c].max().clamp_min(1e-12) if c.any() else n for n, c in zip(norms, masks.channel)]
    alive = torch.cat([r[c] for r, c in zip(rel, masks.channel)])
    t = torch.sort(alive).values[min(alive.numel() - 1, int(q * alive.numel()))]
    for i, (r, c) in enumerate(zip(rel, masks.channel)):
        keep = c & (r >= t)
        if not keep.any():
            keep[int(torch.argmax(torch.where(c, r, torch.full_like(r, -1.0))))] = True
        new.channel[i] = round_mask(keep, r, multiple_of, alive=c) if multiple_of > 1 else keep
    return new


def _relative_norms(model: nn.Module, masks: Masks) -> list[torch.Tensor]:
    norms = channel_norms(model)
    return [n / n[c].max().clamp_min(1e-12) if c.any() else n for n, c in zip(norms, masks.channel)]


def _candidate_coupled(model: nn.Module, masks: Masks, new: Masks, q: float, multiple_of: int) -> Masks:
    """``candidate`` per group of coupled channels (``depgraph``): a group's norm is the largest relative
    norm of the units writing it, its mask goes to all of them."""
    cp = coupling(model)
    rel = _relative_norms(model, masks)
    groups = {g: (cp.group_values(g, rel), cp.group_mask(g, masks.channel)) for g in cp.hidden}
    alive = torch.cat([r[c] for r, c in groups.values()])
    if alive.numel() == 0:
        return new
    t = torch.sort(alive).values[min(alive.numel() - 1, int(q * alive.numel()))]
    keep: dict[int, torch.Tensor] = {}
    for g, (r, c) in groups.items():
        k = c & (r >= t)
        if not k.any():
            k[int(torch.argmax(torch.where(c, r, torch.full_like(r, -1.0))))] = True
        keep[g] = round_mask(k, r, multiple_of, alive=c) if multiple_of > 1 else k
    new.channel = [cp.unit_mask(u, keep, c) for u, c in enumerate(masks.channel)]
    return new


class Pruner:
    """Holds model, loaders and config; ``run()`` returns a :class:`PruneResult`."""

    def __init__(self, model: nn.Module, loaders: dict[str, Iterable], task: str, cfg: PruneConfig,
                 metric_fn: Callable[[nn.Module], float] | None = None):
        if cfg.method not in METHODS:
            raise FlowError(f"unknown pruning method {cfg.method!r}; known: {', '.join(METHODS)}")
        if cfg.schedule not in SCHEDULES:
            raise FlowError(f"unknown pruning schedule {cfg.schedule!r}; known: {', '.join(SCHEDULES)}")
        prune_criterion(task, cfg.loss)  # unknown loss -> FlowError before any work
        if cfg.granularity not in ("channel", "param"):
            raise FlowError(f"unknown granularity {cfg.granularity!r} (channel, param)")
        self.cfg, self.task, self.loaders = cfg, task, loaders
        self.device = pick_device(cfg.device)
        self.model = model.to(self.device)
        self.metric = cfg.metric or main_metric(task)
        self._metric_fn = metric_fn

    def val(self) -> dict[str, float]:
        return evaluate(self.model, self.loaders["val"], self.task, self.device)

    def score(self) -> float:
        if self._metric_fn is not None:
            return 100 * self._metric_fn(self.model)
        return 100 * self.val()[self.metric]

    def _score_with(self, masks: Masks) -> float:
        saved = copy.deepcopy(self.model.state_dict())
        masks.apply(self.model)
        s = self.score()
        self.model.load_state_dict(saved)
        return s

    def prune_step(self, masks: Masks, floor: float) -> tuple[Masks, float]:
        """Bisection on the fraction to prune; returns (new masks, fraction)."""
        lo, hi, best = 0.0, 1.0, masks
        for _ in range(self.cfg.bisect_iters):
            mid = (lo + hi) / 2
            cand = candidate(self.model, masks, mid, self.cfg.granularity, self.cfg.multiple_of)
            if self._score_with(cand) >= floor:
                lo, best = mid, cand
            else:
                hi = mid
        best.apply(self.model)
        return best, lo

    def refine(self, masks: Masks, floor: float) -> Masks:
        """Greedy passes over the layers: drop the weakest ``multiple_of`` alive channels of one layer while the
        score stays >= ``floor``. The global threshold of :meth:`prune_step` removes channels from every layer
        at once, and with kept counts rounded to multiples a layer of 16 can only lose 8 at a time, so a model
        that recovered above the bound keeps spare points no global step can use."""
        group = max(1, self.cfg.multiple_of)
        if not is_chain(self.model):
            return self._refine_coupled(masks, floor, group)
        changed = True
        while changed:
            changed = False
            norms = channel_norms(self.model)[:-1]
            for i, (n, alive) in enumerate(zip(norms, masks.channel)):
                if int(alive.sum()) - group < group:
                    continue
                weakest = torch.argsort(torch.where(alive, n, torch.full_like(n, float("inf"))))[:group]
                cand = masks.clone()
                cand.channel[i][weakest] = False
                if self._score_with(cand) >= floor:
                    masks = cand
                    masks.apply(self.model)
                    changed = True
        return masks

    def _refine_coupled(self, masks: Masks, floor: float, group: int) -> Masks:
        """``refine`` per group of coupled channels."""
        cp = coupling(self.model)
        changed = True
        while changed:
            changed = False
            for g in cp.hidden:
                alive = cp.group_mask(g, masks.channel)
                if int(alive.sum()) - group < group:
                    continue
                n = cp.group_values(g, channel_norms(self.model))
                weakest = torch.argsort(torch.where(alive, n, torch.full_like(n, float("inf"))))[:group]
                kill = alive.clone()
                kill[weakest] = False
                cand = masks.clone()
                cand.channel = [cp.unit_mask(u, {g: kill}, c) for u, c in enumerate(masks.channel)]
                if self._score_with(cand) >= floor:
                    masks = cand
                    masks.apply(self.model)
                    changed = True
        return masks

    def fine_tune(self, masks: Masks, epochs: int, criterion: Callable) -> float:
        """``epochs`` of SGD without the regulariser (lr cosine-annealed from ``cfg.lr`` to 0, masks held);
        returns the score after."""
        model, cfg = self.model, self.cfg
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        total, step = max(1, epochs * len(self.loaders["train"])), 0
        for _ in range(epochs):
            model.train()
            for x, y in self.loaders["train"]:
                x, y = x.to(self.device), torch.as_tensor(y).to(self.device)
                for g in opt.param_groups:
                    g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / total))
                opt.zero_grad(set_to_none=True)
                criterion(model(x), y).backward()
                opt.step()
                masks.apply(model)
                step += 1
        return self.score()

    def refine_with_recovery(self, masks: Masks, floor: float, criterion: Callable,
                             history: list[dict]) -> Masks:
        """Rounds of :meth:`refine` judged after recovery fine-tuning. The loop's last pruning step leaves the
        model at the floor (bisection prunes up to it), so a plain refine pass has nothing to spend, while a few
        epochs of fine-tuning without the regulariser bring back what the removed channels cost. A round
        refines down to ``floor - slack``, fine-tunes ``recover_epochs`` and keeps the result when its score is
        back within the bound and more is pruned; otherwise it is undone and the slack halved (a refine at
        slack 0 is within the bound without fine-tuning). The model returned always scored >= ``floor``."""
        cfg = self.cfg
        best_state, best_masks = copy.deepcopy(self.model.state_dict()), masks
        best_frac = _pruned_fraction(masks, cfg.granularity)
        slack = cfg.refine_slack
        for r in range(cfg.refine_rounds):
            trial = self.refine(best_masks.clone(), floor - slack)
            s = self.fine_tune(trial, cfg.recover_epochs, criterion)
            frac = _pruned_fraction(trial, cfg.granularity)
            kept = s >= floor and frac >= best_frac
            history.append({"refine_round": r + 1, "slack": slack, "score": s, "pruned": frac, "kept": kept})
            if kept:
                grew = frac > best_frac
                best_state, best_masks, best_frac = copy.deepcopy(self.model.state_dict()), trial, frac
                if not grew:
                    break  # no group fits even the slack: the recovered score goes to the last plain pass
            else:
                self.model.load_state_dict(best_state)
                if slack <= 0:
                    break
                slack = slack / 2 if slack > 0.25 else 0.0
        self.model.load_state_dict(best_state)
        best_masks.apply(self.model)
        # a last plain pass spends what the last recovery left above the floor
        return self.refine(best_masks, floor)

    def run(self) -> PruneResult:
        cfg = self.cfg
        set_seed(cfg.seed)
        reseed_loader(self.loaders["train"], cfg.seed)
        model = self.model
        masks = Masks.ones(model)
        reference = self.score()
        floor = reference - cfg.loss_bound
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                              weight_decay=cfg.lam if cfg.method == "magnitude" else 0.0)
        reg = make_regularizer(cfg.method, cfg.lam, cfg.sens_every, cfg.sens_samples)
        criterion = prune_criterion(self.task, cfg.loss)
        best_state, best_masks, best_frac, best_score = copy.deepcopy(model.state_dict()), masks.clone(), 0.0, reference
        history: list[dict] = []
        best_loss, wait, stalls, step = float("inf"), 0, 0, 0
        every_epoch = cfg.schedule == "epoch" or (cfg.schedule == "auto" and cfg.epochs <= cfg.short_run)
        anneal = every_epoch if cfg.anneal is None else cfg.anneal
        total = max(1, cfg.epochs * len(self.loaders["train"]))
        with progress_bar(cfg.progress) as bar:
            job = bar.add_task(f"prune {cfg.method}", total=cfg.epochs, info="")
            for epoch in range(cfg.epochs):
                model.train()
                for x, y in self.loaders["train"]:
                    x, y = x.to(self.device), torch.as_tensor(y).to(self.device)
                    if anneal:
                        f = 0.5 * (1 + math.cos(math.pi * step / total))
                        for g in opt.param_groups:
                            g["lr"] = cfg.lr * f
                        if reg is not None:
                            t = min(1.0, step / max(1.0, (1 - cfg.recover) * total))
                            reg.lam = cfg.lam * 0.5 * (1 + math.cos(math.pi * t))
                    opt.zero_grad(set_to_none=True)
                    criterion(model(x), y).backward()
                    opt.step()
                    if reg is not None:
                        reg(model, x, step)
                    masks.apply(model)
                    step += 1
                v = self.val()
                s = 100 * v[self.metric] if self._metric_fn is None else self.score()
                pruned = False
                wait = 0 if v["loss"] < best_loss else wait + 1
                best_loss = min(best_loss, v["loss"])
                if every_epoch or wait >= cfg.patience:
                    before = _pruned_fraction(masks, cfg.granularity)
                    room = s >= floor  # a step can only prune when we are above the floor
                    masks, _ = self.prune_step(masks, floor)
                    pruned = _pruned_fraction(masks, cfg.granularity) > before
                    stalls = 0 if pruned else stalls + int(room)
                    wait, best_loss = 0, float("inf")
                    s = self.score()
                frac = _pruned_fraction(masks, cfg.granularity)
                history.append({"epoch": epoch + 1, "val_loss": v["loss"], "score": s, "pruned": frac,
                                "prune_step": pruned})
                if s >= floor and frac >= best_frac:
                    best_state, best_masks, best_frac, best_score = (
                        copy.deepcopy(model.state_dict()), masks.clone(), frac, s)
                bar.update(job, advance=1, info=f"{self.metric} {s:.2f} pruned {100 * frac:.1f}%")
                if stalls >= cfg.stall or (cfg.target is not None and best_frac >= cfg.target):
                    break
        model.load_state_dict(best_state)
        best_masks.apply(model)
        if cfg.refine and cfg.granularity == "channel":
            best_masks = (self.refine_with_recovery(best_masks, floor, criterion, history) if cfg.refine_rounds > 0
                          else self.refine(best_masks, floor))
            best_frac = _pruned_fraction(best_masks, cfg.granularity)
        final = self.score()
        bound_met = final >= floor
        target_met = None if cfg.target is None else best_frac >= cfg.target
        msg = f"pruned {100 * best_frac:.1f}% of {'weights' if cfg.granularity == 'param' else 'hidden channels'}" \
              f", val {self.metric} {reference:.2f} -> {final:.2f} (bound {cfg.loss_bound} points)"
        if target_met is False:
            msg += f"; target {100 * cfg.target:.0f}% not reachable within the bound: best model found returned"
        return PruneResult(model, best_masks, reference, final, best_frac, bound_met, target_met, msg, history)


def prune(model: nn.Module, loaders: dict[str, Iterable], task: str, cfg: PruneConfig | None = None,
          metric_fn: Callable[[nn.Module], float] | None = None) -> PruneResult:
    """Prune ``model`` in place with ``cfg.method``; see :class:`PruneConfig`."""
    return Pruner(model, loaders, task, cfg or PruneConfig(), metric_fn).run()
