"""to_hw rules for branches: joins (Add of two activations -> AddStreams, Concat ->
StreamingConcat) and forks (a tensor read by several layers -> DuplicateStreams in front)."""

from __future__ import annotations

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.errors import FlowError

JOIN_OPS = {"Add": "AddStreams", "Concat": "StreamingConcat"}


def _err(node, why):
    return FlowError(f"node {node.name} ({node.op_type}): cannot map to a hardware layer: {why}")


def is_join_multiplier(model, n, consumers) -> bool:
    """``Mul`` of an activation by an integer constant whose only reader is a join ``Add``
    (streamline's ``p·a + q·b``): it becomes the AddStreams multiplier."""
    if n.op_type != "Mul" or len(n.input) != 2:
        return False
    c = model.get_initializer(n.input[1])
    cs = consumers.get(n.output[0], [])
    return (c is not None and c.size == 1 and float(c) == round(float(c)) and len(cs) == 1
            and cs[0].op_type == "Add")


def join_node(model, n, ins: list[str], name: str, scaled: dict):
    dt = lambda t: model.get_tensor_datatype(t).name  # noqa: E731
    n_ok = len(ins) == 2 if n.op_type == "Add" else len(ins) >= 2
    if not n_ok or any(model.get_initializer(i) is not None for i in ins):
        raise _err(n, f"a join takes {'two' if n.op_type == 'Add' else 'two or more'} activations "
                      f"(inputs {list(n.input)})")
    mults = []
    srcs = []
    for i in ins:
        x, m = scaled.get(i, (i, 1))
        srcs.append(x)
        mults.append(m)
    for x in srcs:
        if not model.get_tensor_datatype(x).is_integer():
            raise _err(n, f"input '{x}' is a float tensor; integer input required")
    shapes = [model.get_tensor_shape(x) for x in srcs]
    if n.op_type == "Add":
        if shapes[0] != shapes[1]:
            raise _err(n, f"inputs of shapes {shapes[0]} and {shapes[1]}")
        return make_hw_node("AddStreams", srcs, n.output[0], name, NumChannels=shapes[0][-1], PE=1,
                            numInputVectors=list(shapes[0][:-1]), lhsDataType=dt(srcs[0]), rhsDataType=dt(srcs[1]),
                            lhsScale=mults[0], rhsScale=mults[1])
    if any(s[:-1] != shapes[0][:-1] for s in shapes):
        raise _err(n, f"inputs of shapes {shapes} differ in more than channels")
    return make_hw_node("StreamingConcat", srcs, n.output[0], name, ChannelsPerStream=[s[-1] for s in shapes],
                        PE=1, numInputVectors=list(shapes[0][:-1]), inputDataTypes=[dt(x) for x in srcs])


def insert_forks(model, nodes: list, name) -> list:
    """A DuplicateStreams in front of every tensor that several hardware layers read."""
    readers: dict[str, list] = {}
    for nd in nodes:
        for k, i in enumerate(nd.input):
            readers.setdefault(i, []).append((nd, k))
    out = list(nodes)
    for t, rs in readers.items():
        if len(rs) < 2:
            continue
        shape = model.get_tensor_shape(t)
        if shape is None:
            shape = list(getCustomOp(rs[0][0]).normal_input_shape())
        copies = [f"{t}_branch{k}" for k in range(len(rs))]
        fork = make_hw_node("DuplicateStreams", t, copies, name("DuplicateStreams"), NumChannels=shape[-1], PE=1,
                            numInputVectors=list(shape[:-1]), inputDataType=model.get_tensor_datatype(t).name,
                            NumOutputStreams=len(rs))
        for (nd, k), c in zip(rs, copies):
            nd.input[k] = c
            model.set_tensor_shape(c, list(shape))
            model.set_tensor_datatype(c, model.get_tensor_datatype(t))
        producer = next((i for i, nd in enumerate(out) if t in nd.output), -1)
        out.insert(producer + 1, fork)
    return out
