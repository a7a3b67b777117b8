"""The ``quantize`` step of the flow: float checkpoint -> calibrated/QAT Brevitas model ->
quantized checkpoint + ``model.qonnx.onnx`` + ``quant_summary.md`` in one output folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.quant.checkpoint import load_quant_checkpoint, save_quant_checkpoint
from fpga_flow.quant.convert import quantize_model
from fpga_flow.quant.export import (ExportError, export_qonnx_clean, integer_grid_report,
                                    load_qonnx, max_abs_diff)
from fpga_flow.quant.qat import QATConfig, calibrate, train_qat
from fpga_flow.quant.spec import QuantSpec
from fpga_flow.quant.summary import SummaryData, model_size, render_summary

CHECKPOINT_NAME = "model.quant.pt"
QONNX_NAME = "model.qonnx.onnx"
SUMMARY_NAME = "quant_summary.md"


@dataclass
class FloatSource:
    model: nn.Module
    name: str
    config: dict[str, Any]
    task: str  # cls | seg | digits
    input_shape: tuple[int, ...]  # (1, C, H, W)
    source: str
    trained: bool


def resolve_float_model(model_arg: str, in_size: int | None = None) -> FloatSource:
    """A float checkpoint path, or a zoo name (its default checkpoint when it exists)."""
    from fpga_flow.models import build, default_checkpoint, hidden_widths, load_checkpoint, spec

    path = Path(model_arg)
    trained = True
    if path.suffix == ".pt" or path.exists():
        model, meta = load_checkpoint(path)
        name, config, source = meta["name"], dict(meta["config"]), str(path)
    else:
        s = spec(model_arg)  # FlowError for unknown names
        name, ckpt = model_arg, default_checkpoint(model_arg)
        if ckpt.exists():
            model, meta = load_checkpoint(ckpt)
            config, source = dict(meta["config"]), str(ckpt)
        else:
            config = {"in_size": in_size} if in_size else {}
            model = build(name, **config)
            if s.pruned:  # freeze the nominal pruned plan so the checkpoint rebuilds it
                config["channels"] = hidden_widths(model)
            trained = False
            source = f"zoo model {name} with untrained weights (no checkpoint at {ckpt})"
    task = spec(name).task
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise FlowError(f"{source}: model has no input_shape attribute")
    return FloatSource(model.eval(), name, config, task, (1, *tuple(shape)), source, trained)


@dataclass
class QuantizeResult:
    out_dir: Path
    checkpoint: Path
    qonnx: Path
    summary: Path
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    max_abs_diff: float = float("nan")
    qmodel: nn.Module | None = None


def quantize_flow(model_arg: str, spec: QuantSpec, out_dir: str | Path, data: str | None = None,
                  epochs: int = 0, batch_size: int = 16, lr: float = 1e-4, seed: int = 0,
                  in_size: int | None = None, export_size: int | None = None,
                  log: Callable[[str], None] = print) -> QuantizeResult:
    """Run the whole quantize step; every bad input fails before any training starts.

    ``export_size``: QAT at the float model's input size, then the quantized model (same integer weights and
    learned scales) rebuilt for this input side, evaluated on the test split there and exported at it (the
    QAT checkpoint at the training size is kept as ``model.quant.<size>.pt``)."""
    if epochs < 0:
        raise FlowError(f"--epochs must be >= 0, got {epochs}")
    if epochs and data is None:
        raise FlowError("QAT needs data: pass --data DIR (or --epochs 0 for calibration only)")
    torch.manual_seed(seed)
    src = resolve_float_model(model_arg, in_size)
    if data is not None and src.task not in ("cls", "seg"):
        raise FlowError(f"{src.name} is a {src.task} model: --data (ISIC cls/seg) does not "
                        f"apply; quantize it without --data")
    qmodel = quantize_model(src.model, spec)  # unsupported layers -> FlowError here
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    metrics: dict[str, dict[str, float]] = {}
    if not src.trained:
        notes.append("float weights are untrained: accuracy figures are not meaningful")

    if data is not None:
        from fpga_flow.data import get_loaders

        from fpga_flow.models.train import check_splits

        loaders = get_loaders(data, src.task, image_size=src.input_shape[-1],
                              batch_size=batch_size, seed=seed)
        check_splits(loaders, ("train", "val"))  # a set too small for its split: one error naming it
        eval_split = "test" if len(loaders["test"].dataset) else "val"
        calibrate(qmodel, loaders["train"])
        label = spec.label()
        metrics["float"] = _evaluate(src.model, loaders[eval_split], src.task)
        metrics[f"{label} calibrated"] = _evaluate(qmodel, loaders[eval_split], src.task)
        log(f"{eval_split} metrics ({len(loaders[eval_split].dataset)} images): float {_shown(metrics['float'])}, "
            f"{label} calibrated {_shown(metrics[f'{label} calibrated'])}")
        if epochs:
            qmodel = _fine_tune(qmodel, loaders, src.task, epochs, lr, seed, log)
            metrics[f"{label} QAT ({epochs} epochs)"] = _evaluate(qmodel, loaders[eval_split],
                                                                   src.task)
            log(f"{label} QAT: {_shown(metrics[f'{label} QAT ({epochs} epochs)'])}")
        notes.append(f"metrics on the {eval_split} split of {data}")
        x_check = next(iter(loaders[eval_split]))[0][:4]
    else:
        gen = torch.Generator().manual_seed(seed)
        calibrate(qmodel, [torch.randn((8, *src.input_shape[1:]), generator=gen) for _ in range(4)])
        notes.append("activation scales calibrated on random N(0,1) inputs (no --data)")
        x_check = torch.randn((2, *src.input_shape[1:]), generator=gen)

    config, input_shape = src.config, src.input_shape
    if export_size is not None and export_size != input_shape[-1]:
        side = input_shape[-1]
        qat = save_quant_checkpoint(out / f"model.quant.{side}.pt", qmodel, src.name, config, spec, input_shape,
                                    metrics)
        qmodel, meta = load_quant_checkpoint(qat, in_size=export_size)
        config, input_shape = meta["config"], (1, *input_shape[1:-2], export_size, export_size)
        log(f"quantized at {side}x{side} ({qat}); the same integer weights and scales at "
            f"{export_size}x{export_size}")
        if data is not None:
            from fpga_flow.data import get_loaders

            loaders = get_loaders(data, src.task, image_size=export_size, batch_size=batch_size, seed=seed)
            key = f"{spec.label()} at {export_size}x{export_size}"
            metrics[key] = _evaluate(qmodel, loaders[eval_split], src.task)
            log(f"{eval_split} metrics: {key} {metrics[key]}")
            x_check = next(iter(loaders[eval_split]))[0][:4]
        else:
            x_check = torch.randn((2, *input_shape[1:]), generator=torch.Generator().manual_seed(seed))
    return export_quantized(qmodel, src.name, src.source, config, spec, input_shape, metrics, notes, x_check,
                            out, log)


def export_quantized(qmodel: nn.Module, name: str, source: str, config: dict[str, Any], spec: QuantSpec,
                     input_shape: tuple[int, ...], metrics: dict[str, dict[str, float]], notes: list[str],
                     x_check: torch.Tensor, out: Path, log: Callable[[str], None] = print,
                     saved: Path | None = None) -> QuantizeResult:
    """The quantized model's outputs in ``out``: its checkpoint (``saved``: already there, kept byte for byte),
    the QONNX export (checked against Brevitas on ``x_check`` and for integer grids) and the summary; shared by
    QAT and a stored quantized checkpoint."""
    if saved is None:
        ckpt = save_quant_checkpoint(out / CHECKPOINT_NAME, qmodel, name, config, spec, input_shape, metrics)
        log(f"wrote {ckpt}")
    else:
        ckpt = saved
    try:
        qonnx = export_qonnx_clean(qmodel, input_shape, out / QONNX_NAME)
    except ExportError as err:
        raise ExportError(f"{err} (quantized checkpoint kept at {ckpt})") from err
    model = load_qonnx(qonnx)
    diff = max_abs_diff(qmodel, model, x_check)
    grid = integer_grid_report(model, x_check[:1].numpy())
    bad = [r for r in grid if not r["ok"]]
    if bad:
        raise ExportError(f"{qonnx}: node '{bad[0]['node']}' output is not an integer grid at "
                          f"{bad[0]['bits']} bits (checkpoint kept at {ckpt})")
    log(f"wrote {qonnx} (Brevitas vs QONNX max abs diff {diff:.2e} on {len(x_check)} inputs)")
    ops = [n.op_type for n in model.graph.node
           if not (n.op_type == "Quant" and model.get_initializer(n.input[0]) is not None)]
    size = model_size(qmodel)
    quants = [r for r in grid if r["op"] == "Quant"]
    export = {"file": QONNX_NAME,
              "nodes": f"{len(model.graph.node)} ({len(quants)} Quant, "
                       f"{sum(r['weight'] for r in quants)} of them on weights)",
              "activation path": " -> ".join(ops),
              "Brevitas vs execute_onnx": f"max abs diff {diff:.2e} on {len(x_check)} inputs",
              "integer grid": f"all {len(grid)} checked tensors (Quant, MaxPool, Resize, Flatten, "
                              f"GlobalAveragePool outputs) integral and within their width"}
    text = render_summary(qmodel, SummaryData(f"{name} {spec.label()}", source, spec,
                                              input_shape, metrics, notes, export))
    summary = out / SUMMARY_NAME
    summary.write_text(text)
    (out / "quant_summary.json").write_text(json.dumps({
        "model": name, "source": source, "spec": spec.to_dict(),
        "input_shape": list(input_shape), "metrics": metrics, "max_abs_diff": diff,
        "weight_bits": size.quant_weight_bits, "float_bits": size.float_bits,
        "quant_bits": size.quant_bits}, indent=2))
    log(f"wrote {summary}")
    return QuantizeResult(out, ckpt, qonnx, summary, metrics, diff, qmodel)


def _shown(metrics: dict[str, float]) -> str:
    """Metrics for the log, in percent like the other stages' lines (``balanced_accuracy 90.83 %``)."""
    return ", ".join(f"{k} {100 * v:.2f} %" for k, v in metrics.items())


def _evaluate(model: nn.Module, loader, task: str) -> dict[str, float]:
    """The models stage's metrics (same numbers as training reports), loss left out."""
    from fpga_flow.models.train import evaluate as models_evaluate

    return {k: v for k, v in models_evaluate(model, loader, task).items() if k != "loss"}


def _fine_tune(qmodel: nn.Module, loaders, task: str, epochs: int, lr: float, seed: int,
               log: Callable[[str], None]) -> nn.Module:
    """QAT with the models stage's ``fit`` (best epoch on val); the minimal loop otherwise."""
    try:
        from fpga_flow.models.train import TrainConfig, fit
    except ImportError:
        return train_qat(qmodel, loaders["train"], QATConfig(epochs=epochs, lr=lr, seed=seed),
                         log=log)
    # keep_initial: the calibrated model competes as epoch 0, so QAT never returns a model worse on
    # validation than the float weights quantized as they are
    result = fit(qmodel, {"train": loaders["train"], "val": loaders["val"]}, task,
                 TrainConfig(epochs=epochs, lr=lr, seed=seed, progress=True, keep_initial=True,
                             label="qat"))
    # one line: the progress display (bar or log lines) has shown the epochs as they ran
    losses = ", ".join(f"{row['train_loss']:.3f}" for row in result.history[1:])
    log(f"qat: train loss by epoch {losses}; best epoch on validation {result.best['epoch']} "
        "(0 = calibrated, before QAT)")
    return result.model.cpu().eval()
