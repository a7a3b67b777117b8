"""The hardware stages: dataflow compiler, RTL generation, Yosys, Vivado, the deploy folder and the CPU
benchmarks."""

from __future__ import annotations

import shutil

from fpga_flow.errors import BitstreamSkipped, FlowError
from fpga_flow.flow.runner import Flow, stage_api


def st_build(f: Flow) -> None:
    """Fold, then size the FIFOs and fold again while layers + FIFOs exceed the board's BRAM (fifo_fit.py)."""
    import hashlib

    from rich.markup import escape

    from fpga_flow.boards import load_board
    from fpga_flow.flow.fifo_fit import fit_fifos

    build_dataflow = stage_api(("fpga_flow.compiler", "fpga_flow.compiler.build"), "build_dataflow", stage="build")
    src = f.path("quant/model.qonnx.onnx")
    key = hashlib.sha256(src.read_bytes()).hexdigest()[:16] + f"/{f.cfg.board}/{f.cfg.target_fps}"
    r = fit_fifos(f.cfg.bdir, load_board(f.cfg.board),
                  lambda bram: build_dataflow(src, f.cfg.board, f.cfg.bdir, target_fps=f.cfg.target_fps, bram_budget=bram),
                  note=lambda s: f.note(escape(s)), key=key)  # its lines say [estimate], not rich markup
    fps = getattr(r, "fps", None)
    if fps:
        f.note(f"estimate: {fps:.1f} FPS at the {f.cfg.board} clock")
    t = r.estimates["total"]
    if "fifo_bram18" in t:
        f.note(f"estimate with the sized FIFOs: BRAM18 {t['resources']['bram18']:.0f} "
               f"({t['fifo_bram18']} of them FIFOs; {t['utilization']['bram18']:.0%} of {f.cfg.board})")


def st_codegen(f: Flow) -> None:
    stage_api("fpga_flow.codegen", "generate", stage="codegen")(f.cfg.bdir)


def st_synth(f: Flow) -> None:
    rep = stage_api("fpga_flow.synth", "synthesize", stage="synth")(f.cfg.bdir, f.cfg.board)
    if isinstance(rep, dict) and isinstance(rep.get("total"), dict):
        t = rep["total"]
        f.note("Yosys: " + ", ".join(f"{k.upper()} {t[k]}" for k in ("lut", "ff", "dsp", "bram18") if k in t)
               + f" ({t.get('scope', '')}); fits {rep.get('board', {}).get('name', f.cfg.board)}: {rep.get('fits')}")


def st_vivado(f: Flow) -> None:
    """The synth stage's Vivado project (TCL always written); BitstreamSkipped when vivado is not on PATH."""
    if shutil.which("vivado") is None:
        try:  # keep the project TCL for a machine that has Vivado
            from fpga_flow.boards import load_board
            from fpga_flow.synth import write_vivado_tcl

            tcl = write_vivado_tcl(f.cfg.bdir, load_board(f.cfg.board))
        except (ImportError, FlowError):
            tcl = None
        raise BitstreamSkipped("bitstream not built: vivado is not on PATH"
                               + (f" (project TCL: {tcl})" if tcl else "") + "; everything else is in "
                               f"{f.cfg.bdir}, a re-run with vivado resumes here")
    from fpga_flow.boards import load_board

    bit = stage_api("fpga_flow.synth", "bitstream", stage="vivado")(f.cfg.bdir, load_board(f.cfg.board))
    f.note(f"bitstream {bit}")


def st_deploy(f: Flow) -> None:
    from fpga_flow.runtime.deploy import make_deploy

    import numpy as np

    bits = sorted(f.cfg.bdir.glob("deploy/bitfile/*.bit")) or sorted(f.cfg.bdir.glob("vivado/**/*.bit"))
    hwh = sorted(f.cfg.bdir.glob("deploy/bitfile/*.hwh")) or sorted(f.cfg.bdir.glob("vivado/**/*.hwh"))
    out = make_deploy(f.cfg.bdir, inputs=np.load(f.path("sim/test_inputs.npy")),
                      expected=np.load(f.path("sim/test_outputs.npy")), expected_pred=np.load(f.path("sim/test_pred.npy")),
                      model=f.cfg.model, board=f.cfg.board, bitfile=bits[0] if bits else None,
                      hwh=hwh[0] if hwh else None, float_onnx=f.path("model.onnx"),
                      extra={"classes": _class_names(f)} if f.cfg.task == "cls" else None)
    np.save(out / "test_data" / "labels.npy", np.load(f.path("sim/test_labels.npy")))
    f.note(f"deploy folder {out}" + ("" if bits else " (no bitfile: Vivado did not run)"))


def _class_names(f: Flow) -> list[str] | None:
    """The dataset's class names in label order (ISIC 2019: MEL, NV, ...), None when its index is not at hand."""
    from fpga_flow.data import index_dataset, resolve_root

    try:
        return list(index_dataset(resolve_root(f.cfg.data_root), f.cfg.task, check=False).classes)
    except (FlowError, OSError):
        return None


def st_bench(f: Flow) -> None:
    from fpga_flow.runtime.cli import print_result, run_bench

    c = f.cfg
    for backend in ("cpu-torch", "cpu-onnxruntime", "estimate"):
        print_result(run_bench(c.model, c.board, backend, c.build_root, warmup=2, repeats=c.bench_repeats))
    # the strongest CPU runtimes and the quantized model on the CPU (QONNX as QCDQ): rows, not requirements
    for backend, quantized in (("cpu-onnxruntime-int8", False), ("cpu-openvino", False), ("cpu-openvino-f32", False),
                               ("cpu-openvino-int8", False), ("cpu-onnxruntime", True)):
        try:
            print_result(run_bench(c.model, c.board, backend, c.build_root, warmup=2, repeats=c.bench_repeats,
                                   quantized=quantized))
        except FlowError as err:
            f.note(f"{backend}{' (quantized model)' if quantized else ''} not benchmarked: {err}")


