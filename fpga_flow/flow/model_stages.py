"""The model stages: data (synthetic set or an ISIC root), train (or a stored row checkpoint, or a given
float checkpoint), prune (SeReNe + simplify for the pruned rows, fine-tuning at the design's input size)."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path

from fpga_flow.errors import FlowError
from fpga_flow.flow.config import FlowConfig, store_mismatch
from fpga_flow.flow.runner import Flow
from fpga_flow.flow.scores import record_float, score
from fpga_flow.runtime.buildinfo import read_json, write_json


def st_data(f: Flow) -> None:
    from fpga_flow.data import synth

    c = f.cfg
    if c.data is not None:  # a real ISIC root: check its layout (cheap, every run)
        from fpga_flow.data import index_dataset, resolve_root

        idx = index_dataset(resolve_root(c.data), c.task)
        f.note(f"{len(idx)} images in {c.data} ({idx.layout.name})")
        return
    summary = synth.generate(c.data_root, c.task, n=c.n_images, seed=c.seed, size=max(c.image_size, 32), overwrite=True)
    write_json(c.data_root / "synth.json", summary)
    f.note(f"synthetic {c.task} set: {c.n_images} images in {c.data_root}")


def _model_cfg(c: FlowConfig, loaders, size: int) -> dict:
    cfg = {"in_size": size, "width": c.width}
    if c.task == "cls":
        cfg["num_classes"] = len(loaders["train"].dataset.index.classes)  # the layout's classes (ISIC 2019: 9)
    return cfg


def checked_checkpoint(c: FlowConfig):
    """``(model, meta)`` of ``c.checkpoint`` once it is known to hold the base model at the flow's input
    size (or the low training size of a 224x224 run)."""
    from fpga_flow.models import load_checkpoint

    model, meta = load_checkpoint(c.checkpoint)
    if meta["name"] != c.base:
        raise FlowError(f"{c.checkpoint}: a {meta['name']} checkpoint, the flow for {c.model} needs {c.base}")
    shape = getattr(model, "input_shape", (3, c.image_size, c.image_size))
    if tuple(shape[1:]) not in ((c.image_size, c.image_size), (c.low_size, c.low_size)):
        raise FlowError(f"{c.checkpoint}: input {tuple(shape[1:])}, the flow runs at {c.image_size}x{c.image_size} "
                        f"(pass --image-size {shape[-1]})")
    return model, meta


def _stored_row(f: Flow):
    """The store's checkpoint of this row when the flow runs on the synthetic set at its input size, else None."""
    from fpga_flow.models.store import load_row, row_checkpoint

    c = f.cfg
    path = row_checkpoint(c.model) if c.checkpoint is None and c.data is None else None
    if path is None:
        return None
    model, meta, record = load_row(c.model, path)
    why = store_mismatch(c, getattr(model, "input_shape", (0, 0))[-1], meta["config"].get("width", 1.0))
    if why is not None:
        f.note(f"stored checkpoint {path} {why}: not used")
        return None
    return path, model, meta, record


def st_train(f: Flow) -> None:
    from fpga_flow.models import build
    from fpga_flow.models.train import TrainConfig, fit

    c = f.cfg
    f.path("checkpoints").mkdir(parents=True, exist_ok=True)
    f.path("checkpoints/store.json").unlink(missing_ok=True)
    stored = _stored_row(f)
    if stored is not None:  # the row's trained (and, for pruned rows, pruned + fine-tuned) checkpoint
        path, model, meta, record = stored
        shutil.copy2(path, f.path("checkpoints/float.pt"))
        write_json(f.path("checkpoints/store.json"), record | {"path": str(path)})
        f.note(f"stored checkpoint {path} (sha256 {record['sha256'][:12]}, made by: {record['commands'][-1]})")
        score(f, "float", model, f.loaders())
        return
    if c.checkpoint is not None:  # reuse a trained float model instead of training
        model, meta = checked_checkpoint(c)
        shutil.copy2(c.checkpoint, f.path("checkpoints/float.pt"))
        f.note(f"reusing {c.checkpoint} (metrics: {meta.get('metrics', {})})")
        record_float(f, model, meta.get("metrics", {}))
        return
    loaders = f.loaders(size=c.low_size)
    cfg = _model_cfg(c, loaders, c.low_size)
    res = fit(build(c.base, **cfg), loaders, c.task, TrainConfig(epochs=c.epochs, seed=c.seed, progress=True),
              checkpoint=f.path("checkpoints/float.pt"), name=c.base, model_cfg=cfg)
    f.note(f"float {c.base} at {c.low_size}x{c.low_size}, {len(loaders['test'].dataset)} test images: "
           + ", ".join(f"{k[5:]} {v:.3f}" if k == "test_loss" else f"{k[5:]} {100 * v:.2f} %"
                       for k, v in res.best.items() if k.startswith("test_")))
    record_float(f, res.model, res.best, len(loaders["test"].dataset))


PRUNE_BATCH = 32


def serene_config(c):
    """The PruneConfig of the flow's prune stage for FlowConfig ``c`` (benchmarks prune with it too)."""
    from fpga_flow.prune.loop import PruneConfig

    recipe = c.row.recipe
    bound = c.prune_loss_bound if c.prune_loss_bound is not None else recipe.loss_bound
    lam = c.prune_lam if c.prune_lam is not None else recipe.lam
    # a short run never sees a validation-loss plateau: prune after every epoch, anneal lr and lambda
    # ... and let lambda reach 0 with 30 % of the run left, so the model can climb back within the bound
    return PruneConfig(method=recipe.method, epochs=c.prune_epochs, schedule="epoch", lr=c.prune_lr,
                       multiple_of=recipe.multiple_of, loss_bound=bound, lam=lam, seed=c.seed, recover=0.3)


def _serene(f: Flow, model, meta):
    """SeReNe + simplify at the model's own input size; returns (model, config, test metrics)."""
    import torch

    from fpga_flow.models.train import main_metric
    from fpga_flow.prune.pipeline import prune_zoo_model

    c = f.cfg
    # the batch of `fpga-flow prune`: SeReNe shrinks the weights once per step, so lambda's strength per
    # epoch follows the batch size; at 16 the demo's lambda 0.2 pruned 0 % of a float vgg16 that reached
    # 95.8 % (50 % at 32; 74 % instead of 71 % on an 81.7 % one)
    loaders = f.loaders(batch_size=PRUNE_BATCH, size=model.input_shape[-1])
    recipe = c.row.recipe
    cfg = serene_config(c)
    bound, lam = cfg.loss_bound, cfg.lam
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # multi-threaded reductions make the bound check differ from run to run
    try:
        p = prune_zoo_model(c.model, model, meta["config"], loaders, c.task, cfg, multiple_of=recipe.multiple_of)
    finally:
        torch.set_num_threads(threads)
    metric = main_metric(c.task)
    n_val = len(loaders["val"].dataset)
    f.note(f"SeReNe: {c.prune_epochs} epochs, lambda {lam}, lr {c.prune_lr}; bound {bound} points of validation "
           f"{metric} on {n_val} validation images")
    f.note(p.result.message + ("" if p.result.bound_met else " [bound NOT met]"))
    f.note(f"channels pruned {p.report.channels_pruned_pct:.1f} %, MACs x{p.report.macs_ratio:.2f} "
           f"(hardware-friendly multiples of {recipe.multiple_of})")
    (f.path("prune_report.md")).write_text(p.report.layers_markdown() + "\n")
    write_json(f.path("prune_report.json"), p.report.to_dict())
    metrics = {"pruned_fraction": p.result.pruned_fraction} | score(f, "pruned", p.model, loaders, bound=bound)
    f.note(f"val {metric} {p.report.metric_before:.2f} -> {p.report.metric_after:.2f} (simplified model); test "
           f"{100 * metrics[metric]:.2f} ({len(loaders['test'].dataset)} test images)")
    return p.model, p.config, metrics


def _fine_tune_at_size(f: Flow, model, config: dict, metrics: dict):
    """The (pruned) network at the design's input size, fine-tuned there (never worse on validation than
    the weights it starts from) with its BatchNorm put back (``fpga_flow.models.resize.fine_tune_at_size``);
    with QAT at another size (the unpruned rows' recipe) not trained there."""
    from fpga_flow.models.resize import at_input_size, fine_tune_at_size

    c = f.cfg
    model, config = at_input_size(model, c.base, config, c.image_size)
    loaders = f.loaders()
    metrics = {k: v for k, v in metrics.items() if k == "pruned_fraction"}
    if c.qat_side != c.image_size:  # the low-resolution QAT recipe: no training at the design size
        f.note(f"the same weights at {c.image_size}x{c.image_size} (not trained there: QAT runs at "
               f"{c.qat_side}x{c.qat_side})")
        return model, config, metrics | score(f, "resized", model, loaders, bound=c.row.stage_bound)
    if c.finetune_epochs:
        model, config, res = fine_tune_at_size(model, c.base, config, c.image_size, loaders, c.task,
                                               epochs=c.finetune_epochs, lr=c.finetune_lr, seed=c.seed)
        f.note(f"fine-tuned at {c.image_size}x{c.image_size} (BatchNorm restored, its statistics re-estimated): "
               f"{c.finetune_epochs} epochs, Adam {c.finetune_lr:g}, best epoch {res.best['epoch']} (0 = as pruned)")
    return model, config, metrics | score(f, "fine-tuned", model, loaders, bound=c.row.stage_bound)


def st_prune(f: Flow) -> None:
    """Pruned rows: SeReNe + simplify (at train_size); every row: fine-tuning at the design's input size
    when it differs. A stored row checkpoint is already both."""
    from fpga_flow.models import load_checkpoint, save_checkpoint
    from fpga_flow.runtime.backends.cpu import export_onnx

    c = f.cfg
    t0 = time.perf_counter()
    model, meta = load_checkpoint(f.path("checkpoints/float.pt"))
    config, metrics = dict(meta["config"]), {}
    if f.path("checkpoints/store.json").exists():
        f.note("stored row checkpoint: already pruned and fine-tuned at the design size")
        # byte for byte: its sha256 stays the stored row's, which a stored quantized checkpoint names as its source
        shutil.copy2(f.path("checkpoints/float.pt"), f.path("checkpoints/pruned.pt"))
    else:
        if c.row.pruned:
            model, config, metrics = _serene(f, model, meta)
        if model.input_shape[-1] != c.image_size:
            model, config, metrics = _fine_tune_at_size(f, model, config, metrics)
        save_checkpoint(f.path("checkpoints/pruned.pt"), model, c.base, config, metrics)
    _write_provenance(f, t0)
    shutil.copy2(f.path("checkpoints/pruned.pt"), f.path("model.pt"))  # the float model the CPU rows run
    export_onnx(model, f.path("model.onnx"), (1, 3, c.image_size, c.image_size))


def _write_provenance(f: Flow, t0: float) -> None:
    """``checkpoints/pruned.provenance.json``: the row's float checkpoint at the design size and how it was
    made (``fpga-flow store`` puts both into the checkpoint store)."""
    from dataclasses import asdict as _asdict

    from fpga_flow import stage_accuracy
    from fpga_flow.models.provenance import command_line, write_provenance

    c = f.cfg
    state = read_json(f.path("flow.json")) or {}
    stored = read_json(f.path("checkpoints/store.json"))
    seconds = {k: v.get("seconds", 0) for k, v in state.get("stages", {}).items() if k in ("data", "train")}
    write_provenance(
        f.path("checkpoints/pruned.pt"), row=c.row_name,
        commands=[command_line()], seeds={"flow": c.seed},
        data={"root": str(c.data_root), "synthetic": c.data is None, "n_images": c.n_images if c.data is None else None},
        seconds=seconds | {"prune": time.perf_counter() - t0},
        metrics={"stages": stage_accuracy.read(c.bdir).get("stages", [])},
        extra={"bits": _asdict(c.row.bits), "flow_config": {k: str(v) if isinstance(v, Path) else v
                                                              for k, v in asdict(c).items()}},
        previous=stored)


