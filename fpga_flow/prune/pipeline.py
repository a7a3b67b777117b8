"""prune -> simplify -> report for zoo models, and the LeNet-5 / digits reproduction of Table 1."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable

import torch
from torch import nn

from fpga_flow.models import build, spec
from fpga_flow.models.train import TrainConfig, evaluate, fit, main_metric, set_seed
from fpga_flow.prune.loop import PruneConfig, PruneResult, prune
from fpga_flow.prune.report import PruneReport, build_report, table1_markdown
from fpga_flow.prune.simplify import simplify


@dataclass
class Pruned:
    model: nn.Module            # simplified, BN-free, built by build(base, **config)
    config: dict[str, Any]      # build kwargs (incl. ``channels``)
    report: PruneReport
    result: PruneResult


def prune_zoo_model(name: str, model: nn.Module, model_cfg: dict[str, Any], loaders: dict[str, Iterable],
                    task: str, cfg: PruneConfig, multiple_of: int = 1) -> Pruned:
    """Prune a zoo model with ``cfg``, simplify it (channels rounded up to ``multiple_of``), report."""
    base = spec(name).base or name
    original = copy.deepcopy(model).eval()
    result = prune(model, loaders, task, cfg)
    simple = simplify(result.model.cpu(), multiple_of=multiple_of, name=base, config=model_cfg)
    metric = cfg.metric or main_metric(task)
    after = 100 * evaluate(simple.model, loaders["val"], task)[metric]
    shape = getattr(model, "input_shape", None) or tuple(model_cfg.get("input_shape", (3, 224, 224)))
    rep = build_report(name, cfg.method, original.cpu(), result.model.cpu(), simple.model, tuple(shape), metric,
                       result.reference, after, notes=result.message)
    return Pruned(simple.model, simple.config or {}, rep, result)


DIGITS_METHODS = {
    # method -> PruneConfig overrides tuned for LeNet-5 on the digits set (~1 min per method on 1 core)
    "serene": dict(method="serene", granularity="param", lam=2e-2, lr=2e-2),
    "magnitude": dict(method="magnitude", granularity="param", lam=5e-4, lr=2e-2),
    "lobster": dict(method="lobster", granularity="param", lam=1e-2, lr=2e-2),
}


@dataclass
class DigitsRun:
    baseline: PruneReport
    runs: list[tuple[str, Pruned]]
    test_accuracy: dict[str, float]
    seconds: float

    def markdown(self) -> str:
        rows = [("Baseline (ours)", self.baseline)] + [(f"{m} (ours)", p.report) for m, p in self.runs]
        lines = [table1_markdown(rows), ""]
        base = self.test_accuracy["baseline"]
        for label, acc in self.test_accuracy.items():
            if label != "baseline":
                lines.append(f"- {label}: test accuracy {base:.2f}% -> {acc:.2f}% "
                             f"(drop {base - acc:.2f} points)")
        lines.append(f"- LeNet-5 on sklearn digits (1797 8x8 images, resized into 28x28), "
                     f"stratified 60/20/20 split; top-1 error above is on the validation split; "
                     f"total {self.seconds:.0f} s")
        return "\n".join(lines)


def run_lenet_digits(methods: tuple[str, ...] = ("serene",), epochs: int = 40, train_epochs: int = 10,
                     loss_bound: float = 1.0, seed: int = 0, progress: bool = True,
                     overrides: dict[str, Any] | None = None) -> DigitsRun:
    """Train LeNet-5 on digits, prune it with each method, simplify, and report in Table 1's form."""
    from fpga_flow.prune.digits import digits_loaders

    t0 = time.time()
    loaders = digits_loaders(seed=seed)
    set_seed(seed)
    model = build("lenet5")
    fit(model, loaders, "digits", TrainConfig(epochs=train_epochs, lr=1e-3, seed=seed, progress=progress))
    trained = copy.deepcopy(model.state_dict())
    val0 = 100 * evaluate(model, loaders["val"], "digits")["accuracy"]
    acc = {"baseline": 100 * evaluate(model, loaders["test"], "digits")["accuracy"]}
    same = simplify(model)
    baseline = build_report("lenet5", "none", model, model, same.model, (1, 28, 28), "accuracy", val0, val0)
    runs = []
    for m in methods:
        net = build("lenet5")
        net.load_state_dict(trained)
        cfg = PruneConfig(**{"patience": 1, **DIGITS_METHODS[m], **(overrides or {})}, epochs=epochs,
                          loss_bound=loss_bound, metric="accuracy", seed=seed, progress=progress)
        p = prune_zoo_model("lenet5", net, {}, loaders, "digits", cfg)
        acc[m] = 100 * evaluate(p.model, loaders["test"], "digits")["accuracy"]
        runs.append((m, p))
    return DigitsRun(baseline, runs, acc, time.time() - t0)
