"""Weight memories that overflow the board's BRAM: on-chip remedies first, DRAM streaming last.

At a cycle target, every MVAU whose weights are on chip can trade BRAM for other resources without
getting slower than the target:

* another (PE, SIMD) that still meets the target: a narrower, deeper ROM packs its RAMB18s better
  (a 288-bit word 9 deep takes 8 BRAM18 for 2.6 Kbit; the same weights 36 bits wide take 1);
* LUTRAM (``ram_style=distributed``: about one LUT per 64 bits, cheap for shallow ROMs);
* URAM (``ram_style=ultra``) on boards that have it, once hls/ can build a URAM ROM (``URAM_WEIGHTS``).

:func:`relieve` applies such moves greedily, the one that frees a BRAM18 for the smallest share of
the board's LUTs/DSPs/URAMs first, until BRAM fits or no move is left within the budget (and, the other
way round, moves LUTRAM weights into free BRAM when LUTs are what overflows). Only then does
the fold stream a layer's weights from DRAM (``mem_mode=external``), and it picks the layer that reads
the fewest DRAM bytes per frame for each weight bit it frees (:func:`stream_candidate`): a 14x14 layer
re-reads its weights 196 times a frame, a 56x56 layer 3,136 times. Streamed weights bound the whole
design at the DRAM link's rate, so the outer search over the cycle target (``fold.fold``) then prefers
any slower on-chip folding that is still faster than the DRAM-bound one.
"""

from __future__ import annotations

from functools import lru_cache

from fpga_flow.compiler.hw import Resources

# weight-memory styles the fold may move a layer to. Not "ultra": hls/mvau_ctrl.v has no URAM ROM (an
# UltraRAM has no initial content, so it needs a weight loader) and builds ram_style=ultra as BRAM, so
# an estimate counting URAM would fit a design that synthesis does not. A folding config may still set it.
URAM_WEIGHTS = False
RELIEF_STYLES = ("auto", "distributed") + (("ultra",) if URAM_WEIGHTS else ())


@lru_cache(maxsize=None)
def divisors(n: int) -> tuple[int, ...]:
    return tuple(d for d in range(1, n + 1) if n % d == 0)


def _state(op) -> tuple:
    return op.get_nodeattr("SIMD"), op.get_nodeattr("PE"), op.get_nodeattr("ram_style")


def _set(op, state: tuple) -> None:
    for a, v in zip(("SIMD", "PE", "ram_style"), state):
        if op.get_nodeattr(a) != v:
            op.set_nodeattr(a, v)


def layer_options(op, target: float, budget: dict) -> list[tuple[tuple, Resources]]:
    """(state, resources) of the foldings of ``op`` that meet ``target`` with the fewest PEs for each
    SIMD (more PEs only widen the ROM), in each weight-memory style the board has."""
    MW, MH, V = op.get_nodeattr("MW"), op.get_nodeattr("MH"), op.V()
    styles = [s for s in RELIEF_STYLES if s != "ultra" or budget.get("uram", 0) > 0]
    cur = _state(op)
    out = []
    for s_ in divisors(MW):
        p_ = next((p for p in divisors(MH) if (MW // s_) * (MH // p) * V <= target), None)
        if p_ is None:
            continue
        for style in styles:
            _set(op, (s_, p_, style))
            out.append(((s_, p_, style), op.resource_estimate()))
    _set(op, cur)
    return out


KEYS = ("lut", "dsp", "bram18", "uram")


def _cost(d: Resources, budget: dict, key: str) -> float:
    """Share of the board a move adds in the resources other than ``key`` (negative: it frees some)."""
    return sum(getattr(d, k) / max(budget.get(k, 0), 1) for k in KEYS if k != key)


def relieve(mvaus, total: Resources, target: float, budget: dict, frac: float, key: str = "bram18") -> Resources:
    """Move on-chip MVAUs (``mvaus``: (node, op) pairs) to foldings/weight-memory styles that use less
    of resource ``key`` (bram18 | lut) and still meet ``target``, the cheapest per unit freed first, while
    the design's ``key`` exceeds ``frac`` of the budget and the moves keep the other resources within
    it. Returns the new total (``total`` is the design's before)."""
    cap = {k: budget.get(k, 0) * frac for k in KEYS}
    live = [op for _, op in mvaus if op.get_nodeattr("mem_mode") != "external"]
    cache: dict[int, tuple[Resources, list]] = {}
    while getattr(total, key) > cap[key]:
        best = None
        for op in live:
            if id(op) not in cache:
                r0 = op.resource_estimate()
                useful = r0.bram18 > 0 if key == "bram18" else op.get_nodeattr("ram_style") == "distributed"
                cache[id(op)] = (r0, layer_options(op, target, budget) if useful else [])
            r0, opts = cache[id(op)]
            for state, r in opts:
                freed = getattr(r0, key) - getattr(r, key)
                if freed <= 0:
                    continue
                d = r - r0
                new = total + d
                if any(getattr(new, k) > cap[k] and getattr(d, k) > 0 for k in KEYS if k != key):
                    continue
                rank = (_cost(d, budget, key) / freed * max(budget.get(key, 0), 1), -freed)
                if best is None or rank < best[0]:
                    best = (rank, op, state, d)
        if best is None:
            break
        _, op, state, d = best
        _set(op, state)
        total = total + d
        cache.pop(id(op))
    return total


def stream_candidate(mvaus):
    """The on-chip MVAU to stream from DRAM next: the fewest DRAM bytes per frame for each weight bit it
    takes off the chip, i.e. the fewest input vectors V (it re-reads its weights V times a frame); of
    those the largest. Only layers with at least one BRAM18 of weights (18 Kbit); None when there is none."""
    best = None
    for n, op in mvaus:
        if op.get_nodeattr("mem_mode") == "external":
            continue
        bits = op.get_nodeattr("MW") * op.get_nodeattr("MH") * op.weight_bits()
        if bits < 18432:
            continue
        key = (op.V(), -bits, n.name)
        if best is None or key < best[0]:
            best = (key, op)
    return None if best is None else best[1]
