"""Fold: PE/SIMD per layer for a target FPS at the board clock, within the board budget.

FINN's SetFolding (finn-notes §2) per layer, plus an outer search over the cycle target so that
the total resource estimate fits the board (``budget_fraction`` of each resource). A target is met
when the layer's cycles <= f_clk / target_fps (so FPS >= target exactly; FINN uses '<').
MVAU weights that do not fit in on-chip BRAM go to ``mem_mode=external`` (largest first), which
limits that MVAU to ``PE·SIMD·W_BITS <= axi_hp_width`` bits per cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import Resources
from fpga_flow.errors import FlowError

RES_KEYS = ("lut", "ff", "dsp", "bram18", "uram")


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass
class FoldResult:
    target_cycles: float | None
    max_cycles: int
    fps: float
    slowest_layer: str
    resources: Resources
    budget: dict
    fits: bool
    met: bool
    limiting: str = ""  # layer/resource limiting the rate
    external: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "target_cycles": self.target_cycles, "max_cycles": self.max_cycles, "fps": self.fps,
            "slowest_layer": self.slowest_layer, "resources": self.resources.to_dict(),
            "budget": self.budget, "fits": self.fits, "target_met": self.met, "limiting": self.limiting,
            "external_weights": self.external, "notes": self.notes,
        }


def hw_ops(model: ModelWrapper):
    return [(n, getCustomOp(n)) for n in model.graph.node if n.domain == "fpga_flow.compiler.hw"]


def _walk(op, attr: str, maxval: int, target: float, limit=None) -> None:
    for d in divisors(maxval):
        if limit is not None and not limit(d):
            break
        op.set_nodeattr(attr, d)
        if op.exp_cycles() <= target:
            return


def choose_ram_style(op, budget: dict | None) -> None:
    """Weights in LUTRAM ('distributed') when that costs a smaller share of the board than BRAM."""
    if budget is None or op.get_nodeattr("mem_mode") == "external":
        return
    op.set_nodeattr("ram_style", "auto")
    r_block = op.resource_estimate()
    op.set_nodeattr("ram_style", "distributed")
    r_dist = op.resource_estimate()
    share_b = r_block.bram18 / max(budget.get("bram18", 0), 1) + r_block.lut / max(budget.get("lut", 0), 1)
    share_d = r_dist.bram18 / max(budget.get("bram18", 0), 1) + r_dist.lut / max(budget.get("lut", 0), 1)
    if share_b <= share_d:
        op.set_nodeattr("ram_style", "auto")


def set_folding(ops, target: float, mvau_wwidth_max: int = 36, axi_hp_width: int = 64,
                budget: dict | None = None) -> None:
    """FINN SetFolding on every layer for ``target`` cycles (one pass)."""
    for n, op in ops:
        t = n.op_type
        if t == "MVAU":
            op.set_nodeattr("PE", 1)
            op.set_nodeattr("SIMD", 1)
            wb = op.weight_bits()
            ext = op.get_nodeattr("mem_mode") == "external"
            wmax = min(mvau_wwidth_max, axi_hp_width) if ext else mvau_wwidth_max
            _walk(op, "SIMD", op.get_nodeattr("MW"), target, lambda s: wb * s <= wmax)
            simd = op.get_nodeattr("SIMD")
            lim = (lambda p: wb * simd * p <= axi_hp_width) if ext else None
            _walk(op, "PE", op.get_nodeattr("MH"), target, lim)
            choose_ram_style(op, budget)
        elif t == "ConvolutionInputGenerator":
            op.set_nodeattr("SIMD", 1)
            _walk(op, "SIMD", op.get_nodeattr("IFMChannels"), target)
        elif t in ("Thresholding", "GlobalAccPool", "StreamingMaxPool", "UpsampleNearestNeighbour"):
            op.set_nodeattr("PE", 1)
            _walk(op, "PE", op.get_nodeattr("NumChannels"), target)
        elif t == "LabelSelect":
            op.set_nodeattr("PE", 1)
            _walk(op, "PE", op.get_nodeattr("Labels"), target)


def totals(ops) -> tuple[Resources, int, str]:
    res = Resources()
    mc, slow = 0, ""
    for n, op in ops:
        res = res + op.resource_estimate()
        c = op.exp_cycles()
        if c > mc:
            mc, slow = c, n.name
    return res, mc, slow


def over_budget(res: Resources, budget: dict, frac: float) -> list[tuple[str, float]]:
    out = []
    for k in RES_KEYS:
        cap = budget.get(k, 0) * frac
        v = getattr(res, k)
        if v > cap and v > 0:
            out.append((k, v / max(budget.get(k, 0), 1e-9)))
    return sorted(out, key=lambda kv: -kv[1])


def biggest_user(ops, key: str) -> str:
    best, bv = "", -1.0
    for n, op in ops:
        v = getattr(op.resource_estimate(), key)
        if v > bv:
            best, bv = n.name, v
    return best


def fold(model: ModelWrapper, board, target_fps: float | None = None, budget_fraction: float = 0.85,
         mvau_wwidth_max: int = 36, best_effort: bool = False) -> tuple[ModelWrapper, FoldResult]:
    """Fold ``model`` in place. Raises FlowError when ``target_fps`` is not reachable (message gives
    the best feasible FPS and the limiting layer/resource) unless ``best_effort``."""
    clk = board.clock_mhz * 1e6
    ops = hw_ops(model)
    budget = board.budget()
    hp = getattr(board, "axi_hp_width", 64)
    mvaus = [(n, op) for n, op in ops if n.op_type == "MVAU"]

    def fold_once(target):
        set_folding(ops, target, mvau_wwidth_max, hp, budget)
        # weights that do not fit in BRAM: stream the largest from DRAM until BRAM fits
        while True:
            r = totals(ops)[0]
            if r.bram18 <= budget["bram18"] * budget_fraction and r.uram <= budget["uram"] * budget_fraction:
                return
            cands = [(op.resource_estimate().bram18, n.name, op) for n, op in mvaus
                     if op.get_nodeattr("mem_mode") != "external"]
            cands = [c for c in cands if c[0] > 0]
            if not cands:
                return
            _, _, op = max(cands, key=lambda c: c[0])
            op.set_nodeattr("mem_mode", "external")
            op.set_nodeattr("ram_style", "auto")
            set_folding([(nn, o) for nn, o in ops if o is op], target, mvau_wwidth_max, hp, budget)

    def attempt(target):
        for _, op in mvaus:
            op.set_nodeattr("mem_mode", "internal_decoupled")
        fold_once(target)
        r, mc, slow = totals(ops)
        if mc > target:  # FINN's second pass: relax to the achieved rate
            fold_once(mc)
            r, mc, slow = totals(ops)
        return r, mc, slow

    # fastest reachable at all (ignoring budget)
    r_fast, mc_fast, slow_fast = attempt(0.5)
    want = clk / target_fps if target_fps else 0.5
    r, mc, slow = attempt(max(want, mc_fast))
    ob = over_budget(r, budget, budget_fraction)
    if ob:
        r1, mc1, _ = attempt(float("inf"))
        ob1 = over_budget(r1, budget, budget_fraction)
        if ob1:
            k, u = ob1[0]
            raise FlowError(f"board {board.name}: even the fully folded design needs {k} = "
                            f"{getattr(r1, k):.0f} ({u:.0%} of the board, limit {budget_fraction:.0%}); "
                            f"largest user: layer {biggest_user(ops, k)}")
        # geometric bisection on the cycle target: lo infeasible (over budget), hi feasible
        lo, hi, lo_over = max(want, mc_fast), float(mc1), ob
        for _ in range(40):
            if hi <= lo * 1.005:
                break
            mid = math.sqrt(lo * hi)
            r, mc, slow = attempt(mid)
            o = over_budget(r, budget, budget_fraction)
            if o:
                lo, lo_over = mid, o
            else:
                hi = min(hi, float(mc))
                if mc > mid:
                    lo = mid
        r, mc, slow = attempt(hi)
        k, u = lo_over[0]
        limiting = f"resource {k} (the next faster folding needs {u:.0%} of the board's {k})"
    else:
        limiting = f"layer {slow}" + (" at its maximum parallelism" if mc <= mc_fast else "")
    ext = [n.name for n, op in mvaus if op.get_nodeattr("mem_mode") == "external"]
    notes = [f"{e}: weights streamed from DRAM (mem_mode=external): on-chip BRAM too small" for e in ext]
    fps = clk / mc
    met = target_fps is None or fps >= target_fps * (1 - 1e-9)
    res = FoldResult(want if target_fps else None, mc, fps, slow, r, budget, not over_budget(r, budget, budget_fraction),
                     met, limiting, ext, notes)
    if target_fps and not met:
        why = limiting if ob else f"layer {slow_fast} cannot go faster than {mc_fast} cycles/frame"
        best = clk / mc
        msg = (f"target {target_fps:g} FPS not reachable on board {board.name} at {board.clock_mhz:g} MHz: "
               f"best feasible {best:.2f} FPS (slowest layer {slow}, {mc} cycles); limited by {why}")
        res.notes.append(msg)
        if not best_effort:
            raise FlowError(msg)
    for n, op in ops:
        for e in op.check_folding():
            raise FlowError(f"layer {n.name}: {e}")
    return model, res


class Fold:
    def __init__(self, board, target_fps=None, **kw):
        self.board, self.target_fps, self.kw = board, target_fps, kw
        self.result: FoldResult | None = None

    def apply(self, model):
        model, self.result = fold(model, self.board, self.target_fps, **self.kw)
        return model, False
