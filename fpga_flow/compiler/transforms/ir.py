"""Intermediate representation of the streamlining pass: tracked integer tensors, quantized
constants, the new-graph builder, and the host-side input preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from fpga_flow.errors import FlowError

from .chain import F32, Step

MAX_EXACT = 2**24  # integers stay exact in the float32 containers of the graph


@dataclass
class IntT:
    name: str  # integer tensor of the new graph (NHWC)
    shape: tuple  # its NHWC shape
    lo: int
    hi: int
    steps: list = field(default_factory=list)  # float = f(int)
    perm: np.ndarray | None = None  # flattened view: qonnx flat index of NHWC element j
    weight_init: str | None = None  # MatMul weight initializer producing it (sign flips)

    @property
    def C(self) -> int:
        return self.shape[-1]


@dataclass
class QConst:
    q: np.ndarray
    scale: np.ndarray
    zp: np.ndarray
    bits: int
    signed: bool
    narrow: bool

    def value(self):
        return (self.q - self.zp) * self.scale


def _err(node, why: str) -> FlowError:
    return FlowError(f"node {node.name} ({node.op_type}): {why}")


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class _Builder:
    def __init__(self):
        self.nodes, self.inits, self.vi = [], [], []
        self.dtypes: dict[str, str] = {}
        self.n = 0

    def tensor(self, prefix: str, shape, dtype: str | None = None) -> str:
        self.n += 1
        name = f"{prefix}_{self.n}"
        self.vi.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        if dtype:
            self.dtypes[name] = dtype
        return name

    def init(self, prefix: str, arr: np.ndarray, dtype: str | None = None) -> str:
        self.n += 1
        name = f"{prefix}_{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        if dtype:
            self.dtypes[name] = dtype
        return name

    def node(self, op, ins, outs, domain=None, **kw):
        self.n += 1
        nd = helper.make_node(op, ins, outs, name=f"{op}_{self.n}", **kw)
        if domain:
            nd.domain = domain
        self.nodes.append(nd)
        return nd



def host_pre(node, ins, out, pre, consts, shp):
    """Float preprocessing between the graph input and its quantizer: runs on the host."""
    x = next(i for i in ins if i in pre)
    p = pre[x]
    qs = p["shape"]
    if node.op_type in ("Identity", "Dropout"):
        pre[out] = p
        return
    if node.op_type in ("Reshape", "Flatten"):
        if p["steps"] and len(qs) == 4 and any(np.asarray(st.a).size > 1 for st in p["steps"] if st.a is not None):
            raise _err(node, "reshape after per-channel input preprocessing is not supported")
        pre[out] = {"steps": p["steps"], "shape": shp(out)}
        return
    if node.op_type in ("Add", "Sub", "Mul", "Div"):
        other = ins[1] if ins[0] == x else ins[0]
        if other not in consts:
            raise _err(node, f"input preprocessing operand '{other}' is not a constant")
        arr = np.asarray(consts[other], F32)
        if arr.size == 1:
            c = arr.reshape(())
        elif len(qs) == 4:
            full = np.broadcast_to(arr, qs)
            c = full[0, :, 0, 0].astype(F32)
            if not np.array_equal(full, np.broadcast_to(c.reshape(1, -1, 1, 1), full.shape)):
                raise _err(node, "input preprocessing constant varies over H/W")
        else:
            raise _err(node, "per-element input preprocessing on a flat tensor is not supported")
        op = node.op_type
        if op == "Add":
            st = [Step("add", c)]
        elif op == "Mul":
            st = [Step("mul", c)]
        elif op == "Div" and ins[0] == x:
            st = [Step("div", c)]
        elif op == "Sub":
            st = [Step("add", -c)] if ins[0] == x else [Step("mul", np.asarray(-1, F32)), Step("add", c)]
        else:
            raise _err(node, "constant divided by the input is not supported")
        pre[out] = {"steps": p["steps"] + st, "shape": qs}
        return
    raise _err(node, "float op on the model input before its quantizer: only elementwise "
                     "Add/Sub/Mul/Div by constants and Reshape/Flatten are supported there "
                     "(they run on the host)")

