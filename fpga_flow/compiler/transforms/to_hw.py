"""to_hw: streamlined integer graph -> hardware layers (fpga_flow.compiler.hw), FINN's
convert_to_hw_layers: MatMul(+MultiThreshold) -> MVAU, Im2Col -> ConvolutionInputGenerator,
MaxPoolNHWC -> StreamingMaxPool, Resize -> UpsampleNearestNeighbour, MultiThreshold -> Thresholding,
ReduceSum -> GlobalAccPool, ArgMax -> LabelSelect, Add of two activations (with its integer
multipliers) -> AddStreams, Concat -> StreamingConcat, a depthwise MatMul (behind an Im2Col marked depthwise) -> VVAU, a tensor read by several layers -> a
DuplicateStreams fork (transforms/forks.py); a Reshape (flatten) is dropped: the MVAU reads the NHWC
stream as one vector."""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.compiler.hw import DOMAIN, make_hw_node
from fpga_flow.compiler.hw.mvau_binary import is_bipolar_matrix
from fpga_flow.compiler.transforms.depthwise import is_depthwise_matmul, vvau_node
from fpga_flow.compiler.transforms.forks import JOIN_OPS, insert_forks, is_join_multiplier, join_node
from fpga_flow.errors import FlowError


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _err(node, why):
    return FlowError(f"node {node.name} ({node.op_type}): cannot map to a hardware layer: {why}")


class ToHW:
    def apply(self, model: ModelWrapper):
        g = model.graph
        dt = lambda t: model.get_tensor_datatype(t).name  # noqa: E731
        consumers = {}
        for n in g.node:
            for i in n.input:
                consumers.setdefault(i, []).append(n)
        rename: dict[str, str] = {}  # dropped reshape: output -> input
        new_nodes = []
        absorbed = set()
        idx: dict[str, int] = {}
        scaled: dict[str, tuple[str, int]] = {}  # Mul by an integer in front of an Add: (input, multiplier)

        def name(op):
            i = idx.get(op, 0)
            idx[op] = i + 1
            return f"{op}_{i}"

        def src(t):
            while t in rename:
                t = rename[t]
            return t

        for n in g.node:
            if n.name in absorbed:
                continue
            op = n.op_type
            x = src(n.input[0]) if n.input else None
            if op == "Reshape":
                rename[n.output[0]] = x
                continue
            if n.domain == DOMAIN:  # made by streamline already (max-pool with indices, max-unpool)
                for k, i in enumerate(n.input):
                    n.input[k] = src(i)
                new_nodes.append(n)
                continue
            if op in JOIN_OPS:
                new_nodes.append(join_node(model, n, [src(i) for i in n.input], name(JOIN_OPS[op]), scaled))
                continue
            if is_join_multiplier(model, n, consumers):
                scaled[n.output[0]] = (x, int(model.get_initializer(n.input[1])))
                continue
            if op == "Cast" and getattr(model.find_producer(n.input[0]), "op_type", "") == "ArgMax":
                continue  # absorbed into LabelSelect
            if op == "Im2Col":
                ishape = model.get_tensor_shape(x)
                k = list(_attr(n, "kernel_size"))
                if list(_attr(n, "dilations", [1, 1])) != [1, 1]:
                    raise _err(n, "dilation")
                new_nodes.append(make_hw_node(
                    "ConvolutionInputGenerator", x, n.output[0], name("ConvolutionInputGenerator"),
                    IFMDim=[ishape[1], ishape[2]], IFMChannels=ishape[3], ConvKernelDim=k,
                    Stride=list(_attr(n, "stride")), Padding=list(_attr(n, "pad_amount", [0, 0, 0, 0])),
                    SIMD=1, inputDataType=dt(x)))
            elif op == "MatMul":
                W = model.get_initializer(n.input[1])
                if W is None:
                    raise _err(n, "weights are not a constant")
                if not model.get_tensor_datatype(n.input[1]).is_integer() or not np.array_equal(W, np.round(W)):
                    raise _err(n, "weights are not integers")
                if not model.get_tensor_datatype(x).is_integer():
                    raise _err(n, f"input '{x}' is a float tensor; integer input required")
                MW, MH = W.shape
                oshape = model.get_tensor_shape(n.output[0])
                nxt = consumers.get(n.output[0], [])
                mt = nxt[0] if len(nxt) == 1 and nxt[0].op_type == "MultiThreshold" else None
                kw = dict(MW=MW, MH=MH, PE=1, SIMD=1, numInputVectors=list(oshape[:-1]),
                          inputDataType=dt(x), weightDataType=dt(n.input[1]), weights=W.astype(np.int64))
                out = n.output[0]
                if mt is not None:
                    T = model.get_initializer(mt.input[1])
                    T = self._full_thresholds(mt, T, MH)
                    kw.update(thresholds=T, outputDataType=_attr(mt, "out_dtype").decode()
                              if isinstance(_attr(mt, "out_dtype"), bytes) else _attr(mt, "out_dtype"),
                              ActVal=int(_attr(mt, "out_bias", 0.0)))
                    if float(_attr(mt, "out_scale", 1.0)) != 1.0:
                        raise _err(mt, "out_scale != 1")
                    absorbed.add(mt.name)
                    out = mt.output[0]
                else:
                    kw["outputDataType"] = dt(n.output[0])
                if is_depthwise_matmul(model, n):
                    act = {k: kw[k] for k in ("thresholds", "outputDataType", "ActVal")} if mt is not None else {}
                    new_nodes.append(vvau_node(model, n, x, out, name("VVAU"), act))
                else:
                    # ±1 weights: the multiplier-free BinaryMVAU (XNOR-popcount or add/subtract)
                    kind = "BinaryMVAU" if is_bipolar_matrix(W) else "MVAU"
                    new_nodes.append(make_hw_node(kind, x, out, name(kind), **kw))
            elif op == "MultiThreshold":
                shape = model.get_tensor_shape(x)
                T = self._full_thresholds(n, model.get_initializer(n.input[1]), shape[-1])
                odt = _attr(n, "out_dtype")
                odt = odt.decode() if isinstance(odt, bytes) else odt
                if not model.get_tensor_datatype(x).is_integer():
                    raise _err(n, f"input '{x}' is a float tensor; integer input required")
                new_nodes.append(make_hw_node(
                    "Thresholding", x, n.output[0], name("Thresholding"), NumChannels=shape[-1], PE=1,
                    numInputVectors=list(shape[:-1]), inputDataType=dt(x), outputDataType=odt,
                    ActVal=int(_attr(n, "out_bias", 0.0)), thresholds=T))
            elif op == "MaxPoolNHWC":
                shape = model.get_tensor_shape(x)
                k = list(_attr(n, "kernel_shape"))
                new_nodes.append(make_hw_node("StreamingMaxPool", x, n.output[0], name("StreamingMaxPool"),
                                              IFMDim=[shape[1], shape[2]], NumChannels=shape[3], PoolDim=k[0],
                                              PE=1, inputDataType=dt(x)))
            elif op == "Resize":
                shape = model.get_tensor_shape(x)
                oshape = model.get_tensor_shape(n.output[0])
                new_nodes.append(make_hw_node("UpsampleNearestNeighbour", x, n.output[0],
                                              name("UpsampleNearestNeighbour"), IFMDim=[shape[1], shape[2]],
                                              NumChannels=shape[3], Scale=oshape[1] // shape[1], PE=1,
                                              inputDataType=dt(x)))
            elif op == "ReduceSum":
                shape = model.get_tensor_shape(x)
                new_nodes.append(make_hw_node("GlobalAccPool", x, n.output[0], name("GlobalAccPool"),
                                              IFMDim=[shape[1], shape[2]], NumChannels=shape[3], PE=1,
                                              inputDataType=dt(x)))
            elif op == "ArgMax":
                shape = model.get_tensor_shape(x)
                cast = consumers.get(n.output[0], [None])[0]
                out = cast.output[0] if cast is not None and cast.op_type == "Cast" else n.output[0]
                new_nodes.append(make_hw_node("LabelSelect", x, out, name("LabelSelect"),
                                              Labels=shape[-1], PE=1, numInputVectors=list(shape[:-1]),
                                              inputDataType=dt(x)))
            else:
                raise _err(n, "no hardware layer for this op type")

        # rebuild graph
        keep_inits = []
        for nd in new_nodes:
            for k, i in enumerate(nd.input):
                nd.input[k] = src(i)
        new_nodes = insert_forks(model, new_nodes, name)
        gout = g.output[0].name
        if gout in rename:
            raise FlowError(f"graph output '{gout}' is produced by a reshape; not supported")
        used = {i for nd in new_nodes for i in nd.input} | {o for nd in new_nodes for o in nd.output}
        vis = [v for v in g.value_info if v.name in used]
        graph = helper.make_graph(new_nodes, "dataflow", list(g.input), list(g.output), keep_inits, value_info=vis)
        new = ModelWrapper(helper.make_model(graph, opset_imports=list(model.model.opset_import),
                                             producer_name="fpga_flow.compiler"))
        for m in model.model.metadata_props:
            new.set_metadata_prop(m.key, m.value)
        for t in used:
            try:
                new.set_tensor_datatype(t, model.get_tensor_datatype(t))
            except Exception:  # noqa: BLE001
                pass
        for nd in new_nodes:
            for e in getCustomOp(nd).check_folding():
                raise FlowError(f"layer {nd.name}: {e}")
        return new, True

    @staticmethod
    def _full_thresholds(node, T, C):
        if T is None:
            raise _err(node, "thresholds are not a constant")
        if not np.array_equal(T, np.round(T)):
            raise _err(node, "thresholds are not integers (input is a float tensor)")
        T = np.asarray(T, dtype=np.int64)
        if T.shape[0] == 1 and C > 1:
            T = np.repeat(T, C, axis=0)
        return T
