"""CLI commands of fpga_flow.sim: ``fpga-flow sim --build DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fpga_flow.cli_options import FlowCommand, existing_dir


ONE_FRAME_NOTE = ("1 frame: latency only; steady-state throughput (cycles/frame, FPS) needs the spacing "
                  "of >= 2 frames (--frames 2 or more)")


def _clock_mhz(path: Path) -> float | None:
    try:
        return json.loads(path.read_text()).get("clock_mhz") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        return None


def run_sim(build: Path, frames: int = 2, seed: int = 0, resize_fifos: bool = False,
            check: bool = True, opt: str = "-O1") -> dict:
    """Generate the RTL of a build, size its FIFOs (first time), simulate ``frames`` random
    frames, check them against the hw graph's numpy execution; write ``sim/rtlsim.json``."""
    from fpga_flow.codegen import generate, saved_fifo_depths
    from fpga_flow.errors import FlowError
    from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, run_design, size_fifos

    build = Path(build)
    if frames < 1:
        raise FlowError(f"{build}: --frames must be >= 1 (got {frames})")
    if not (build / "dataflow.onnx").exists():
        raise FlowError(f"{build}/dataflow.onnx: not found (run `fpga-flow build` first)")
    if resize_fifos or saved_fifo_depths(build) is None:
        size_fifos(build, opt=opt)
    design = generate(build)
    x = random_frames(design.chain, frames, seed)
    res = run_design(design, x, opt=opt)
    rec = res.to_dict()
    rec["build_dir"] = str(build)
    exp = max(s.exp_cycles for s in design.chain.stages)
    slow = max(design.chain.stages, key=lambda s: s.exp_cycles)
    rec["estimate_cycles_per_frame"] = exp
    rec["estimate_slowest_layer"] = slow.node or slow.name
    steady = frames >= 2  # one frame's end-to-end time is its latency, not the frame spacing
    if not steady:
        rec["cycles_per_frame"] = None
        rec["throughput_note"] = ONE_FRAME_NOTE
    rec["rtlsim_over_estimate"] = round(res.cycles_per_frame / exp, 4) if exp and steady else None
    clk = _clock_mhz(build / "estimates.json")
    if clk:
        rec["clock_mhz"] = clk
        if steady:
            rec["fps"] = clk * 1e6 / res.cycles_per_frame
        rec["latency_ms"] = res.latency_cycles / (clk * 1e3)
    if check:
        from qonnx.core.modelwrapper import ModelWrapper

        ref = execute_hw_graph(ModelWrapper(str(build / "dataflow.onnx")), x)
        ok = ref.shape == res.outputs.shape and bool((ref == res.outputs).all())
        rec["bit_exact"] = ok
        if not ok:
            bad = int((ref != res.outputs.reshape(ref.shape)).sum()) if ref.size == res.outputs.size else -1
            (build / "sim").mkdir(exist_ok=True)
            (build / "sim" / "rtlsim.json").write_text(json.dumps(rec, indent=1))
            raise FlowError(f"{build}: rtlsim output differs from the hw graph's execution "
                            f"({bad} of {ref.size} values)")
    (build / "sim").mkdir(exist_ok=True)
    (build / "sim" / "rtlsim.json").write_text(json.dumps(rec, indent=1))
    return rec


def register(app: typer.Typer) -> None:
    @app.command("sim", cls=FlowCommand, help="Verilator rtlsim of a build: RTL generation, FIFO sizing, bit-exact check, "
                             "cycles/frame and latency (writes rtl/ and sim/rtlsim.json)")
    def _sim(
        build: Path = typer.Option(..., "--build", callback=existing_dir, help="build folder holding dataflow.onnx"),
        frames: int = typer.Option(2, "--frames", min=1, max=100_000, help="random frames to simulate"),
        seed: int = typer.Option(0, "--seed", min=0, help="seed of the random frames"),
        resize_fifos: bool = typer.Option(False, "--resize-fifos", help="redo the FIFO sizing simulation"),
        no_check: bool = typer.Option(False, "--no-check", help="skip the comparison with the hw graph"),
    ) -> None:
        r = run_sim(build, frames, seed, resize_fifos, not no_check)
        if r["cycles_per_frame"] is None:
            line = (f"{build}: latency {r['latency_cycles']} cycles [rtlsim]"
                    + (f" = {r['latency_ms']:.4f} ms at {r['clock_mhz']} MHz" if "latency_ms" in r else "")
                    + f" (estimate {r['estimate_cycles_per_frame']} cycles/frame); no throughput: {ONE_FRAME_NOTE}")
        else:
            line = (f"{build}: {r['cycles_per_frame']:.0f} cycles/frame [rtlsim] "
                    f"(estimate {r['estimate_cycles_per_frame']}, ratio {r['rtlsim_over_estimate']}), "
                    f"latency {r['latency_cycles']} cycles [rtlsim]")
        if "fps" in r:
            line += f", {r['fps']:.2f} FPS at {r['clock_mhz']} MHz [rtlsim]"
        if "bit_exact" in r:
            line += ", bit-exact vs hw graph" if r["bit_exact"] else ", MISMATCH"
        line += f"; sim {r['sim_wall_s']} s for {r['frames']} frames ({r['sim_cycles_per_s']} cycles/s)"
        typer.echo(line)
