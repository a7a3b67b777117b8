"""MAC rooflines of a folded hardware graph: what its MAC units allow, and what the board allows.

* ``roofline_fps`` = f_clk · MAC units / MACs per frame, the units being every MVAU's PE·SIMD
  products per cycle, whether on LUTs, one per DSP slice or several per DSP slice (hls/dsp_pack.v).
* ``physical_fps``: the same with every DSP slice of the board packed as far as the dominant
  weight/input widths allow and every LUT of the board spent on LUT MACs (multiplier and adder tree
  of the MVAU's LUT model): an upper bound no folding can pass, whatever the memories and FIFOs need.
"""

from __future__ import annotations

import math

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw.mvau import LUT_FIT, max_dsp_pack


def lut_mac_cost(w_bits: int, in_bits: int, simd: int = 32) -> float:
    """LUTs of one LUT MAC in hls/mvau.v by its LUT model (MVAU.lut_terms with LUT_FIT): a multiplier
    and its adder-tree leaf, or bit-plane leaves, whichever is fewer (folding picks the cheaper)."""
    lg = math.log2(simd)
    mult = LUT_FIT["mult"] * (w_bits * in_bits) ** 1.4 + LUT_FIT["tree"] * (w_bits + in_bits + lg)
    bitplane = LUT_FIT["bitplane"] * in_bits * (w_bits + 1)
    return min(mult, bitplane)


def mac_roofline(model: ModelWrapper, board) -> dict:
    clk = board.clock_mhz * 1e6
    units = macs = dsp_units = slices = 0
    by_width: dict[tuple[int, int], int] = {}
    for n in model.graph.node:
        if n.op_type != "MVAU":
            continue
        op = getCustomOp(n)
        pe, simd = op.get_nodeattr("PE"), op.get_nodeattr("SIMD")
        m = op.get_nodeattr("MW") * op.get_nodeattr("MH") * op.V()
        units += pe * simd
        macs += m
        if op.products_per_dsp():
            dsp_units += pe * simd
            slices += op.dsp_count()
        key = (op.weight_bits(), op.input_datatype().bitwidth())
        by_width[key] = by_width.get(key, 0) + m
    if not macs:
        return {}
    w, a = max(by_width, key=by_width.get)
    res = board.budget()  # the whole board's resources
    k = max_dsp_pack(w, a)
    phys_units = res.get("dsp", 0) * k + res.get("lut", 0) / lut_mac_cost(w, a)
    return {
        "mac_units": units, "dsp_mac_units": dsp_units, "dsp_slices": slices, "macs_per_frame": macs,
        "roofline_fps": clk * units / macs,
        "physical": {"widths": f"W{w}A{a}", "products_per_dsp": k, "lut_per_mac": round(lut_mac_cost(w, a), 1),
                     "mac_units": round(phys_units), "physical_fps": clk * phys_units / macs},
        "source": "estimate",
    }
