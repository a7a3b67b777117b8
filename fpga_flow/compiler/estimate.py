"""Estimates (per layer and total) from the hardware layer classes; io.json for the host."""

from __future__ import annotations

import math

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import MVAU_OP_TYPES, Resources
from fpga_flow.compiler.roofline import mac_roofline

RES_KEYS = ("lut", "ff", "dsp", "bram18", "uram")


def estimate(model: ModelWrapper, board) -> dict:
    clk = board.clock_mhz * 1e6
    layers = []
    total = Resources()
    max_c, slow, lat = 0, "", 0
    for n in model.graph.node:
        op = getCustomOp(n)
        r = op.resource_estimate()
        c = int(op.exp_cycles())
        total = total + r
        lat += c
        if c > max_c:
            max_c, slow = c, n.name
        d = {"name": n.name, "op_type": n.op_type, "rtl_module": op.rtl_module, "cycles": c,
             "resources": r.to_dict(), "instream_width": op.instream_width(),
             "outstream_width": op.outstream_width(), "source": "estimate"}
        for a in ("PE", "SIMD", "mem_mode", "depth", "resType"):
            if a in op.get_nodeattr_types():
                d[a] = op.get_nodeattr(a)
        if n.op_type in MVAU_OP_TYPES:
            d["weight_bits"] = op.weight_bits_total()
            d["products_per_dsp"] = op.products_per_dsp()
        layers.append(d)
    budget = board.budget()
    util = {k: (getattr(total, k) / budget[k] if budget.get(k) else (0.0 if getattr(total, k) == 0 else math.inf))
            for k in RES_KEYS}
    fps = clk / max_c if max_c else math.inf
    return {
        "source": "estimate",
        "board": board.name, "part": board.part, "clock_mhz": board.clock_mhz,
        "layers": layers,
        "total": {
            "cycles_per_frame": max_c, "slowest_layer": slow, "fps": fps,
            "latency_cycles": lat, "latency_ms": lat / clk * 1e3,
            "resources": total.to_dict(), "budget": budget,
            "utilization": {k: (round(v, 4) if math.isfinite(v) else None) for k, v in util.items()},
            "fits": all(v <= 1.0 for v in util.values()),
            "external_weights": [ly["name"] for ly in layers if ly.get("mem_mode") == "external"],
            "roofline": mac_roofline(model, board),
        },
    }


def io_spec(model: ModelWrapper, io: dict) -> dict:
    """io.json: host view of the accelerator (FINN driver's io_shape_dict plus the float mapping)."""
    g = model.graph
    first = getCustomOp(next(n for n in g.node if g.input[0].name in n.input))
    last = getCustomOp(next(n for n in g.node if g.output[0].name in n.output))
    out = {"input": dict(io["input"]), "output": dict(io["output"])}
    i, o = out["input"], out["output"]
    i["datatype"] = first.input_datatype().name
    i["shape"] = list(first.normal_input_shape()) if len(first.normal_input_shape()) == 4 else i["shape"]
    i["folded_shape"] = list(first.folded_input_shape())
    i["packed_shape"] = list(first.folded_input_shape()[:-1]) + [math.ceil(first.instream_width() / 8)]
    i["stream_width"] = first.instream_width()
    i["host_transform"] = ("x_int = clip(round(x / scale + zero_point), qmin, qmax) in qonnx layout, "
                           "then transposed to NHWC")
    o["datatype"] = last.output_datatype().name
    o["shape"] = list(last.normal_output_shape())
    o["folded_shape"] = list(last.folded_output_shape())
    o["packed_shape"] = list(last.folded_output_shape()[:-1]) + [math.ceil(last.outstream_width() / 8)]
    o["stream_width"] = last.outstream_width()
    o["host_transform"] = ("y = steps applied in order to the integer output (per-channel a/b vectors over the "
                           "last NHWC axis), then argmax over channels if host_argmax, then transposed to the "
                           "qonnx layout")
    o["scale_bias"] = _affine_of(io["output"]["steps"], o["shape"][-1])
    return out


def _affine_of(steps, C):
    """If the output chain is affine: per-channel scale and bias (y = scale*int + bias), else None."""
    from fpga_flow.compiler.transforms.chain import Step, affine_of

    ab = affine_of([Step.from_json(d) for d in steps], C)
    if ab is None:
        return None
    return {"scale": ab[0].astype(float).tolist(), "bias": ab[1].astype(float).tolist()}
