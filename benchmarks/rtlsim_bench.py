"""rtlsim benchmark: zoo model -> QONNX -> build_dataflow -> RTL -> Verilator, one board.

    .venv/bin/python benchmarks/rtlsim_bench.py --model vgg16-pruned --size 224 --board Pynq-Z2 \
        [--frames 2] [--opt -O2] [--out build/bench] [--no-size-fifos]

Reports (JSON on stdout and in <build>/sim/bench.json): rtlsim cycles/frame and latency, FPS at
the board clock, the analytic roofline FPS = f_clk * MAC units / MACs per frame and the achieved
fraction, the compiler's estimate, Verilator compile time and simulation wall time per frame.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def roofline(build_dir: Path, board: str) -> dict:
    """MAC units (packed DSP products counted) and the board's physical bound (fpga_flow.compiler.roofline)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from fpga_flow.boards import load_board
    from fpga_flow.compiler.roofline import mac_roofline

    return mac_roofline(ModelWrapper(str(build_dir / "dataflow.onnx")), load_board(board))


def cpu_baseline(a, out: Path, repeats: int) -> dict:
    """Wall-clock FPS of the float zoo model (same topology) on this CPU, batch 1 [measured], timed by
    the runtime's own bench (as the flow's CPU rows are)."""
    import torch

    from fpga_flow.models import build
    from fpga_flow.runtime.backends.cpu import OnnxRuntimeBackend, TorchBackend, export_onnx
    from fpga_flow.runtime.bench import bench_accelerator
    from fpga_flow.runtime.driver import Accelerator

    cfg = {"in_size": a.size, **({"width": a.width} if a.width else {})}
    torch.manual_seed(0)
    model = build(a.model, **cfg).eval()
    shape = (1, 3, a.size, a.size)
    backends = {"onnxruntime": OnnxRuntimeBackend(export_onnx(model, out / "cpu" / "float.onnx", shape)),
                "pytorch": TorchBackend(model)}
    res = {}
    for name, be in backends.items():
        r = bench_accelerator(Accelerator(be, out, input_shape=shape[1:]), model=a.model, board="cpu",
                              repeats=repeats)
        res[name] = {"runtime": name, "source": r.source, "device": r.device, "threads": torch.get_num_threads(),
                     "median_ms": r.latency_ms.median, "fps": r.fps.median, "repeats": r.repeats}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vgg16-pruned")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--width", type=float, default=None)
    ap.add_argument("--board", default="Pynq-Z2")
    ap.add_argument("--target-fps", type=float, default=None)
    ap.add_argument("--budget-fraction", type=float, default=0.85)
    ap.add_argument("--best-effort", action="store_true")
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-size-fifos", action="store_true")
    ap.add_argument("--mvau-wwidth-max", type=int, default=None, help="compiler: max SIMD·W_BITS per MVAU")
    ap.add_argument("--synth", action="store_true", help="+ Yosys per layer (out-of-context) and the budget check")
    ap.add_argument("--jobs", type=int, default=2, help="parallel yosys runs (--synth)")
    ap.add_argument("--cpu-repeats", type=int, default=0,
                    help="+ the float model on this CPU (onnxruntime and PyTorch, batch 1), this many timed runs")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")

    import torch

    from fpga_flow.codegen import generate
    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.models import build
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
    from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, run_design, size_fifos

    out = Path(a.out or REPO / "build" / "bench" / f"{a.model}-{a.size}-{a.board}")
    t0 = time.time()
    if not (out / "dataflow.onnx").exists():
        torch.manual_seed(0)
        cfg = {"in_size": a.size}
        if a.width:
            cfg["width"] = a.width
        q = quantize_model(build(a.model, **cfg), QuantSpec())
        g = torch.Generator().manual_seed(0)
        calibrate(q, [torch.randn(2, 3, a.size, a.size, generator=g) for _ in range(2)])
        p = export_qonnx_clean(q, (1, 3, a.size, a.size), out / "q" / "model.qonnx.onnx")
        extra = {"mvau_wwidth_max": a.mvau_wwidth_max} if a.mvau_wwidth_max else {}
        build_dataflow(p, a.board, out, target_fps=a.target_fps, quiet=True, best_effort=a.best_effort,
                       budget_fraction=a.budget_fraction, **extra)
    t_compile = time.time() - t0
    est = json.loads((out / "estimates.json").read_text())
    clk = est["clock_mhz"]
    t1 = time.time()
    from fpga_flow.codegen import FIFO_FILE, model_hash

    fifo_file = out / "rtl" / FIFO_FILE
    sized = fifo_file.is_file() and json.loads(fifo_file.read_text()).get("dataflow_sha") == model_hash(
        out / "dataflow.onnx")
    if not a.no_size_fifos and not sized:
        print(f"sizing FIFOs of {out} (rtlsim, 2 frames)", file=sys.stderr, flush=True)
        size_fifos(out, opt=a.opt)
    t_size = time.time() - t1
    print(f"simulating {a.frames} frame(s)", file=sys.stderr, flush=True)
    design = generate(out, None if not a.no_size_fifos else {})
    x = random_frames(design.chain, a.frames, 0)
    res = run_design(design, x, opt=a.opt)
    from qonnx.core.modelwrapper import ModelWrapper
    ref = execute_hw_graph(ModelWrapper(str(out / "dataflow.onnx")), x)
    rf = roofline(out, a.board)
    cpf = res.cycles_per_frame
    rec = {
        "model": a.model, "size": a.size, "board": a.board, "clock_mhz": clk,
        "bit_exact": bool(np.array_equal(ref, res.outputs)),
        "rtlsim": {**res.to_dict(), "fps": clk * 1e6 / cpf, "latency_ms": res.latency_cycles / (clk * 1e3),
                   "sim_wall_s_per_frame": res.wall_s / a.frames},
        "estimate": {"cycles_per_frame": est["total"]["cycles_per_frame"], "fps": est["total"]["fps"],
                     "source": "estimate", "fits": est["total"].get("fits")},
        "roofline": {**rf, "achieved_fraction": (clk * 1e6 / cpf) / rf["roofline_fps"] if rf["roofline_fps"] else None},
        "times_s": {"compiler": round(t_compile, 1), "fifo_sizing": round(t_size, 1),
                    "verilator_build": round(res.build_s, 1), "sim": round(res.wall_s, 1)},
    }
    if a.cpu_repeats:
        rec["cpu"] = cpu_baseline(a, out, a.cpu_repeats)
        best = max(rec["cpu"].values(), key=lambda c: c["fps"])
        rec["speedup_vs_fastest_cpu"] = {"rtlsim_fps": rec["rtlsim"]["fps"], "cpu": best["runtime"],
                                         "cpu_fps": best["fps"], "speedup": rec["rtlsim"]["fps"] / best["fps"]}
    (out / "sim").mkdir(exist_ok=True)
    (out / "sim" / "bench.json").write_text(json.dumps(rec, indent=1))  # kept if synthesis fails
    if a.synth:
        from fpga_flow.synth import synthesize

        t2 = time.time()
        print(f"yosys per layer ({a.jobs} jobs)", file=sys.stderr, flush=True)
        rep = synthesize(out, a.board, layers=True, top=False, jobs=a.jobs, check=False)
        rec["yosys"] = {"total": rep["total"], "utilization": rep["utilization"], "fits": rep["fits"],
                        "over_budget": rep["over_budget"], "budget": rep["budget"],
                        "timing_risk": rep.get("timing_risk", [])}
        rec["times_s"]["yosys"] = round(time.time() - t2, 1)
    (out / "sim").mkdir(exist_ok=True)
    (out / "sim" / "bench.json").write_text(json.dumps(rec, indent=1))
    print(json.dumps(rec, indent=1))


if __name__ == "__main__":
    main()
