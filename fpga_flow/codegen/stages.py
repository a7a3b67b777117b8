"""The RTL stages of a folded hardware graph (layers, width converters, FIFOs) and the streams
between them: a chain, or a DAG with forks (DuplicateStreams) and joins (AddStreams,
StreamingConcat). Branch FIFOs are sized here from the layers' buffering model (see ``Branch``)."""

from __future__ import annotations

import math
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
    in_width: int = 0              # of input 0 / output 0
    out_width: int = 0
    in_words: int = 0              # words per frame on input 0
    out_words: int = 0
    exp_cycles: int = 0
    ext_weights: dict | None = None   # mem_mode=external: {"width", "depth", "file", "words_per_frame"}
    ins: list = field(default_factory=list)        # stream ids of the inputs (port order)
    outs: list = field(default_factory=list)       # stream ids of the outputs
    in_widths: list = field(default_factory=list)
    out_widths: list = field(default_factory=list)
    buffered_words: int = 2        # input words it may take before its output drains (branch sizing)

    @property
    def is_fifo(self) -> bool:
        return self.module == "fifo"

    def buffered_fraction(self) -> float:
        """Share of a frame this stage can hold back (FIFO: its depth)."""
        held = int(self.params["DEPTH"]) + 1 if self.is_fifo else self.buffered_words
        return held / max(1, self.in_words)


@dataclass
class Branch:
    """Path ``port`` of the join ``join`` back to the fork ``fork``: the stages between them.

    A fork takes its next word only when every branch took the previous one, so while the longer
    branch fills (SWG line buffers, a slow MVAU, its FIFOs) the shorter one has to hold the words
    the join cannot take yet: ``need`` words in its last FIFO (``fifo``), from the other branch's
    share of a frame held back (``Stage.buffered_fraction``) times the FIFO's words per frame."""

    fork: str
    join: str
    port: int
    path: list                     # stage names, fork side first
    fifo: str | None = None        # last FIFO on the path (the one that is sized)
    need: int = 0                  # words it needs (0: this is the longer branch)


@dataclass
class Chain:
    stages: list[Stage]
    in_dtype: object               # qonnx DataType of the design input
    out_dtype: object
    in_shape: tuple                # normal (NHWC) shape of one frame, batch 1
    out_shape: tuple
    in_fold: int
    out_fold: int
    widths: list = field(default_factory=list)     # bits of each stream (stream 0 = design input)
    out_stream: int = 0
    branches: list = field(default_factory=list)   # Branch per join input (empty for a chain)

    @property
    def in_width(self) -> int:
        return self.widths[0]

    @property
    def out_width(self) -> int:
        return self.widths[self.out_stream]

    @property
    def n_streams(self) -> int:
        return len(self.widths)

    def fifos(self) -> list[Stage]:
        return [s for s in self.stages if s.is_fifo]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def _ordered_nodes(model):
    from fpga_flow.compiler.dag import topo_nodes

    return topo_nodes(model)


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
    ishape = op.normal_input_shape()
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
    in_ws, out_ws = list(op.instream_widths()), list(op.outstream_widths())
    in_wd, out_wd = list(op.input_words()), list(op.output_words())
    return Stage(name=name, node=node.name, op_type=node.op_type, module=mod, params=params, memories=mems,
                 in_width=in_ws[0], out_width=out_ws[0], in_words=in_wd[0], out_words=out_wd[0],
                 exp_cycles=int(op.exp_cycles()), ext_weights=ext, in_widths=in_ws, out_widths=out_ws,
                 buffered_words=int(op.buffered_input_words()))


@dataclass
class _Src:
    stage: Stage | None            # producer (None: the design input)
    stream: int
    width: int
    words: int


def build_chain(model, fifo_depths: dict | None = None, default_depth: int = DEFAULT_FIFO_DEPTH) -> Chain:
    """Stages of ``model`` (a qonnx ModelWrapper of hw nodes) in stream order.

    A width converter is inserted where neighbours' words differ and the graph has none, and a
    FIFO between every two compute layers; ``fifo_depths`` (stage name -> depth) overrides the
    depths of all FIFOs, inserted or not. Without an override, the last FIFO of the shorter branch
    of a fork/join gets at least the depth the buffering model asks for (``Branch.need``).
    """
    from qonnx.custom_op.registry import getCustomOp

    fifo_depths = fifo_depths or {}
    nodes = _ordered_nodes(model)
    ops = [getCustomOp(n) for n in nodes]
    g = model.graph
    used: set[str] = set()
    stages: list[Stage] = []
    widths: list[int] = []
    explicit_style: set[str] = set()  # FIFOs whose node sets ram_style (e.g. from a folding config)
    n_ins = 0
    src: dict[str, _Src] = {}
    first_op = None

    def new_stream(w: int) -> int:
        widths.append(w)
        return len(widths) - 1

    def inserted(kind: str, cur: _Src, width_out: int, words_out: int, params: dict) -> _Src:
        nonlocal n_ins
        nm = f"{'dwc' if kind == 'dwc' else 'fifo'}_ins{n_ins}"
        n_ins += 1
        out = new_stream(width_out)
        st = Stage(nm, "", "StreamingDataWidthConverter" if kind == "dwc" else "StreamingFIFO", kind, params,
                   in_width=cur.width, out_width=width_out, in_words=cur.words, out_words=words_out,
                   ins=[cur.stream], outs=[out], in_widths=[cur.width], out_widths=[width_out])
        stages.append(st)
        return _Src(st, out, width_out, words_out)

    for n, op in zip(nodes, ops):
        st = _stage_of(n, op, used)
        if st.is_fifo and op.get_nodeattr("ram_style") != "auto":
            explicit_style.add(st.name)
        if any(i == g.input[0].name for i in n.input) and first_op is None:
            first_op = op
            widths.append(st.in_widths[list(n.input).index(g.input[0].name)])
            src[g.input[0].name] = _Src(None, 0, widths[0], st.in_words)
        prod = src[n.input[0]].stage
        if st.module == "dwc" and prod is not None and prod.module == "dwc":
            # hls/dwc converts any pair of widths: one converter instead of a chain (FINN's RTL DWC
            # needs integer ratios, so the compiler may split e.g. 8->36 bits into 8->4->36, and the
            # 4-bit middle stream would cost 2x the cycles)
            prod.out_width, prod.out_words = st.out_width, st.out_words
            prod.out_widths = [st.out_width]
            prod.params["OUT_WIDTH"] = st.out_width
            if "NUM_IN_WORDS" in prod.params:
                prod.params["NUM_IN_WORDS"] = prod.in_words
            prod.node = f"{prod.node}+{st.node}"
            widths[prod.outs[0]] = st.out_width
            src[n.output[0]] = _Src(prod, prod.outs[0], st.out_width, st.out_words)
            continue
        for k, t in enumerate(n.input):
            cur = src[t]
            if cur.stage is not None:
                if cur.width != st.in_widths[k] and st.module != "dwc" and cur.stage.module != "dwc":
                    cur = inserted("dwc", cur, st.in_widths[k], op.input_words()[k],
                                   {"IN_WIDTH": cur.width, "OUT_WIDTH": st.in_widths[k]})
                if not cur.stage.is_fifo and st.module not in ("fifo", "dwc"):
                    cur = inserted("fifo", cur, cur.width, cur.words, {"WIDTH": cur.width, "DEPTH": default_depth})
            st.ins.append(cur.stream)
            if cur.width != st.in_widths[k]:
                who = cur.stage.name if cur.stage is not None else "the design input"
                raise FlowError(f"stream width mismatch between {who} ({cur.width} bits) and "
                                f"{st.name} ({st.in_widths[k]} bits)")
        for k, o in enumerate(n.output):
            sid = new_stream(st.out_widths[k])
            st.outs.append(sid)
            src[o] = _Src(st, sid, st.out_widths[k], op.output_words()[k])
        stages.append(st)
    for s in stages:
        if s.is_fifo and s.name in fifo_depths:
            s.params["DEPTH"] = max(1, int(fifo_depths[s.name]))
    branches = find_branches(stages)
    for b in branches:
        if b.fifo and b.fifo not in fifo_depths and b.need:
            f = next(s for s in stages if s.name == b.fifo)
            f.params["DEPTH"] = max(int(f.params["DEPTH"]), b.need)
    for s in stages:
        if s.is_fifo and s.name not in explicit_style:  # the rule again, for the sized depth
            s.params["RAM_STYLE"] = fifo_ram_style(s.params["WIDTH"], s.params["DEPTH"])
    gout = g.output[0].name
    last_op = ops[[i for i, n in enumerate(nodes) if gout in n.output][0]]
    return Chain(stages, first_op.input_datatype(), last_op.output_datatype(), tuple(first_op.normal_input_shape()),
                 tuple(last_op.normal_output_shape()), first_op.in_fold(), last_op.out_fold(),
                 widths=widths, out_stream=src[gout].stream, branches=branches)


def find_branches(stages: list[Stage]) -> list[Branch]:
    """The fork/join paths of a DAG of stages, with the depth the shorter path's last FIFO needs."""
    producer = {sid: s for s in stages for sid in s.outs}
    out: list[Branch] = []
    for j in stages:
        if len(j.ins) < 2:
            continue
        paths = []
        for port, sid in enumerate(j.ins):
            path, fork = [], None
            s = producer.get(sid)
            while s is not None:
                if len(s.outs) > 1:
                    fork = s
                    break
                if len(s.ins) != 1:
                    break  # another join in between: not a simple branch
                path.append(s)
                s = producer.get(s.ins[0])
            paths.append((port, path[::-1], fork))
        forks = {id(f) for _, _, f in paths if f is not None}
        if len(forks) != 1 or any(f is None for _, _, f in paths):
            continue
        fork = paths[0][2]
        held = [sum(s.buffered_fraction() for s in p if not s.is_fifo) + 0.0 for _, p, _ in paths]
        fifo_held = [sum(s.buffered_fraction() for s in p if s.is_fifo) for _, p, _ in paths]
        for k, (port, path, _) in enumerate(paths):
            fifos = [s for s in path if s.is_fifo]
            b = Branch(fork.name, j.name, port, [s.name for s in path], fifos[-1].name if fifos else None)
            others = [held[i] + fifo_held[i] for i in range(len(paths)) if i != k]
            if fifos and held[k] < max(others):
                # words of this path's last FIFO per frame times the share the other path holds back,
                # less what this path holds itself, plus a few words of pipeline registers
                excess = max(others) - held[k] - sum(s.buffered_fraction() for s in fifos[:-1])
                b.need = max(2, math.ceil(excess * fifos[-1].in_words) + 2 * len(path) + 4)
            out.append(b)
    return out
