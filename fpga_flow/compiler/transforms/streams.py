"""Insert StreamingDataWidthConverter where a producer's word (out_fold elements) differs from the
consumer's (in_fold), and a StreamingFIFO between every two layers."""

from __future__ import annotations

import math

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import make_hw_node

STREAM_OPS = ("StreamingFIFO", "StreamingDataWidthConverter")


def strip_streams(model: ModelWrapper) -> ModelWrapper:
    """Remove DWCs and FIFOs (so folding can be redone)."""
    g = model.graph
    for n in [n for n in g.node if n.op_type in STREAM_OPS]:
        src, dst = n.input[0], n.output[0]
        for m in g.node:
            for i, t in enumerate(m.input):
                if t == dst:
                    m.input[i] = src
        if g.output[0].name == dst:
            prod = model.find_producer(src)
            prod.output[0] = dst if prod is not None else src
        g.node.remove(n)
    return model


class InsertStreams:
    """On every edge producer -> consumer (input port k), a DWC chain where the producer's word
    differs from the consumer's, then a FIFO; forks and joins have one edge per port."""

    def __init__(self, fifo_depth: int = 32):
        self.fifo_depth = fifo_depth

    def apply(self, model: ModelWrapper):
        from fpga_flow.compiler.dag import consumers_of

        g = model.graph
        nodes = list(g.node)
        readers = consumers_of(model)
        new = []
        k_dwc = k_fifo = 0
        for n in nodes:
            new.append(n)
            a = getCustomOp(n)
            for t in n.output:
                for nxt in readers.get(t, []):
                    b = getCustomOp(nxt)
                    port = list(nxt.input).index(t)
                    shape = list(a.normal_output_shape())
                    dtype = a.output_datatype().name
                    fa = a.out_fold()
                    fb = b.in_folds()[port] if hasattr(b, "in_folds") else b.in_fold()
                    chain = []
                    if fa != fb:
                        if max(fa, fb) % min(fa, fb) == 0:
                            chain = [(fa, fb)]
                        else:
                            gcd = math.gcd(fa, fb)
                            chain = [(fa, gcd), (gcd, fb)]
                        # across a flatten (pool (1,4,4,C) -> MVAU (1,1,1,16C)) a fold may not divide the
                        # producer's channels: the converter regroups the same stream in the consumer's shape
                        bshape = list(b.normal_input_shape())
                        if len(nxt.input) == 1 and any(shape[-1] % f for f in (fa, fb)) \
                                and math.prod(bshape) == math.prod(shape) and not any(bshape[-1] % f for f in (fa, fb)):
                            shape = bshape
                    stages = [("dwc", f1, f2) for f1, f2 in chain] + [("fifo", fb, fb)]
                    cur = t
                    for kind, f1, f2 in stages:
                        out = f"{t}_{kind}{k_dwc if kind == 'dwc' else k_fifo}"
                        model.set_tensor_shape(out, shape)
                        model.set_tensor_datatype(out, a.output_datatype())
                        if kind == "dwc":
                            nd = make_hw_node("StreamingDataWidthConverter", cur, out,
                                              f"StreamingDataWidthConverter_{k_dwc}",
                                              shape=shape, inFold=f1, outFold=f2, dataType=dtype)
                            k_dwc += 1
                        else:
                            nd = make_hw_node("StreamingFIFO", cur, out, f"StreamingFIFO_{k_fifo}", shape=shape,
                                              fold=f1, depth=self.fifo_depth, dataType=dtype)
                            k_fifo += 1
                        new.append(nd)
                        cur = out
                    nxt.input[port] = cur
        del g.node[:]
        g.node.extend(new)
        if any(len(n.input) > 1 or len(n.output) > 1 for n in new):
            size_branch_fifos(model)
        return model, False


def size_branch_fifos(model: ModelWrapper) -> None:
    """The last FIFO of the shorter branch of every fork/join gets the depth codegen's buffering
    model asks for (``codegen.stages.Branch``), so estimates count it and the RTL has it."""
    from fpga_flow.codegen.stages import build_chain, vname

    chain = build_chain(model)
    by_stage = {vname(n.name): n for n in model.graph.node if n.op_type == "StreamingFIFO"}
    for b in chain.branches:
        if b.need and b.fifo in by_stage:
            op = getCustomOp(by_stage[b.fifo])
            op.set_nodeattr("depth", max(op.get_nodeattr("depth"), b.need))
