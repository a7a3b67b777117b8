"""CLI commands of fpga_flow.models: ``fpga-flow train``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fpga_flow.cli_options import (FlowCommand, board_name, data_root, device as device_check, existing_dir, positive,
                                   writable, zoo_model)
from fpga_flow.errors import FlowError


def _parse_kv(items: list[str]) -> dict:
    out: dict = {}
    for it in items:
        if "=" not in it:
            raise FlowError(f"--set expects key=value, got {it!r}")
        k, v = it.split("=", 1)
        for cast in (int, float):
            try:
                out[k] = cast(v)
                break
            except ValueError:
                continue
        else:
            out[k] = {"true": True, "false": False}.get(v.lower(), v)
    return out


def _data_record(data: str, loaders: dict) -> dict:
    """What a provenance file says about the data: root and split sizes."""
    return {"root": str(data), "images": {k: len(v.dataset) for k, v in loaders.items()}}


def register(app: typer.Typer) -> None:
    @app.command("train", cls=FlowCommand, help="train a zoo model on an ISIC folder (or `--data digits` for lenet5)")
    def _train(
        model: str = typer.Option(..., "--model", callback=zoo_model, help="zoo name: vgg16, segnet, lenet5, ..."),
        data: str = typer.Option(..., "--data", callback=data_root, help="dataset root (ISIC layout) or 'digits'"),
        out: Path = typer.Option(..., "--out", callback=writable, help="checkpoint to write (.pt)"),
        epochs: int = typer.Option(10, "--epochs", min=1, max=10_000, help="training epochs"),
        lr: float = typer.Option(1e-3, "--lr", min=0, max=10, callback=positive, help="learning rate (> 0)"),
        batch_size: int = typer.Option(32, "--batch-size", min=1, max=65_536, help="images per training step"),
        in_size: int = typer.Option(64, "--image-size", min=8, max=4096,
                                    help="input side in pixels (ISIC images are resized to it)"),
        width: float = typer.Option(1.0, "--width", min=0, max=16, callback=positive,
                                    help="channel width multiplier (> 0)"),
        seed: int = typer.Option(0, "--seed", min=0, help="random seed (weights, data split)"),
        device: Optional[str] = typer.Option(None, "--device", callback=device_check,
                                             help="cpu / cuda / cuda:N (default: cuda if present)"),
        set_: list[str] = typer.Option([], "--set", help="extra model kwargs, key=value (e.g. bn=false)"),
    ) -> None:
        import time

        import torch
        from rich.console import Console

        from fpga_flow.models import build, spec
        from fpga_flow.models.provenance import write_provenance
        from fpga_flow.models.train import TerminateCleanly, TrainConfig, fit

        s = spec(model)
        task = s.task
        extra = _parse_kv(set_)
        if data == "digits":
            from fpga_flow.prune.digits import digits_loaders

            if task != "digits":
                raise FlowError(f"--data digits needs a digits model (lenet5), not {model}")
            loaders, cfg = digits_loaders(batch_size, seed), {}
        else:
            from fpga_flow.data import get_loaders

            if task == "digits":
                raise FlowError(f"model {model} trains on `--data digits`")
            from fpga_flow.models.train import check_splits

            loaders = get_loaders(data, task, image_size=in_size, batch_size=batch_size, seed=seed)
            check_splits(loaders)
            cfg = {"in_size": in_size, "width": width}
            if task == "cls":
                cfg["num_classes"] = len(loaders["train"].dataset.classes)
        cfg.update(extra)
        torch.manual_seed(seed)
        net = build(model, **cfg)
        t0 = time.perf_counter()
        with TerminateCleanly():  # SIGTERM: the partial checkpoint stays marked, `out` is untouched
            res = fit(net, loaders, task, TrainConfig(epochs=epochs, lr=lr, seed=seed, device=device),
                      checkpoint=out, name=model, model_cfg=cfg)
        write_provenance(out, commands=None, seeds={"train": seed},
                         data=_data_record(data, loaders), seconds={"train": time.perf_counter() - t0},
                         metrics={"after": res.best}, extra={"stage": "train", "config": cfg,
                                                             "epochs": epochs, "lr": lr, "batch_size": batch_size})
        Console().print(f"{model}: best epoch {res.best.get('epoch')}: "
                        + ", ".join(f"{k} {v:.4f}" for k, v in res.best.items() if k != "epoch")
                        + f" -> {out}", highlight=False)

    @app.command("store", cls=FlowCommand,
                 help="put a flow's row checkpoints into the checkpoint store: the pruned float one "
                      "(build/<row>-<board>/checkpoints/pruned.pt, at the design size) as <row>.pt and the "
                      "quantized one (quant/model.quant.pt) as <row>.quant.pt, each with its provenance")
    def _store(
        model: str = typer.Option(..., "--model", help="Table 4 row: vgg16, vgg16-quantized, vgg16-ha, vgg16-hcr, "
                                                       "segnet, segnet-pruned"),
        board: str = typer.Option("Pynq-Z2", "--board", callback=board_name,
                                  help="the board of the build folder the row was made in"),
        build_root: Path = typer.Option(Path("build"), "--build-root", callback=existing_dir,
                                        help="folder holding the <row>-<board>/ build folder"),
        committed: bool = typer.Option(False, "--committed", help="into fpga_flow/models/checkpoints (small rows, "
                                       "committed to git) instead of $FPGA_FLOW_CHECKPOINTS (build/checkpoints)"),
        force: bool = typer.Option(False, "--force", help="replace a stored checkpoint of this row"),
        record_quant: bool = typer.Option(False, "--record-quant",
                                          help="a build whose quantize stage ran before it wrote a provenance: "
                                               "record quant/model.quant.provenance.json from its flow.json first"),
    ) -> None:
        from rich.console import Console

        from fpga_flow.models.quant_store import publish_build

        if record_quant:
            from fpga_flow.flow.quant_reuse import record_earlier_quant

            made = record_earlier_quant(model, board, build_root)
            Console(soft_wrap=True).print(f"{model}: " + (f"recorded {made} from flow.json" if made else
                                                           "the quantized checkpoint has its provenance"),
                                          highlight=False)
        for line in publish_build(model, build_root / f"{model}-{board}", committed=committed, force=force):
            Console(soft_wrap=True).print(line, highlight=False)
