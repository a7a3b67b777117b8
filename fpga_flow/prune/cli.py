"""CLI commands of fpga_flow.prune: ``fpga-flow prune``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fpga_flow.cli_options import FlowCommand, choice, data_root, existing_file, positive, writable, zoo_model
from fpga_flow.errors import FlowError


def register(app: typer.Typer) -> None:
    @app.command("prune", cls=FlowCommand,
                 help="structured pruning (SeReNe / magnitude / LOBSTER) + simplify, with a per-layer report "
                      "(`--data digits`: LeNet-5 against the SeReNe paper's MNIST table)")
    def _prune(
        model: str = typer.Option(..., "--model", callback=zoo_model,
                                  help="lenet5 (with --data digits), vgg16, segnet, vgg16-pruned, segnet-pruned"),
        data: Optional[str] = typer.Option(None, "--data", callback=data_root,
                                           help="ISIC dataset root, or 'digits' (LeNet-5 on sklearn's digits)"),
        dataset: Optional[str] = typer.Option(None, "--dataset", hidden=True, callback=choice("digits", "isic"),
                                              help="old name: `--dataset digits` is `--data digits`"),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", callback=existing_file,
                                                  help="trained model (ISIC)"),
        method: Optional[str] = typer.Option(None, "--method", help="serene | magnitude | lobster (default: serene)"),
        compare: list[str] = typer.Option([], "--compare", help="extra methods to run beside it (digits)"),
        epochs: int = typer.Option(40, "--epochs", min=1, max=10_000, help="pruning epochs"),
        bound: Optional[float] = typer.Option(None, "--bound", min=0, max=100,
                                              help="allowed validation metric drop, points (1.0)"),
        granularity: Optional[str] = typer.Option(None, "--granularity", callback=choice("channel", "param"),
                                                  help="channel | param (ISIC; channel)"),
        lam: Optional[float] = typer.Option(None, "--lam", min=0, max=100, help="regulariser strength (ISIC)"),
        lr: float = typer.Option(5e-3, "--lr", min=0, max=10, callback=positive,
                                 help="learning rate while pruning (ISIC; > 0)"),
        multiple_of: Optional[int] = typer.Option(None, "--multiple-of", min=1, max=1024,
                                                  help="round kept channels to a multiple"),
        target: Optional[float] = typer.Option(None, "--target", min=0, max=1, callback=positive,
                                               help="stop once this fraction is pruned (0 < t <= 1)"),
        patience: int = typer.Option(2, "--patience", min=0, max=1000,
                                     help="plateau epochs before each pruning step (ISIC)"),
        stall: int = typer.Option(3, "--stall", min=1, max=1000,
                                  help="stop after this many steps that prune nothing (ISIC)"),
        schedule: str = typer.Option("plateau", "--schedule", callback=choice("plateau", "epoch", "auto"),
                                     help="plateau | epoch (a pruning step after every "
                                     "epoch, lr and lambda cosine-annealed to 0: short runs) | auto (ISIC)"),
        recover: float = typer.Option(0.0, "--recover", min=0, max=1,
                                      help="epoch schedule: last fraction of the run with lambda 0 "
                                      "(fine-tuning only) (ISIC)"),
        refine_rounds: int = typer.Option(8, "--refine-rounds", min=0, max=1000,
                                          help="channels: refine rounds judged after 2 epochs of recovery "
                                          "fine-tuning (0: one plain refine pass) (ISIC)"),
        batch_size: int = typer.Option(32, "--batch-size", min=1, max=65_536, help="images per training step"),
        seed: int = typer.Option(0, "--seed", min=0, help="random seed"),
        out: Optional[Path] = typer.Option(None, "--out", callback=writable,
                                           help="write the pruned+simplified checkpoint"),
        report: Optional[Path] = typer.Option(None, "--report", callback=writable, help="write the report (markdown)"),
    ) -> None:
        from rich.console import Console

        console = Console()
        if dataset == "digits" and data is None:
            data = "digits"
        if data == "digits":
            _digits(console, model, method or "serene", compare, epochs, 1.0 if bound is None else bound, seed,
                    out, report)
            return
        if checkpoint is None or data is None:
            raise FlowError("pruning on ISIC needs --checkpoint (trained model) and --data (dataset root)")
        from fpga_flow.data import get_loaders
        from fpga_flow.models import PruneRecipe, default_checkpoint, load_checkpoint, save_checkpoint, spec
        from fpga_flow.prune.loop import PruneConfig
        from fpga_flow.prune.pipeline import prune_zoo_model

        net, meta = load_checkpoint(checkpoint)
        base = spec(meta["name"]).base or meta["name"]
        if (spec(model).base or model) != base:
            raise FlowError(f"{checkpoint}: holds {meta['name']}, not {model}")
        # a pruned name (vgg16-pruned) brings its recipe; explicit options win
        rc = spec(model).recipe or PruneRecipe(multiple_of=1)
        method = method or rc.method
        granularity = granularity or rc.granularity
        bound = rc.loss_bound if bound is None else bound
        lam = rc.lam if lam is None else lam
        multiple_of = rc.multiple_of if multiple_of is None else multiple_of
        if out is None and spec(model).recipe is not None:
            out = default_checkpoint(model)
        task = spec(base).task
        loaders = get_loaders(data, task, image_size=net.input_shape[-1], batch_size=batch_size, seed=seed)
        from fpga_flow.models.train import check_splits

        check_splits(loaders, ("train", "val"))
        cfg = PruneConfig(method=method, granularity=granularity, epochs=epochs, lam=lam, lr=lr, loss_bound=bound,
                          multiple_of=multiple_of, target=target, seed=seed, patience=patience,
                          stall=stall, schedule=schedule, recover=recover, refine_rounds=refine_rounds)
        import time

        t0 = time.perf_counter()
        p = prune_zoo_model(base, net, meta["config"], loaders, task, cfg, multiple_of)
        text = _zoo_text(p)
        print(text)
        if report:
            report.write_text(text + "\n")
        if out:
            save_checkpoint(out, p.model, f"{base}-pruned", p.config,
                            {"val_" + p.report.metric: p.report.metric_after / 100, "compression": p.report.compression,
                             "reference_" + p.report.metric: p.report.metric_before / 100})
            from fpga_flow.models.provenance import read_provenance, write_provenance

            write_provenance(out, row=None, seeds={"prune": seed}, data={"root": str(data), "images": {
                k: len(v.dataset) for k, v in loaders.items()}}, seconds={"prune": time.perf_counter() - t0},
                metrics={"before": {"val_" + p.report.metric: p.report.metric_before / 100},
                         "after": {"val_" + p.report.metric: p.report.metric_after / 100,
                                   "channels_pruned_percent": p.report.channels_pruned_pct}},
                extra={"stage": "prune", "config": p.config}, previous=read_provenance(checkpoint))
            console.print(f"wrote {out} (+ {out.name.removesuffix('.pt')}.provenance.json)")
        if not p.result.bound_met or p.result.target_met is False:
            console.print(f"[yellow]warning:[/] {p.result.message}")


def _zoo_text(p) -> str:
    r = p.report
    return (f"## {r.model}: {r.method} pruning\n\n{r.layers_markdown()}\n\n"
            f"- {r.notes}\n- channels pruned {r.channels_pruned_pct:.1f}%, compression {r.compression:.2f}x "
            f"(non-zero params), structural {r.structural_compression:.2f}x, MACs {r.macs_ratio:.2f}x fewer\n"
            f"- val {r.metric}: {r.metric_before:.2f} -> {r.metric_after:.2f}")


def _digits(console, model, method, compare, epochs, bound, seed, out, report) -> None:
    from fpga_flow.models import save_checkpoint
    from fpga_flow.prune.pipeline import DIGITS_METHODS, run_lenet_digits

    if model != "lenet5":
        raise FlowError(f"--data digits reproduces the SeReNe paper's LeNet-5 table with lenet5, not {model}")
    methods = tuple(dict.fromkeys([method, *compare]))
    for m in methods:
        if m not in DIGITS_METHODS:
            raise FlowError(f"unknown pruning method {m!r}; known: {', '.join(DIGITS_METHODS)}")
    run = run_lenet_digits(methods, epochs=epochs, loss_bound=bound, seed=seed)
    text = "## LeNet-5, Table 1 form (seed: MNIST; ours: sklearn digits)\n\n" + run.markdown()
    console.print(text, highlight=False)
    if report:
        report.write_text(text + "\n")
    if out:
        _, p = run.runs[0]
        save_checkpoint(out, p.model, "lenet5", p.config, {"test_accuracy": run.test_accuracy[methods[0]] / 100,
                                                           "compression": p.report.compression})
        console.print(f"wrote {out}")
