"""Fold: PE/SIMD per layer for a target FPS at the board clock, within the board budget.

FINN's SetFolding (finn-notes §2) per layer (with ``mvau_wwidth_max`` a soft limit: an MVAU that misses
the target at PE = MH widens SIMD past it), plus an outer search over the cycle target so that
the total resource estimate fits the board (``budget_fraction`` of each resource). A target is met
when the layer's cycles <= f_clk / target_fps (so FPS >= target exactly; FINN uses '<').
MVAU weights that do not fit in on-chip BRAM first move, at the same target, to foldings and memory
styles with fewer BRAM18 (LUTRAM, better-packed ROM shapes: ``wmem.relieve``); only then does
a layer go to ``mem_mode=external`` (the fewest DRAM bytes per frame per BRAM18 freed first), which
limits it to ``PE·SIMD·W_BITS <= axi_hp_width`` bits per cycle and the design to the DRAM link's rate,
so the search over the target prefers a slower on-chip folding when that is faster overall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler import MVAU_WWIDTH_MAX
from fpga_flow.compiler.hw import MVAU_OP_TYPES, Resources
from fpga_flow.compiler.hw.mvau import LUT_MACS
from fpga_flow.errors import FlowError

RES_KEYS = ("lut", "ff", "dsp", "bram18", "uram")
# weights of one MVAU in LUTRAM at most this share of the board's LUTs (choose_ram_style keeps 1 %)
LUTRAM_LAYER_SHARE = 0.04
# share of the board's DSP slices the fold may use: the DSP estimate is Yosys' count layer by layer
# (the MVAUs' slices and the address products of SWGs and max-pools: vgg16-pruned 181 = 181, vgg16-hcr
# 224 210 = 210, benchmarks/results/resource-model-vs-yosys.json), so it needs none of the margin the
# coarser LUT model keeps (as BRAM: flow/fifo_fit.py BRAM_FIT_FRACTION)
DSP_FIT_FRACTION = 0.95


@lru_cache(maxsize=None)
def _divisors(n: int) -> tuple[int, ...]:
    return tuple(d for d in range(1, n + 1) if n % d == 0)


def divisors(n: int) -> list[int]:
    return list(_divisors(n))


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
    """(node, op) per hardware layer; the ops memoise attributes, so change the nodes through them."""
    return [(n, getCustomOp(n).cache_attributes()) for n in model.graph.node if n.domain == "fpga_flow.compiler.hw"]


def _walk(op, attr: str, maxval: int, target: float, limit=None) -> None:
    for d in divisors(maxval):
        if limit is not None and not limit(d):
            break
        op.set_nodeattr(attr, d)
        if op.exp_cycles() <= target:
            return


def choose_ram_style(op, budget: dict | None) -> None:
    """Weights in LUTRAM ('distributed') when that costs a smaller share of the board than BRAM."""
    if budget is None or ("mem_mode" in op.get_nodeattr_types() and op.get_nodeattr("mem_mode") == "external"):
        return
    op.set_nodeattr("ram_style", "auto")
    r_block = op.resource_estimate()
    op.set_nodeattr("ram_style", "distributed")
    r_dist = op.resource_estimate()
    share_b = r_block.bram18 / max(budget.get("bram18", 0), 1) + r_block.lut / max(budget.get("lut", 0), 1)
    share_d = r_dist.bram18 / max(budget.get("bram18", 0), 1) + r_dist.lut / max(budget.get("lut", 0), 1)
    # small memories only: LUTRAM of one layer at most 1% of the board's LUTs
    if share_b <= share_d or (r_dist.lut - r_block.lut) > 0.01 * budget.get("lut", 0):
        op.set_nodeattr("ram_style", "auto")


def fewest_mac_units(op, target: float, mvau_wwidth_max: int) -> None:
    """Replace the greedy SIMD-then-PE folding by the (PE, SIMD) pair with the fewest MAC units that
    still meets ``target`` (then the fewest PEs: each carries its own thresholds; then SIMD·W_BITS
    within ``mvau_wwidth_max``), when that saves units. The greedy walk overshoots whenever the
    divisors of MW and MH are coarse (e.g. MH = 16 at 5.5 units needed per SIMD lane), and every
    idle unit lowers the achieved fraction of the roofline f·units/MACs."""
    if op.exp_cycles() > target:
        return
    MW, MH, V = op.get_nodeattr("MW"), op.get_nodeattr("MH"), op.V()
    wb = op.weight_bits()
    best = None
    for s_ in divisors(MW):
        for p_ in divisors(MH):
            if (MW // s_) * (MH // p_) * V <= target:
                key = (s_ * p_, p_, s_ * wb > mvau_wwidth_max)
                if best is None or key < best[0]:
                    best = (key, s_, p_)
                break  # larger PE only adds units
    units = op.get_nodeattr("PE") * op.get_nodeattr("SIMD")
    if best is not None and best[0][0] < units:
        op.set_nodeattr("SIMD", best[1])
        op.set_nodeattr("PE", best[2])


def fewest_dsp_slices(op, target: float, mvau_wwidth_max: int) -> tuple[int, int]:
    """Set and return the (PE, SIMD) of a DSP MVAU (resType=dsp) with the fewest DSP slices,
    ceil(PE/K)·SIMD for K products per slice, that meets ``target`` cycles; then the fewest MAC units,
    then SIMD·W_BITS within ``mvau_wwidth_max``. With K > 1, PE in multiples of K fills the slices."""
    MW, MH, V = op.get_nodeattr("MW"), op.get_nodeattr("MH"), op.V()
    wb = op.weight_bits()
    op.set_nodeattr("PE", MH)
    k_max = max(1, op.products_per_dsp())  # the most products per slice (capped by PE, here MH)
    best = None
    for s_ in divisors(MW):
        for p_ in divisors(MH):
            if (MW // s_) * (MH // p_) * V <= target:
                k = min(p_, k_max)
                slices = (p_ // k + (1 if p_ % k >= 2 else 0)) * s_  # as MVAU.dsp_count
                key = (slices, s_ * p_, s_ * wb > mvau_wwidth_max)
                if best is None or key < best[0]:
                    best = (key, p_, s_)
    if best is None:
        raise FlowError(f"layer {op.onnx_node.name}: no folding meets {target:.0f} cycles")
    op.set_nodeattr("PE", best[1])
    op.set_nodeattr("SIMD", best[2])
    return best[1], best[2]


def cheapest_lut_mac(op) -> None:
    """The LUT MAC style (multiplier | bitplane) with the fewer estimated LUTs."""
    best = None
    for style in LUT_MACS:
        op.set_nodeattr("lut_mac", style)
        lut = op.resource_estimate().lut
        if best is None or lut < best[0]:
            best = (lut, style)
    op.set_nodeattr("lut_mac", best[1])


def board_share(r: Resources, budget: dict) -> float:
    """Sum over LUT, DSP and BRAM of the fraction of the board ``r`` takes."""
    return sum(getattr(r, k) / max(budget.get(k, 0), 1) for k in ("lut", "dsp", "bram18"))


def cheapest_mvau_folding(op, target: float, budget: dict | None, unit_slack: float = 1.25) -> None:
    """Among the (PE, SIMD) meeting ``target`` with at most ``unit_slack`` times the fewest MAC units,
    and weights in BRAM or LUTRAM, the one taking the smallest share of the board (board_share) when
    that is smaller than the current one's: a few more units can make the weight memory fit its
    BRAMs (depth just over 512 doubles them; 9 words deep wastes them). Keeps SIMD·W_BITS as is
    when that is within the soft limit."""
    if budget is None or op.get_nodeattr("mem_mode") == "external" or op.exp_cycles() > target:
        return
    MW, MH, V = op.get_nodeattr("MW"), op.get_nodeattr("MH"), op.V()
    cands = [(s_, p_) for s_ in divisors(MW) for p_ in divisors(MH) if (MW // s_) * (MH // p_) * V <= target]
    umin = min(s_ * p_ for s_, p_ in cands)
    cur = (op.get_nodeattr("SIMD"), op.get_nodeattr("PE"), op.get_nodeattr("ram_style"))
    best = (board_share(op.resource_estimate(), budget), cur)
    for s_, p_ in cands:
        if s_ * p_ > unit_slack * umin:
            continue
        op.set_nodeattr("SIMD", s_)
        op.set_nodeattr("PE", p_)
        for style in ("auto", "distributed"):
            op.set_nodeattr("ram_style", style)
            r = op.resource_estimate()
            if style == "distributed":
                if (r.lut - lut_auto) > LUTRAM_LAYER_SHARE * budget.get("lut", 0):
                    continue
            else:
                lut_auto = r.lut
            c = board_share(r, budget)
            if c < best[0] * 0.999:
                best = (c, (s_, p_, style))
    op.set_nodeattr("SIMD", best[1][0])
    op.set_nodeattr("PE", best[1][1])
    op.set_nodeattr("ram_style", best[1][2])


def set_folding(ops, target: float, mvau_wwidth_max: int = MVAU_WWIDTH_MAX, axi_hp_width: int = 64,
                budget: dict | None = None) -> None:
    """FINN SetFolding on every layer for ``target`` cycles (one pass)."""
    for n, op in ops:
        t = n.op_type
        if t in MVAU_OP_TYPES:
            op.set_nodeattr("PE", 1)
            op.set_nodeattr("SIMD", 1)
            wb = op.weight_bits()
            if op.get_nodeattr("mem_mode") == "external":
                # weights stream from DRAM: PE·SIMD·W_BITS <= AXI HP width; smallest product meeting
                # the target, else the widest legal one
                MW, MH = op.get_nodeattr("MW"), op.get_nodeattr("MH")
                pairs = sorted(((s_ * p_, -s_, s_, p_) for s_ in divisors(MW) if s_ * wb <= mvau_wwidth_max
                                for p_ in divisors(MH) if s_ * p_ * wb <= axi_hp_width))
                best = pairs[-1]
                for cand in pairs:
                    if (MW // cand[2]) * (MH // cand[3]) * op.V() <= target:
                        best = cand
                        break
                op.set_nodeattr("SIMD", best[2])
                op.set_nodeattr("PE", best[3])
                continue
            _walk(op, "SIMD", op.get_nodeattr("MW"), target, lambda s: wb * s <= mvau_wwidth_max)
            _walk(op, "PE", op.get_nodeattr("MH"), target)
            if op.exp_cycles() > target:
                # beyond FINN: mvau_wwidth_max is a soft limit here (our weight ROM has no stream width);
                # a layer that misses the target at PE = MH may widen SIMD past it
                _walk(op, "SIMD", op.get_nodeattr("MW"), target)
            fewest_mac_units(op, target, mvau_wwidth_max)
            choose_ram_style(op, budget)
            cheapest_lut_mac(op)
            cheapest_mvau_folding(op, target, budget)
        elif t == "ConvolutionInputGenerator":
            op.set_nodeattr("parallel_window", 0)
            op.set_nodeattr("SIMD", 1)
            _walk(op, "SIMD", op.get_nodeattr("IFMChannels"), target)
            if op.exp_cycles() > target:
                # SIMD = IFMChannels still misses the target (>= K_H·K_W cycles per output pixel):
                # one whole window per cycle (hls/swg_pw.v), where legal and faster
                c_seq = op.exp_cycles()
                op.set_nodeattr("parallel_window", 1)
                if op.check_folding() or op.exp_cycles() >= c_seq:
                    op.set_nodeattr("parallel_window", 0)
            choose_ram_style(op, budget)
        elif t == "StreamingConcat":  # one PE for both inputs
            op.set_nodeattr("PE", 1)
            _walk(op, "PE", math.gcd(*op.get_nodeattr("ChannelsPerStream")), target)
        elif t == "VVAU":  # FINN: PE over the channels, then SIMD over the kernel
            op.set_nodeattr("SIMD", 1)
            op.set_nodeattr("PE", 1)
            _walk(op, "PE", op.get_nodeattr("NumChannels"), target)
            if op.exp_cycles() > target and op.get_nodeattr("PE") == op.get_nodeattr("NumChannels"):
                _walk(op, "SIMD", op.K(), target)
        elif t in ("Thresholding", "GlobalAccPool", "StreamingMaxPool", "UpsampleNearestNeighbour",
                   "DuplicateStreams", "AddStreams", "StreamingMaxPoolIdx", "MaxUnpool"):
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


def hard_limit(ops, mc: int, mvau_wwidth_max: int, hp: int) -> str:
    """Why the design cannot be faster than ``mc`` cycles: the layer whose fastest legal folding
    (for its current mem_mode) still needs >= mc cycles; '' when no single layer is the cause."""
    worst, wname, wop, wlink = 0, "", None, False
    for n, op in ops:
        types = op.get_nodeattr_types()
        saved = {a: op.get_nodeattr(a) for a in ("PE", "SIMD", "ram_style", "parallel_window", "lut_mac") if a in types}
        set_folding([(n, op)], 0.5, mvau_wwidth_max, hp)
        c = op.exp_cycles()
        link_bound = c > op.get_nodeattr("MW") * op.get_nodeattr("MH") * op.V() // (
            op.get_nodeattr("PE") * op.get_nodeattr("SIMD")) if n.op_type == "MVAU" else False
        for a, v in saved.items():
            op.set_nodeattr(a, v)
        if c > worst:
            worst, wname, wop, wlink = c, n.name, op, link_bound
    if wop is None or worst < mc * 0.999:
        return ""
    if "mem_mode" in wop.get_nodeattr_types() and wop.get_nodeattr("mem_mode") == "external":
        if wlink:
            return (f"DRAM bandwidth: layer {wname}'s weights stream from DRAM (on-chip BRAM too small) and "
                    f"the streamed layers share the board's DRAM link ({worst} cycles/frame)")
        return (f"layer {wname}: its weights stream from DRAM (on-chip BRAM too small) at "
                f"PE·SIMD·W_BITS <= {hp} bits/cycle")
    return f"layer {wname} at its maximum parallelism ({worst} cycles/frame)"


def fold(model: ModelWrapper, board, target_fps: float | None = None, budget_fraction: float = 0.85,
         mvau_wwidth_max: int = MVAU_WWIDTH_MAX, best_effort: bool = False,
         bram_budget: float | None = None) -> tuple[ModelWrapper, FoldResult]:
    """Fold ``model`` in place. Raises FlowError when ``target_fps`` is not reachable (message gives
    the best feasible FPS and the limiting layer/resource) unless ``best_effort``.

    ``bram_budget``: BRAM18 the layers may use instead of ``budget_fraction`` of the board's (the flow
    lowers it by the BRAM of the FIFOs sized after the fold: flow/fifo_fit.py)."""
    from fpga_flow.compiler.transforms.dram import share_dram_bandwidth
    from fpga_flow.compiler.transforms.wmem import relieve, stream_candidate

    clk = board.clock_mhz * 1e6
    ops = hw_ops(model)
    budget = board.budget()
    if bram_budget is not None:  # the caps below are budget * budget_fraction
        budget["bram18"] = max(0.0, float(bram_budget)) / budget_fraction
    if budget_fraction < DSP_FIT_FRACTION:
        budget["dsp"] = budget.get("dsp", 0) * DSP_FIT_FRACTION / budget_fraction
    hp = getattr(board, "axi_hp_width", 64)
    mvaus = [(n, op) for n, op in ops if n.op_type in MVAU_OP_TYPES]

    def assign_dsp():
        """Multipliers on DSP slices (resType=dsp) where they save the most LUTs per slice, within the
        DSP budget; a DSP layer takes the folding with the fewest slices at its rate (packed products)."""
        cands = []
        for n, op in mvaus:
            op.set_nodeattr("resType", "lut")
            lut_l = op.resource_estimate().lut
            lut_fold = (op.get_nodeattr("PE"), op.get_nodeattr("SIMD"))
            op.set_nodeattr("resType", "dsp")
            dsp_fold = fewest_dsp_slices(op, op.exp_cycles(), mvau_wwidth_max)
            r_d = op.resource_estimate()
            op.set_nodeattr("resType", "lut")
            op.set_nodeattr("PE", lut_fold[0])
            op.set_nodeattr("SIMD", lut_fold[1])
            if r_d.dsp > 0 and lut_l > r_d.lut:
                cands.append(((lut_l - r_d.lut) / r_d.dsp, r_d.dsp, op, dsp_fold))
        # slices the other layers take (address products of SWGs and max-pools) are not the MVAUs'
        used = sum(op.resource_estimate().dsp for n, op in ops if n.op_type not in MVAU_OP_TYPES)
        for _, d, op, dsp_fold in sorted(cands, key=lambda c: -c[0]):
            if used + d <= budget.get("dsp", 0) * budget_fraction:
                op.set_nodeattr("resType", "dsp")
                op.set_nodeattr("PE", dsp_fold[0])
                op.set_nodeattr("SIMD", dsp_fold[1])
                used += d

    def fold_once(target):
        # PE/SIMD are chosen for ideal weight streams; the DRAM link's share then bounds the
        # streamed layers' cycles (so a throttled layer is not widened for nothing)
        share_dram_bandwidth(ops, None)
        fold_once_ideal_streams(target)
        share_dram_bandwidth(ops, board)

    def fold_once_ideal_streams(target):
        # weights that do not fit in BRAM: first foldings/memory styles with fewer BRAM18 at the same
        # target (transforms/wmem.py); if that is not enough, stream from DRAM the layer that reads the
        # fewest bytes per weight bit it frees and fold again (so no LUTRAM stays where BRAM is free now)
        def mem_fits(r):
            return r.bram18 <= budget["bram18"] * budget_fraction and r.uram <= budget["uram"] * budget_fraction

        while True:
            set_folding(ops, target, mvau_wwidth_max, hp, budget)
            assign_dsp()
            r = totals(ops)[0]
            if not mem_fits(r):
                op = stream_candidate(mvaus)
                r = relieve(mvaus, r, target, budget, budget_fraction, "bram18")
                if not mem_fits(r):
                    if op is None:
                        return
                    op.set_nodeattr("mem_mode", "external")
                    op.set_nodeattr("ram_style", "auto")
                    continue
            if r.lut > budget["lut"] * budget_fraction:
                # LUTs over: weights from LUTRAM into the BRAM left free
                relieve(mvaus, r, target, budget, budget_fraction, "lut")
            return

    first_slow = [""]

    def attempt(target):
        for _, op in mvaus:
            op.set_nodeattr("mem_mode", "internal_decoupled")
        fold_once(target)
        r, mc, slow = totals(ops)
        first_slow[0] = slow  # the layer that missed the target in the first pass
        if mc > target:  # FINN's second pass: relax to the achieved rate
            fold_once(mc)
            r, mc, slow = totals(ops)
        return r, mc, slow

    def feasible(target):
        r, mc, slow = attempt(target)
        ob = over_budget(r, budget, budget_fraction)
        return (not ob and mc <= target * 1.0001), r, mc, slow, ob

    def why_not(target, ob, slow):
        if ob:
            k, u = ob[0]
            return f"resource {k} (a faster folding needs {u:.0%} of the board's {k})"
        return hard_limit(ops, target, mvau_wwidth_max, hp) or f"layer {slow}"

    want = clk / target_fps if target_fps else None
    ok = False
    if want is not None:
        ok, r, mc, slow, ob = feasible(want)
        limiting = f"layer {slow} (target met)"
    if not ok:
        # fastest feasible folding: geometric bisection on the cycle target
        ok1, r1, mc1, _, ob1 = feasible(float("inf"))
        if ob1:
            k, u = ob1[0]
            raise FlowError(f"board {board.name}: even the fully folded design needs {k} = "
                            f"{getattr(r1, k):.0f} ({u:.0%} of the board, limit {budget_fraction:.0%}); "
                            f"largest user: layer {biggest_user(ops, k)}")
        lo, hi = 0.5, float(mc1)
        fastest = (float(mc1), float("inf"))  # (cycles/frame, the target that produced it) of the fastest fit
        lo_info = feasible(lo)
        if lo_info[0]:
            hi = float(lo_info[2])
            fastest = (hi, lo)
        for _ in range(60):
            if hi <= lo * 1.002 or hi - lo < 1:
                break
            mid = math.sqrt(lo * hi)
            info = feasible(mid)
            if info[0]:
                hi = min(float(info[2]), mid)
                fastest = min(fastest, (float(info[2]), mid))
            else:
                lo, lo_info = mid, info
        # fitting is not monotonic in the target (BRAM shapes and the DSP assignment change with
        # the folding), so the bisection can stop short: scan targets down to 1/8 of its result
        top = fastest[0]
        for i in range(1, 49):
            t = top * 8.0 ** (-i / 48)
            info = feasible(t)
            if info[0] and float(info[2]) < fastest[0]:
                fastest = (float(info[2]), t)
        hi = fastest[1]
        limiting = ""
        if not lo_info[0]:
            _, _, mc_lo, _, ob_lo = feasible(lo)  # state of the first infeasible folding
            slow_lo = first_slow[0]
            sop = next(op for n, op in ops if n.name == slow_lo)
            if ob_lo:
                limiting = why_not(lo, ob_lo, slow_lo)
            elif "mem_mode" in sop.get_nodeattr_types() and sop.get_nodeattr("mem_mode") == "external":
                limiting = (f"on-chip memory: a faster folding needs more BRAM, so layer {slow_lo}'s weights "
                            f"must stream from DRAM at PE·SIMD·W_BITS <= {hp} bits/cycle")
        _, r, mc, slow, _ = feasible(hi)
        if not limiting:
            limiting = hard_limit(ops, mc, mvau_wwidth_max, hp) or f"layer {slow_lo if not lo_info[0] else slow}"
    ext = [n.name for n, op in mvaus if op.get_nodeattr("mem_mode") == "external"]
    notes = [f"{e}: weights streamed from DRAM (mem_mode=external): on-chip BRAM too small" for e in ext]
    fps = clk / mc
    met = target_fps is None or fps >= target_fps * (1 - 1e-9)
    res = FoldResult(want, mc, fps, slow, r, budget, not over_budget(r, budget, budget_fraction),
                     met, limiting, ext, notes)
    if target_fps and not met:
        why = limiting
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
