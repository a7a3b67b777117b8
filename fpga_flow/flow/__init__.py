"""End-to-end flows: `bitstream` (one model/board) and `demo` (the embedded default).

``bitstream``: data (synthetic by default) -> train (or reuse a checkpoint) -> prune + simplify ->
quantize (Brevitas QAT, QONNX) -> build (compiler) -> codegen -> rtlsim verification -> Yosys ->
Vivado (when on PATH) -> deploy folder -> bench -> metrics.  Each stage names the files it writes
in ``build/<model>-<board>/``; a stage whose outputs exist is skipped, so a re-run resumes.
Without Vivado everything else is built: the flow says so once and exits 0 (exit 3, the code of
``BitstreamSkipped``, only with ``--require-bitstream``).  The stages call the other packages' public
APIs (CONTRIBUTING.md).

The package: ``config`` (settings), ``runner`` (stages, resume), ``model_stages`` (data/train/prune),
``quant_stage``, ``hw_stages`` (build/codegen/synth/vivado/deploy/bench), ``sim_stages`` (rtlsim, metrics),
``demo``. This module puts the stages in order and keeps the names other modules import from
``fpga_flow.flow``.
"""

from __future__ import annotations

from fpga_flow.errors import BitstreamSkipped, FlowError
from fpga_flow.flow.config import (CONFIG_STAGE, TASK, FlowConfig, recorded_config, resolve_config,  # noqa: F401
                                   reused_settings, row_tasks)
from fpga_flow.flow.demo import DEMO, DEMO_SKIPS, run_demo  # noqa: F401
from fpga_flow.flow.hw_stages import st_bench, st_build, st_codegen, st_deploy, st_synth, st_vivado  # noqa: F401
from fpga_flow.flow.model_stages import PRUNE_BATCH, checked_checkpoint, st_data, st_prune, st_train  # noqa: F401
from fpga_flow.flow.quant_stage import check_quantized, st_quantize  # noqa: F401
from fpga_flow.flow.runner import Flow, Stage, console  # noqa: F401
from fpga_flow.flow.sim_stages import RTLSIM_BUDGET_CYCLES, _test_count, _test_set, st_metrics, st_rtlsim  # noqa: F401


STAGES = (
    Stage("data", ("synth.json",), st_data, "synthetic ISIC set"),
    Stage("train", ("checkpoints/float.pt",), st_train, "train the float base model"),
    Stage("prune", ("checkpoints/pruned.pt", "model.pt", "model.onnx"), st_prune, "SeReNe pruning + simplify"),
    Stage("quantize", ("model.qonnx.onnx",), st_quantize, "Brevitas QAT + QONNX export", check_quantized),
    Stage("build", ("dataflow.onnx", "estimates.json", "io.json", "fifo_fit.json"), st_build, "dataflow compiler"),
    Stage("codegen", ("rtl",), st_codegen, "RTL generation"),
    Stage("rtlsim", ("bench/rtlsim.json", "sim/test_outputs.npy"), st_rtlsim, "Verilator: bit-exact check + cycles"),
    Stage("synth", ("synth/report.json",), st_synth, "Yosys resources"),
    Stage("vivado", ("deploy/bitfile/accel.bit", "deploy/bitfile/accel.hwh"), st_vivado, "Vivado bitstream"),
    Stage("deploy", ("deploy/deploy.json",), st_deploy, "deploy folder"),
    Stage("bench", ("bench/cpu-torch.json", "bench/cpu-onnxruntime.json", "bench/estimate.json"), st_bench, "CPU benchmarks"),
    Stage("metrics", ("metrics.json",), st_metrics, "accuracy table"),
)


def preflight(cfg: FlowConfig) -> None:
    """Every check before the first stage: model, board, input size, checkpoint, data; an unpruned row fits
    the board (fit_check: ~1 min, once per build folder)."""
    from fpga_flow.boards import load_board

    cfg.task  # noqa: B018 - the model name
    load_board(cfg.board)
    if cfg.image_size < 32 or cfg.image_size % 32:
        raise FlowError(f"image size {cfg.image_size}: {cfg.base} needs a positive multiple of 32 (5 max-pools)")
    if cfg.checkpoint is not None:
        checked_checkpoint(cfg)
    if cfg.data is not None:
        from fpga_flow.data import index_dataset, resolve_root

        index_dataset(resolve_root(cfg.data), cfg.task)
    from fpga_flow.flow.fit_check import check_fits

    check_fits(cfg, log=lambda text: console.print(text, style="dim", highlight=False))  # unpruned rows


def run_bitstream(cfg: FlowConfig, require_bitstream: bool = False) -> Flow:
    """The whole flow for one model/board. Without Vivado everything else is built and the run ends
    with a summary (exit 0); ``require_bitstream`` makes that BitstreamSkipped (exit 3)."""
    preflight(cfg)
    f = Flow(cfg)
    console.print(f"[bold]fpga-flow bitstream[/] {cfg.model} on {cfg.board} -> {cfg.bdir}")
    f.run(list(STAGES))
    if f.skipped is None:
        console.print(f"done: bitstream and deploy folder in {cfg.bdir / 'deploy'}", style="green", highlight=False)
        return f
    if require_bitstream:
        raise BitstreamSkipped("no bitstream, and --require-bitstream was given (see the vivado stage above)")
    console.print(f"done: everything but the bitstream is built in {cfg.bdir} (RTL verified in rtlsim, Yosys "
                  f"resources, deploy/ with its README, benchmarks, accuracy). For the bitstream, copy {cfg.bdir} "
                  "to a machine with Vivado and run `vivado -mode batch -source build.tcl` in its vivado/ folder, "
                  "or re-run this command there.", style="green", highlight=False)
    return f
