"""FIFO depths from the cycle model, before any simulation: the FIFOs' BRAM the fold should leave free.

rtlsim sizing (sim/rtlsim.py ``size_fifos``) runs after the fold, so a first fold that spends the BRAM
on weights has to be redone once the sized FIFOs are counted (flow/fifo_fit.py), and each round costs a
sizing simulation (vgg16-hcr 224 on Pynq-Z2: two rounds). The FIFOs that take BRAM are those between
layers that move data a row at a time: a sliding window generator waits for K-1 input rows and then
emits a row of windows; a max-pool emits every K-th row; an MVAU consumes its input in bursts of SF
words and replays them NF times. What the sizing measures there is a share of one image row of the
stream (vgg16-hcr 224: 0.2 to 1.4 rows per FIFO, most near half a row), capped by the sizing's
uniform cap (``size_fifos`` keeps the first cap of 32/256/1024/4096 that holds the cycles: 1024
there). So each FIFO is estimated at a share of its stream's row (``ROW_SHARES``), rounded as the sizing
rounds (``round_depth``), at most ``RESERVE_CAP`` words; a stream without rows (a vector) gets 2 words.

This is an estimate for the budget only: the depths built are still the sized ones, and the loop of
fifo_fit.py stays the fallback when the sized FIFOs take more than was reserved.
"""

from __future__ import annotations

import math
from pathlib import Path

# shares of an image row of the stream a FIFO is estimated to hold, and the most words it may hold. The
# sized depths of vgg16-hcr 224 sit around half a row, where the sizing's rounding to a power of two
# doubles a FIFO's BRAM (512 -> 1,024 words), so the reserve is the mean of the BRAM at a share below
# and one above: 51 BRAM18 (sized: 56) on the folding that fits at 73.8 FPS, 45 (sized: 44) at 68.1
# FPS; each share alone is off by up to 24 (0.45: 38 and 32; 0.65: 63 and 58)
ROW_SHARES = (0.45, 0.65)
RESERVE_CAP = 1024
# added to the reserve: the estimate missed the sized FIFOs by -5 to +1 BRAM18 on those foldings, and
# a reserve 1 short costs a second sizing simulation (vgg16-hcr 224 at 76.7 FPS: 51 reserved, 52 sized)
RESERVE_MARGIN = 0.06


def row_estimate(words_per_frame: int, rows: int, share: float) -> int:
    """Depth for a FIFO whose stream carries ``words_per_frame`` words in ``rows`` image rows."""
    from fpga_flow.sim.rtlsim import round_depth

    if rows <= 1:
        return 2
    return min(RESERVE_CAP, round_depth(int(share * words_per_frame / rows)))


def fifo_streams(model) -> dict[str, tuple[int, int]]:
    """Each FIFO codegen builds for ``model``: stage name -> (words per frame, image rows of its stream)."""
    from qonnx.custom_op.registry import getCustomOp

    from fpga_flow.codegen import build_chain

    nodes = {n.name: n for n in model.graph.node}
    out = {}
    for s in build_chain(model, {}).fifos():
        n = nodes.get((s.node or "").split("+")[0])
        shape = getCustomOp(n).normal_input_shape() if n is not None else ()
        out[s.name] = (int(s.in_words), int(shape[1]) if len(shape) == 4 else 1)
    return out


def analytic_depths(model, share: float, streams: dict[str, tuple[int, int]] | None = None) -> dict[str, int]:
    """Estimated depth of each FIFO codegen builds for ``model`` (stage name -> words); ``streams``:
    ``fifo_streams(model)`` when already known."""
    streams = fifo_streams(model) if streams is None else streams
    return {name: row_estimate(words, rows, share) for name, (words, rows) in streams.items()}


def reserved_fifo_bram(bdir: Path) -> int:
    """BRAM18 to reserve for the FIFOs of ``bdir/dataflow.onnx``: the mean over ``ROW_SHARES`` of their
    BRAM at the estimated depths, plus ``RESERVE_MARGIN`` of it (rounded up)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from fpga_flow.flow.fifo_fit import sized_fifo_bram

    model = ModelWrapper(str(Path(bdir) / "dataflow.onnx"))
    streams = fifo_streams(model)
    n = [sum(sized_fifo_bram(bdir, analytic_depths(model, k, streams)).values()) for k in ROW_SHARES]
    return math.ceil(sum(n) / len(n) * (1 + RESERVE_MARGIN))
