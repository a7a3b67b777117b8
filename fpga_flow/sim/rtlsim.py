"""rtlsim: integer NHWC frames through the Verilator model of a build's stitched design.

    res = rtlsim(build_dir, x)        # x: (N, H, W, C) integers of the design's input datatype
    res.outputs, res.cycles_per_frame, res.latency_cycles

FIFO depths are sized FINN-style on first use (``size_fifos``): a simulation with
tensor-sized FIFOs records each FIFO's maximum occupancy, rounded as FINN does (<=2 -> 2,
<=32 -> 32, >256 -> next power of two), then capped where a simulation shows the cap costs no
throughput; the depths are saved in ``rtl/fifo_depths.json`` (tied to the dataflow.onnx they
were measured on) and ``rtl/final_hw_config.json`` (FINN format).
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.sim import verilator as vl
from fpga_flow.sim.packing import pack, unpack

SIZING_CAP = 1 << 20


@dataclass
class RtlsimResult:
    outputs: np.ndarray              # (N,) + output shape[1:], int64
    cycles_per_frame: float          # steady state (spacing of frame ends); latency if N == 1
    latency_cycles: int              # first input word of frame 0 -> its last output word
    frames: int
    total_cycles: int
    wall_s: float                    # simulation wall time (build excluded)
    build_s: float
    fifo_depths: dict = field(default_factory=dict)
    source: str = "rtlsim"

    @property
    def sim_cycles_per_s(self) -> float:
        return self.total_cycles / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "frames": self.frames, "cycles_per_frame": self.cycles_per_frame,
                "latency_cycles": self.latency_cycles, "total_cycles": self.total_cycles,
                "sim_wall_s": round(self.wall_s, 3), "build_s": round(self.build_s, 2),
                "sim_cycles_per_s": round(self.sim_cycles_per_s), "fifo_depths": self.fifo_depths}


def stalled_stage(chain, dbg_hex: str) -> str | None:
    """Name the stage that holds a valid input it does not take while producing nothing; for a
    fork/join, the branch whose full FIFO starves the other branch (a branch deadlock)."""
    if not dbg_hex:
        return None
    v = int(dbg_hex, 16)
    n = chain.n_streams
    valid = [(v >> i) & 1 for i in range(n)]
    ready = [(v >> (n + i)) & 1 for i in range(n)]
    by_name = {s.name: s for s in chain.stages}
    for b in chain.branches:
        f = by_name.get(b.fifo) if b.fifo else None
        if f is None or not (valid[f.ins[0]] and not ready[f.ins[0]]):
            continue
        j = by_name[b.join]
        starving = [p for p, sid in enumerate(j.ins) if p != b.port and not valid[sid]]
        if starving:
            other = next(o for o in chain.branches if o.join == b.join and o.port == starving[0])
            return (f"branch deadlock: FIFO {f.name} (depth {f.params['DEPTH']}) on the branch "
                    f"{b.fork} -> {' -> '.join(b.path)} -> {b.join} (input {b.port}) is full while {b.join} "
                    f"waits for input {starving[0]} from {' -> '.join(other.path) or b.fork}; "
                    f"the buffering model asks for >= {b.need or '?'} words there (or size the FIFOs by rtlsim)")
    stuck = [s.name for s in chain.stages
             if any(valid[i] and not ready[i] for i in s.ins) and not any(valid[o] for o in s.outs)]
    if stuck:
        return stuck[-1]
    waiting = [s.name for s in chain.stages if not any(valid[i] for i in s.ins) and not any(valid[o] for o in s.outs)]
    return f"none holds data; first idle stage {waiting[0]}" if waiting else None


def random_frames(chain, n: int, seed: int = 0) -> np.ndarray:
    dt = chain.in_dtype
    rng = np.random.default_rng(seed)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, (n,) + tuple(chain.in_shape[1:]))


def run_design(design, x: np.ndarray, *, backpressure: float = 0.0, opt: str = "-O1",
               stall_limit: int | None = None, seed: int = 1) -> RtlsimResult:
    """Simulate frames ``x`` on an RtlDesign (see fpga_flow.codegen)."""
    from fpga_flow.codegen import tb_spec
    from fpga_flow.codegen.verilog import pad8

    chain = design.chain
    x = np.asarray(x)
    ishape = tuple(chain.in_shape[1:])
    if x.shape[1:] != ishape:
        if x.shape == ishape:
            x = x[None]
        else:
            raise FlowError(f"rtlsim: input of shape {x.shape}, the design takes (N,)+{ishape}")
    dt = chain.in_dtype
    if x.size and (x.min() < dt.min() or x.max() > dt.max()):
        raise FlowError(f"rtlsim: input values [{x.min()}, {x.max()}] outside {dt.name}")
    n = x.shape[0]
    words = pack(x, dt.bitwidth(), chain.in_fold, signed=dt.signed(), nbytes=pad8(chain.in_width) // 8)
    spec = tb_spec(chain)
    t0 = time.time()
    binary = vl.build(design.sources, spec, opt=opt)
    build_s = time.time() - t0
    in_pf = int(np.prod(chain.in_shape)) // chain.in_fold
    out_pf = int(np.prod(chain.out_shape)) // chain.out_fold
    if stall_limit is None:
        # cycles without any word moving on any internal stream: a healthy design never gets near
        stall_limit = 20_000 + 2 * max(s.in_words + s.out_words for s in chain.stages)
    res = vl.run(binary, words, frames=n, in_per_frame=in_pf, out_per_frame=out_pf, out_width=pad8(chain.out_width),
                 cwd=design.rtl_dir, backpressure=backpressure, seed=seed, stall_limit=stall_limit,
                 name=f"rtlsim {design.rtl_dir.parent.name}", stalled_layer=lambda d: stalled_stage(chain, d))
    odt = chain.out_dtype
    y = unpack(res.outputs, odt.bitwidth(), chain.out_fold, odt.signed()).reshape((n,) + tuple(chain.out_shape[1:]))
    depths = {s.name: int(s.params["DEPTH"]) for s in chain.fifos()}
    out = RtlsimResult(y, res.cycles_per_frame, res.latency, n, res.cycles, res.wall_s, build_s, depths)
    out.fifo_max = dict(zip(depths, res.mon_max))  # type: ignore[attr-defined]
    out.axil = res.axil  # type: ignore[attr-defined]
    return out


def round_depth(maxcount: int) -> int:
    """FINN's rounding of a measured FIFO occupancy (finn-notes §1)."""
    d = int(maxcount)
    if d <= 2:
        return 2
    if d <= 32:
        return 32
    if d > 256:
        return 1 << (d - 1).bit_length()
    return d


def size_fifos(build_dir, *, frames: int = 2, seed: int = 0, opt: str = "-O1",
               caps: tuple[int, ...] = (32, 256, 1024, 4096), tolerance: float = 0.005) -> dict:
    """Size the FIFOs by simulation; save and return the depths (stage name -> words).

    Pass 1 (FINN's largefifo_rtlsim): tensor-sized FIFOs, each depth = its rounded maximum
    occupancy. A producer that is faster than its consumer fills any FIFO, so those maxima
    overstate the need; pass 2 therefore tries the depths capped at each of ``caps`` in turn and
    keeps the first whose cycles/frame stay within ``tolerance`` of pass 1 (else pass 1's).
    """
    from fpga_flow.codegen import FIFO_FILE, generate, model_hash

    build_dir = Path(build_dir)
    d0 = generate(build_dir, {})
    big = {s.name: int(min(SIZING_CAP, max(2, s.in_words))) for s in d0.chain.fifos()}
    x = random_frames(d0.chain, frames, seed)
    d1 = generate(build_dir, big)
    res = run_design(d1, x, opt=opt)
    maxocc = dict(res.fifo_max)  # type: ignore[attr-defined]
    measured = {k: round_depth(m) for k, m in maxocc.items()}
    base = res.cycles_per_frame
    final, used_cap, tried = measured, None, []
    trials = []
    # a branch FIFO keeps its measured depth: capped below it the shorter branch would starve the join
    branch_fifos = {b.fifo for b in d0.chain.branches if b.fifo}
    for cap in caps:
        capped = {k: d if k in branch_fifos else min(d, cap) for k, d in measured.items()}
        if capped == measured:
            break
        trials.append((cap, capped))
    from fpga_flow.sweep.cluster import fan_out, ray_running

    if ray_running() and len(trials) > 1:  # all caps at once as Ray tasks; the same first-that-holds rule
        cycles = fan_out(functools.partial(_cap_trial, build_dir, x, opt), trials)
        shutil.rmtree(build_dir / "sizing", ignore_errors=True)
    else:
        cycles = (_cap_cycles(build_dir, x, opt, capped) for _, capped in trials)
    for (cap, capped), cpf in zip(trials, cycles):
        if isinstance(cpf, str):  # a cap that deadlocks is a cap too small
            tried.append({"cap": cap, "deadlock": cpf[:300]})
            continue
        tried.append({"cap": cap, "cycles_per_frame": cpf})
        if cpf <= base * (1 + tolerance):
            final, used_cap = capped, cap
            break
    rec = {"dataflow_sha": model_hash(build_dir / "dataflow.onnx"), "depths": final,
           "max_occupancy": maxocc, "depths_measured": measured, "cap": used_cap, "cap_trials": tried,
           "sizing_frames": frames, "cycles_per_frame_large_fifos": base, "source": "rtlsim"}
    rtl = build_dir / "rtl"
    (rtl / FIFO_FILE).write_text(json.dumps(rec, indent=1))
    finn = {"Defaults": {}}
    for s in d1.chain.fifos():
        finn[s.node or s.name] = {"depth": final[s.name]}
    (rtl / "final_hw_config.json").write_text(json.dumps(finn, indent=1))
    generate(build_dir, final)
    return final


def _cap_cycles(build_dir: Path, x: np.ndarray, opt: str, depths: dict) -> float | str:
    """Cycles/frame with the FIFOs capped, or the deadlock message when the cap is too small."""
    from fpga_flow.codegen import generate

    try:
        return run_design(generate(build_dir, depths), x, opt=opt).cycles_per_frame
    except FlowError as err:
        return str(err)


def _cap_trial(build_dir: Path, x: np.ndarray, opt: str, trial: tuple[int, dict]) -> float | str:
    """Cycles/frame with the FIFOs capped (a Ray task): the design goes to its own folder; a deadlock
    comes back as its message."""
    from fpga_flow.codegen import _load_model, generate_from_model

    cap, depths = trial
    rtl_dir = Path(build_dir) / "sizing" / f"cap{cap}"
    try:
        design = generate_from_model(_load_model(Path(build_dir) / "dataflow.onnx"), rtl_dir, depths)
        return run_design(design, x, opt=opt).cycles_per_frame
    except FlowError as err:
        return str(err)
    finally:
        shutil.rmtree(rtl_dir, ignore_errors=True)


def rtlsim(build_dir, x: np.ndarray, *, size: bool | None = None, backpressure: float = 0.0,
           opt: str = "-O1") -> RtlsimResult:
    """Run integer NHWC frames ``x`` through the build's stitched RTL.

    ``size``: None sizes the FIFOs when no sizing of this dataflow.onnx exists yet; True always;
    False keeps the graph's depths.
    """
    from fpga_flow.codegen import generate, saved_fifo_depths

    build_dir = Path(build_dir)
    if size or (size is None and saved_fifo_depths(build_dir) is None):
        size_fifos(build_dir, opt=opt)
        design = generate(build_dir)
    elif size is False:
        design = generate(build_dir, {})
    else:
        design = generate(build_dir)
    return run_design(design, x, backpressure=backpressure, opt=opt)


def execute_hw_graph(model, x: np.ndarray) -> np.ndarray:
    """The compiler's semantics of a hw graph: each node's ``execute_numpy`` in stream order (int64)."""
    from fpga_flow.compiler.execute import execute_hw

    outs = []
    for f in np.asarray(x):
        y = np.asarray(execute_hw(model, f[None].astype(np.int64))).astype(np.int64)
        outs.append(y.reshape(y.shape[1:]) if y.shape[0] == 1 else y)
    return np.stack(outs)
