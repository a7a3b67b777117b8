"""The whole flow for the branching zoo models (resnet18, mobilenet-v1, unet) at a small size:
synthetic ISIC data -> float training -> SeReNe channel pruning (coupled channels, ``prune.depgraph``)
-> simplify -> QAT with Brevitas -> clean QONNX -> our compiler -> Verilator rtlsim, checked bit for bit
against the compiler's integer graph and against QONNX execution of the exported file.

These names are not Table 4 rows, so ``fpga-flow bitstream`` does not build them; this runs the same
library stages the flow does, one after the other, into one folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpga_flow.errors import FlowError

ZOO = ("resnet18", "mobilenet-v1", "unet")


@dataclass
class ZooConfig:
    name: str = "unet"
    in_size: int = 32
    width: float = 0.0625
    n_images: int = 160
    epochs: int = 2
    prune_epochs: int = 2
    prune_lam: float = 0.15
    qat_epochs: int = 1
    multiple_of: int = 2
    wbits: int = 4
    abits: int = 4
    board: str = "Pynq-Z2"
    n_rtlsim: int = 2
    rtlsim: bool = True
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # more build kwargs (e.g. unet depth)

    def __post_init__(self) -> None:
        if self.name not in ZOO:
            raise FlowError(f"unknown zoo model {self.name!r}; this flow runs: {', '.join(ZOO)}")


def run_zoo(cfg: ZooConfig, out: str | Path) -> dict[str, Any]:
    """Run every stage into ``out``; returns (and writes ``zoo_flow.json``) the measured figures."""
    import torch

    from fpga_flow.data import get_loaders, synth
    from fpga_flow.models import build, hidden_widths, save_checkpoint, spec
    from fpga_flow.models.train import TrainConfig, evaluate, fit, main_metric, set_seed
    from fpga_flow.prune.loop import PruneConfig
    from fpga_flow.prune.pipeline import prune_zoo_model
    from fpga_flow.quant import QuantSpec
    from fpga_flow.quant.pipeline import quantize_flow

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    task = spec(cfg.name).task
    metric = main_metric(task)
    rec: dict[str, Any] = {"config": asdict(cfg), "task": task, "metric": metric, "seconds": {}}
    t = time.time()
    data = out / "data"
    if not data.exists():
        synth.generate(data, task, n=cfg.n_images, seed=cfg.seed, size=cfg.in_size)
    loaders = get_loaders(data, task, image_size=cfg.in_size, batch_size=16, seed=cfg.seed)
    set_seed(cfg.seed)
    model_cfg = {"in_size": cfg.in_size, "width": cfg.width, **cfg.extra}
    if task == "cls":  # the layout's classes (ISIC 2019: 9), as the flow's _model_cfg does
        model_cfg["num_classes"] = len(loaders["train"].dataset.index.classes)
    model = build(cfg.name, **model_cfg)
    fit(model, loaders, task, TrainConfig(epochs=cfg.epochs, lr=2e-3, seed=cfg.seed, progress=False))
    rec["float"] = 100 * evaluate(model, loaders["val"], task)[metric]
    rec["seconds"]["train"] = time.time() - t

    t = time.time()
    pcfg = PruneConfig(epochs=cfg.prune_epochs, lam=cfg.prune_lam, lr=3e-3, schedule="epoch",
                       multiple_of=cfg.multiple_of, seed=cfg.seed, progress=False, bisect_iters=4)
    p = prune_zoo_model(f"{cfg.name}-pruned", model, model_cfg, loaders, task, pcfg, cfg.multiple_of)
    rec.update(channels_before=hidden_widths(build(cfg.name, **model_cfg)), channels_after=p.config["channels"],
               pruned_channels_pct=p.report.channels_pruned_pct, pruned=p.report.metric_after,
               prune_message=p.result.message)
    ckpt = save_checkpoint(out / "pruned.pt", p.model, f"{cfg.name}-pruned", p.config,
                           {f"val_{metric}": p.report.metric_after / 100})
    rec["seconds"]["prune"] = time.time() - t

    t = time.time()
    torch.manual_seed(cfg.seed)
    q = quantize_flow(str(ckpt), QuantSpec(wbits=cfg.wbits, abits=cfg.abits, weight_scaling="channel"),
                      out / "quant", data=str(data), epochs=cfg.qat_epochs, lr=1e-3, seed=cfg.seed, log=lambda s: None)
    rec["quantized"] = {k: v for k, v in q.metrics.items()}
    rec["brevitas_vs_qonnx_max_abs_diff"] = q.max_abs_diff
    rec["seconds"]["quantize"] = time.time() - t

    t = time.time()
    from fpga_flow.compiler import build_dataflow

    b = build_dataflow(q.qonnx, cfg.board, out / "build", quiet=True)
    rec["estimate"] = {"source": "estimate", "fps": b.fps,
                       "cycles_per_frame": b.estimates["total"]["cycles_per_frame"]}
    rec["ops"] = [n.op_type for n in _load(b.dataflow).graph.node]
    rec["seconds"]["build"] = time.time() - t
    if cfg.rtlsim:
        t = time.time()
        rec["rtlsim"] = check_rtlsim(q.qonnx, out / "build", b.io, loaders["test"], cfg.n_rtlsim)
        rec["seconds"]["rtlsim"] = time.time() - t
    (out / "zoo_flow.json").write_text(json.dumps(rec, indent=2, default=float))
    return rec


def _load(path):
    from qonnx.core.modelwrapper import ModelWrapper

    return ModelWrapper(str(path))


def check_rtlsim(qonnx_path, build_dir, io: dict, loader, n: int) -> dict[str, Any]:
    """``n`` test images through Verilator (FIFOs sized by simulation first): the integer outputs equal the
    compiler's hardware graph executed in numpy, and the host-side float outputs equal QONNX execution of
    the exported file (up to float32 summation order of the host's last scale/bias)."""
    from qonnx.core.onnx_exec import execute_onnx

    from fpga_flow.compiler.hostio import host_input, host_output
    from fpga_flow.sim.rtlsim import execute_hw_graph, rtlsim

    xs = np.concatenate([x.numpy() for x, _ in loader])[:n].astype(np.float32)
    xi = np.concatenate([host_input(x[None], io) for x in xs])
    res = rtlsim(build_dir, xi)
    hw = execute_hw_graph(_load(Path(build_dir) / "dataflow.onnx"), xi)
    ref_m = _load(qonnx_path)
    iname, oname = ref_m.graph.input[0].name, ref_m.graph.output[0].name
    worst = 0.0
    for k, x in enumerate(xs):
        ref = execute_onnx(ref_m, {iname: x[None]})[oname]
        got = host_output(res.outputs[k:k + 1], io)
        worst = max(worst, float(np.max(np.abs(got - ref)) / max(1.0, float(np.abs(ref).max()))))
    return {"source": "rtlsim", "images": int(len(xs)), "bit_exact_vs_hw_graph": bool(np.array_equal(res.outputs, hw)),
            "max_rel_diff_vs_qonnx": worst, "cycles_per_frame": res.cycles_per_frame,
            "fifo_depths": len(res.fifo_depths)}
