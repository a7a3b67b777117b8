"""The linear chain of RTL stages of a folded hardware graph (layers, width converters, FIFOs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.compiler.hw import MVAU_MODULES
from fpga_flow.compiler.hw.stream import fifo_ram_style

STREAM_OPS = ("StreamingFIFO", "StreamingDataWidthConverter")
DEFAULT_FIFO_DEPTH = 2


def vname(name: str) -> str:
    """A Verilog identifier from a node name."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if re.match(r"[A-Za-z_]", s) else f"n_{s}"


@dataclass
class Stage:
    name: str                      # Verilog instance name (from the node name)
    node: str                      # ONNX node name ("" for stages codegen inserted)
    op_type: str
    module: str                    # hls/ module
    params: dict                   # RTL parameters (memory parameters -> file names)
    memories: dict = field(default_factory=dict)   # param -> $readmemh lines
    in_width: int = 0
    out_width: int = 0
    in_words: int = 0              # words per frame on the input stream
    out_words: int = 0
    exp_cycles: int = 0
    ext_weights: dict | None = None   # mem_mode=external: {"width", "depth", "file", "words_per_frame"}

    @property
    def is_fifo(self) -> bool:
        return self.module == "fifo"


@dataclass
class Chain:
    stages: list[Stage]
    in_dtype: object               # qonnx DataType of the design input
    out_dtype: object
    in_shape: tuple                # normal (NHWC) shape of one frame, batch 1
    out_shape: tuple
    in_fold: int
    out_fold: int

    @property
    def in_width(self) -> int:
        return self.stages[0].in_width

    @property
    def out_width(self) -> int:
        return self.stages[-1].out_width

    def fifos(self) -> list[Stage]:
        return [s for s in self.stages if s.is_fifo]


def _ordered_nodes(model):
    g = model.graph
    if not g.node:
        raise FlowError("dataflow graph has no nodes")
    prod = {n.output[0]: n for n in g.node}
    order, t = [], g.output[0].name
    while t in prod:
        n = prod[t]
        order.append(n)
        t = n.input[0]
    if t != g.input[0].name or len(order) != len(g.node):
        raise FlowError("dataflow graph is not a linear chain of hardware nodes "
                        f"({len(order)} of {len(g.node)} nodes reach the output from the input)")
    return order[::-1]


def _stage_of(node, op, used: set[str]) -> Stage:
    name = vname(node.name or node.op_type)
    base, k = name, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    mod = op.rtl_module
    if not mod:
        raise FlowError(f"node {node.name}: {node.op_type} has no RTL module")
    errs = op.check_folding() if hasattr(op, "check_folding") else []
    if errs:
        raise FlowError(f"node {node.name}: illegal folding: {'; '.join(errs)}")
    params = dict(op.rtl_parameters())
    mems = {k: v for k, v in dict(op.rtl_memories()).items() if v}
    for k in mems:
        params[k] = f"mem/{name}_{k.lower().replace('_file', '')}.mem"
    ishape, oshape = op.normal_input_shape(), op.normal_output_shape()
    ext = None
    if mod in MVAU_MODULES:
        is_ext = "mem_mode" in op.get_nodeattr_types() and op.get_nodeattr("mem_mode") == "external"
        params["EXT_WEIGHTS"] = int(is_ext)
        if is_ext:
            p = params
            depth = (p["MH"] // p["PE"]) * (p["MW"] // p["SIMD"])
            width = p["PE"] * p["SIMD"] * p.get("W_BITS", 1)
            throttled = "ext_bw_num" in op.get_nodeattr_types()
            ext = {"width": width, "depth": depth, "file": p["WEIGHT_FILE"],
                   "words_per_frame": depth * int(np.prod(ishape[:-1])),
                   # the layer's share of the board's DRAM bandwidth (bytes/cycle = num/den; 0: ideal)
                   "rate_num": int(op.get_nodeattr("ext_bw_num")) if throttled else 0,
                   "rate_den": int(op.get_nodeattr("ext_bw_den")) if throttled else 1,
                   "word_bytes": -(-width // 8)}
    return Stage(name=name, node=node.name, op_type=node.op_type, module=mod, params=params, memories=mems,
                 in_width=op.instream_width(), out_width=op.outstream_width(),
                 in_words=int(np.prod(ishape)) // op.in_fold(), out_words=int(np.prod(oshape)) // op.out_fold(),
                 exp_cycles=int(op.exp_cycles()), ext_weights=ext)


def build_chain(model, fifo_depths: dict | None = None, default_depth: int = DEFAULT_FIFO_DEPTH) -> Chain:
    """Stages of ``model`` (a qonnx ModelWrapper of hw nodes) in stream order.

    A width converter is inserted where neighbours' words differ and the graph has none, and a
    FIFO between every two compute layers; ``fifo_depths`` (stage name -> depth) overrides the
    depths of all FIFOs, inserted or not.
    """
    from qonnx.custom_op.registry import getCustomOp

    fifo_depths = fifo_depths or {}
    nodes = _ordered_nodes(model)
    ops = [getCustomOp(n) for n in nodes]
    used: set[str] = set()
    stages: list[Stage] = []
    explicit_style: set[str] = set()  # FIFOs whose node sets ram_style (e.g. from a folding config)
    n_ins = 0
    for i, (n, op) in enumerate(zip(nodes, ops)):
        st = _stage_of(n, op, used)
        if st.is_fifo and op.get_nodeattr("ram_style") != "auto":
            explicit_style.add(st.name)
        if stages and st.module == "dwc" and stages[-1].module == "dwc":
            # hls/dwc converts any pair of widths: one converter instead of a chain (FINN's RTL DWC
            # needs integer ratios, so the compiler may split e.g. 8->36 bits into 8->4->36, and the
            # 4-bit middle stream would cost 2x the cycles)
            prev = stages[-1]
            prev.out_width, prev.out_words = st.out_width, st.out_words
            prev.params["OUT_WIDTH"] = st.out_width
            if "NUM_IN_WORDS" in prev.params:
                prev.params["NUM_IN_WORDS"] = prev.in_words
            prev.node = f"{prev.node}+{st.node}"
            continue
        if stages:
            prev = stages[-1]
            if prev.out_width != st.in_width and n.op_type != "StreamingDataWidthConverter" \
                    and prev.op_type != "StreamingDataWidthConverter":
                nm = f"dwc_ins{n_ins}"; n_ins += 1
                stages.append(Stage(nm, "", "StreamingDataWidthConverter", "dwc",
                                    {"IN_WIDTH": prev.out_width, "OUT_WIDTH": st.in_width},
                                    in_width=prev.out_width, out_width=st.in_width,
                                    in_words=prev.out_words, out_words=st.in_words))
            prev = stages[-1]
            if not prev.is_fifo and st.module != "fifo" and st.module != "dwc":
                nm = f"fifo_ins{n_ins}"; n_ins += 1
                stages.append(Stage(nm, "", "StreamingFIFO", "fifo", {"WIDTH": st.in_width, "DEPTH": default_depth},
                                    in_width=st.in_width, out_width=st.in_width,
                                    in_words=st.in_words, out_words=st.in_words))
        stages.append(st)
    for s in stages:
        if s.is_fifo:
            if s.name in fifo_depths:
                s.params["DEPTH"] = max(1, int(fifo_depths[s.name]))
            if s.name not in explicit_style:  # the rule again, for the sized depth
                s.params["RAM_STYLE"] = fifo_ram_style(s.params["WIDTH"], s.params["DEPTH"])
    for a, b in zip(stages, stages[1:]):
        if a.out_width != b.in_width:
            raise FlowError(f"stream width mismatch between {a.name} ({a.out_width} bits) and "
                            f"{b.name} ({b.in_width} bits)")
    first, last = ops[0], ops[-1]
    return Chain(stages, first.input_datatype(), last.output_datatype(), tuple(first.normal_input_shape()),
                 tuple(last.normal_output_shape()), first.in_fold(), last.out_fold())
