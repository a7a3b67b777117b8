"""`fpga-flow demo`: small vgg16-pruned and segnet-pruned builds on the synthetic set, the deploy notebooks
on rtlsim, and the report."""

from __future__ import annotations

import time
from pathlib import Path

from fpga_flow.flow.config import FlowConfig
from fpga_flow.flow.runner import Flow, console


DEMO_SKIPS = ("synth", "vivado")
# Sized to finish both models well under 15 min on 2 cores (training + pruning ~ 1-2 min per model). 800
# images give 120 validation images (15 per class: one image is 0.83 points of balanced accuracy), so the
# issue's 1-point bound is kept; SeReNe runs 20 epochs with a pruning step after each (prune/README.md).
# QAT runs the rows' recipe (10 epochs, per-channel weight scales): W4A4 within 1 point of the pruned model
# instead of 17 points below it; it is now the longest stage (vgg16 463 s, segnet 1695 s with the 2 cores
# shared at load ~20; a fraction of that on an idle machine).
DEMO = {
    # vgg16: lr 1e-3 / lambda 0.2 (recover 0.3, batch PRUNE_BATCH) pruned 59-74 % within the bound on one thread,
    # depending on the float model (3e-3 / 0.15: 0 %, the model never climbed back within 1 point of its float score)
    "vgg16-pruned": dict(n_images=800, image_size=32, train_size=None, width=0.125, epochs=10, prune_epochs=20, qat_epochs=10, n_test=None,
                         bench_repeats=30, prune_loss_bound=1.0, prune_lam=0.2, prune_lr=1e-3, qat_lr=1e-3),
    "segnet-pruned": dict(n_images=800, image_size=32, train_size=None, width=0.125, epochs=10, prune_epochs=20, qat_epochs=10, n_test=None,
                          bench_repeats=30, prune_loss_bound=1.0, prune_lam=0.15, prune_lr=3e-3, qat_lr=1e-3),
}


def run_demo(build_root: Path = Path("build"), board: str = "Pynq-Z2", models=("vgg16-pruned", "segnet-pruned")) -> Path:
    """Small vgg16-pruned and segnet-pruned on the synthetic set, rtlsim, notebooks on rtlsim, the report."""
    from fpga_flow.flow import STAGES, preflight
    from fpga_flow.report.render import write_report
    from fpga_flow.runtime.notebooks import run_deploy_notebook

    t0 = time.perf_counter()
    configs = [FlowConfig(model=model, board=board, build_root=build_root, **DEMO[model]) for model in models]
    for cfg in configs:
        preflight(cfg)
    for cfg in configs:
        model = cfg.model
        console.print(f"[bold]fpga-flow demo[/] {model} on {board} -> {cfg.bdir}")
        Flow(cfg).run([s for s in STAGES if s.name not in DEMO_SKIPS])
        bdir = Path(build_root) / f"{model}-{board}"
        console.print(f"[bold]notebook[/] {model} on rtlsim")
        out = run_deploy_notebook(bdir / "deploy", backend="rtlsim")
        console.print(f"      executed {out}", highlight=False)
    rep = write_report(build_root)
    console.print(f"[bold]report[/] {rep.markdown_path} and {rep.html_path}")
    console.print(f"demo: {' and '.join(DEMO_SKIPS)} not run (Yosys and Vivado take longer than the demo's budget): "
                  f"`fpga-flow bitstream --model <model> --board {board} --build-root {build_root}` resumes the "
                  "same build folders there, with the demo's settings (32×32, width ×0.125); another --build-root "
                  "starts afresh with the defaults")
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return rep.markdown_path
