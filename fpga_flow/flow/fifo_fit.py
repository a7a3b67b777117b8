"""The FIFOs' BRAM in the fold's budget: fold, size the FIFOs by rtlsim, count their BRAM, re-fold.

The fold (compiler/transforms/fold.py) spends the board's BRAM on weight ROMs before the FIFOs between
the layers have depths: rtlsim sizes them afterwards (sim/rtlsim.py ``size_fifos``), and a sized FIFO of
more than 32 words that fills its BRAMs at least half takes RAMB18s (compiler/hw/stream.py
``fifo_bram18``, the count Yosys gives). vgg16-hcr at 224x224 on Pynq-Z2: layers 233 + sized FIFOs 59
BRAM18 = 294 > 280 by Yosys. So the build stage sizes the FIFOs right after the fold, and while layers +
FIFOs exceed ``BRAM_FIT_FRACTION`` of the board, folds again with the layers' BRAM budget lowered by the
FIFOs' BRAM, and sizes again (the FIFOs change with the folding), at most ``MAX_ROUNDS`` folds.

Before the first sizing the FIFOs' BRAM is reserved from the cycle model (flow/fifo_reserve.py: a share
of a row of each stream): while layers + that estimate exceed the cap the fold is redone at once (a fold
takes seconds, a sizing simulation minutes), so one sizing usually confirms the fit; the loop above is
the fallback when the sized FIFOs take more than was reserved.

Each round prints one line (layers, FIFOs, the largest FIFO). The sized depths are saved with the
dataflow graph they belong to (rtl/fifo_depths.json), so the rtlsim stage reuses them, and estimates.json
then counts the sized FIFOs' BRAM: the estimate is what Yosys counts.
"""

from __future__ import annotations

import json
from pathlib import Path

from fpga_flow.errors import FlowError

# BRAM counts are Yosys-matched (weight ROMs by the best RAMB18 aspect ratio, FIFOs by fifo_bram18), so
# layers + FIFOs may take more of the BRAM than the fold's 85 % of every resource (kept for LUTs, whose
# model is coarser); 5 % stays for what the model misses
BRAM_FIT_FRACTION = 0.95
MAX_ROUNDS = 4
RESERVE_FOLDS = 3  # folds against the cycle model's FIFO estimate before the first sizing
FIT_FILE = "fifo_fit.json"            # written when the loop ends (an output of the build stage)
PARTIAL_FILE = "fifo_fit.partial.json"  # the rounds so far, to resume an interrupted loop


def sized_fifo_bram(bdir: Path, depths: dict) -> dict[str, int]:
    """BRAM18 of each FIFO of ``bdir/dataflow.onnx`` at the sized ``depths`` (the stages codegen builds,
    with the RAM style it gives them)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from fpga_flow.codegen import build_chain
    from fpga_flow.compiler.hw.stream import fifo_bram18

    chain = build_chain(ModelWrapper(str(Path(bdir) / "dataflow.onnx")), depths)
    return {s.name: fifo_bram18(int(s.params["WIDTH"]), int(s.params["DEPTH"]), str(s.params.get("RAM_STYLE", "auto")))
            for s in chain.fifos()}


def layer_bram(est: dict) -> float:
    """BRAM18 of the estimate without its FIFO nodes (at their graph depths)."""
    return sum(ly["resources"]["bram18"] for ly in est["layers"] if ly["op_type"] != "StreamingFIFO")


def record(est: dict, fifos: dict[str, int], layers: float) -> dict:
    """estimates.json with the sized FIFOs' BRAM in the totals (``fifo_bram18``, ``bram18_parts``)."""
    t = est["total"]
    n = sum(fifos.values())
    t["resources"]["bram18"] = layers + n
    b = t["budget"].get("bram18") or 0
    t["utilization"]["bram18"] = round((layers + n) / b, 4) if b else None
    t["fits"] = all(v is not None and v <= 1.0 for v in t["utilization"].values())
    t["fifo_bram18"] = n
    t["bram18_parts"] = {"layers": layers, "fifos": n,
                         "fifos_source": "depths sized by rtlsim, BRAM by fifo_bram18 (Yosys-matched)",
                         "per_fifo": {k: v for k, v in fifos.items() if v}}
    return est


def sizing_affordable(cycles_per_frame: float) -> bool:
    from fpga_flow.flow.sim_stages import RTLSIM_CYCLES_PER_S, RTLSIM_MAX_S, SIZING_FRAMES

    return cycles_per_frame * SIZING_FRAMES / RTLSIM_CYCLES_PER_S <= RTLSIM_MAX_S


def reserve_fifos(bdir: Path, r, build, cap: float, note, rounds: list) -> tuple:
    """Before any sizing simulation: while the layers + the FIFOs at their cycle-model depths
    (flow/fifo_reserve.py) exceed ``cap``, fold again with the layers' BRAM lowered by that reserve, at
    most ``RESERVE_FOLDS`` folds (a fold takes seconds, a sizing minutes). A fold may leave much of its
    budget unused (vgg16-hcr 224: budget 205, layers 192), so a fold that fits with room is tried once
    more at the budget its own reserve leaves, kept when it also fits and is not slower. Returns the
    last BuildResult and the layers' budget it was folded with (None: the first fold left room)."""
    from fpga_flow.flow.fifo_reserve import reserved_fifo_bram

    def check(r, budget, tag):
        est = reserved_fifo_bram(bdir)
        layers = layer_bram(r.estimates)
        line = (f"FIFO reserve {tag}: layers {layers:.0f} + FIFOs by the cycle model {est} = {layers + est:.0f} "
                f"BRAM18 of {cap:.0f}; {r.estimates['total']['cycles_per_frame']} cycles/frame [estimate]"
                + (f"; layers' budget {budget:.0f} BRAM18" if budget is not None else ""))
        note(line)
        rounds.append(line)
        return layers, est

    budget, fits = None, False
    for i in range(1, RESERVE_FOLDS + 1):
        layers, est = check(r, budget, i)
        if layers + est <= cap:
            fits = True
            break
        new = cap - est
        budget = new if budget is None else min(new, budget - 1)
        if budget < 0:
            break
        r = build(budget)
    else:
        layers, est = check(r, budget, RESERVE_FOLDS + 1)
        fits = layers + est <= cap
    if fits and budget is not None and cap - est > budget + 1:
        up = cap - est
        r2 = build(up)
        l2, e2 = check(r2, up, "up")
        if l2 + e2 <= cap and r2.estimates["total"]["cycles_per_frame"] <= r.estimates["total"]["cycles_per_frame"]:
            return r2, up
        r = build(budget)
    return r, budget


def fit_fifos(bdir: Path, board, build, note=print, size=None, key: str = ""):
    """Fold (``build(bram_budget)`` -> BuildResult), size the FIFOs (``size(bdir)`` -> depths; default
    rtlsim's size_fifos), re-fold until layers + FIFOs fit. Returns the last BuildResult; FlowError naming
    the board when MAX_ROUNDS folds do not fit. ``key`` names the input (an earlier run's budget is
    resumed only for the same key)."""
    from fpga_flow.codegen import saved_fifo_depths

    if size is None:
        from fpga_flow.sim.rtlsim import size_fifos as size
    bdir = Path(bdir)
    total_b = board.budget()["bram18"]
    cap = BRAM_FIT_FRACTION * total_b
    fit_path, part_path = bdir / FIT_FILE, bdir / PARTIAL_FILE
    fit_path.unlink(missing_ok=True)
    prev = json.loads(part_path.read_text()) if part_path.is_file() else {}
    # where an earlier (interrupted) run of this loop got to, for the same input
    budget = prev.get("bram_budget") if prev.get("key") == key else None
    r = build(budget)
    rounds = []
    if budget is None and sizing_affordable(r.estimates["total"]["cycles_per_frame"]):
        r, budget = reserve_fifos(bdir, r, build, cap, note, rounds)
    if not sizing_affordable(r.estimates["total"]["cycles_per_frame"]):
        note(f"FIFOs not sized before synthesis ({r.estimates['total']['cycles_per_frame']} cycles/frame: "
             "rtlsim too slow here); their BRAM is not in the estimate")
        fit_path.write_text(json.dumps({"key": key, "bram_budget": budget, "sized": False}, indent=1))
        return r
    for rnd in range(1, MAX_ROUNDS + 1):
        depths = saved_fifo_depths(bdir)
        if depths is None:
            depths = size(bdir)
        fifos = sized_fifo_bram(bdir, depths)
        layers = layer_bram(r.estimates)
        n = sum(fifos.values())
        big = max(fifos, key=fifos.get) if fifos else None
        line = (f"FIFO fit round {rnd}: layers {layers:.0f} + sized FIFOs {n} = {layers + n:.0f} BRAM18 of "
                f"{cap:.0f} ({BRAM_FIT_FRACTION:.0%} of {board.name}'s {total_b})"
                + (f"; largest FIFO {big} {fifos[big]} BRAM18 (depth {depths.get(big)})" if big and fifos[big] else "")
                + f"; {r.estimates['total']['cycles_per_frame']} cycles/frame [estimate]"
                + (f"; layers' budget {budget:.0f} BRAM18" if budget is not None else ""))
        note(line)
        rounds.append(line)
        if layers + n <= cap:
            est = record(r.estimates, fifos, layers)
            (bdir / "estimates.json").write_text(json.dumps(est, indent=2, default=float) + "\n")
            r.estimates = est
            fit_path.write_text(json.dumps({"key": key, "bram_budget": budget, "rounds": rounds, "sized": True}, indent=1))
            part_path.write_text(fit_path.read_text())
            return r
        new = cap - n
        budget = new if budget is None else min(new, budget - 1)  # strictly lower: the loop ends
        part_path.write_text(json.dumps({"key": key, "bram_budget": budget, "rounds": rounds}, indent=1))
        if budget < 0:
            break
        r = build(budget)
    raise FlowError(f"board {board.name}: layers + sized FIFOs do not fit {cap:.0f} BRAM18 after {len(rounds)} "
                    f"folds ({rounds[-1]}); a smaller --target-fps or a larger board")
