"""Small folded hardware graphs built directly from the layer classes (no compiler run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from fpga_flow.compiler.hw import make_hw_node


def chain_model(layers: list[tuple[str, dict]]) -> ModelWrapper:
    """A linear hw graph ``inp -> layer0 -> ... -> outp`` from (op_type, attrs) pairs."""
    nodes = []
    for i, (t, a) in enumerate(layers):
        src = "inp" if i == 0 else f"t{i}"
        dst = "outp" if i == len(layers) - 1 else f"t{i + 1}"
        nodes.append(make_hw_node(t, src, dst, name=f"{t}_{i}", **a))
    ops = [getCustomOp(n) for n in nodes]
    graph = helper.make_graph(nodes, "hw_chain",
                              [helper.make_tensor_value_info("inp", TensorProto.FLOAT, list(ops[0].normal_input_shape()))],
                              [helper.make_tensor_value_info("outp", TensorProto.FLOAT, list(ops[-1].normal_output_shape()))])
    m = ModelWrapper(qonnx_make_model(graph, producer_name="fpga_flow-tests"))
    for i, op in enumerate(ops):
        m.set_tensor_datatype(nodes[i].input[0], op.input_datatype())
        m.set_tensor_datatype(nodes[i].output[0], op.output_datatype())
        m.set_tensor_shape(nodes[i].output[0], list(op.normal_output_shape()))
    return m


def _thr(rng, ch, act_bits, lo, hi):
    return np.sort(rng.integers(lo, hi + 1, (ch, (1 << act_bits) - 1)), axis=1)


def conv_pool_fc(rng, *, H=6, C=4, F=8, L=4, fc_external=False) -> ModelWrapper:
    """SWG(3x3, pad 1) -> MVAU(conv, UINT4 act) -> maxpool 2 -> MVAU(FC, no activation; weights
    streamed from DRAM when ``fc_external``)."""
    MW1 = 9 * C
    W1 = rng.integers(-4, 4, (MW1, F))
    Hp = H // 2
    MW2 = Hp * Hp * F
    W2 = rng.integers(-8, 8, (MW2, L))
    return chain_model([
        ("ConvolutionInputGenerator", dict(IFMDim=[H, H], IFMChannels=C, ConvKernelDim=[3, 3], Stride=[1, 1],
                                           Padding=[1, 1, 1, 1], SIMD=2, inputDataType="UINT4")),
        ("MVAU", dict(MW=MW1, MH=F, PE=2, SIMD=6, numInputVectors=[1, H, H], inputDataType="UINT4",
                      weightDataType="INT3", weights=W1, thresholds=_thr(rng, F, 4, -40, 60),
                      outputDataType="UINT4")),
        ("StreamingMaxPool", dict(IFMDim=[H, H], NumChannels=F, PoolDim=2, PE=4, inputDataType="UINT4")),
        ("MVAU", dict(MW=MW2, MH=L, PE=2, SIMD=8, numInputVectors=[1], inputDataType="UINT4",
                      weightDataType="INT4", weights=W2, thresholds=np.zeros((0,)),
                      mem_mode="external" if fc_external else "internal_decoupled")),
    ])


def write_build(model: ModelWrapper, build_dir: Path) -> Path:
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(build_dir / "dataflow.onnx"))
    return build_dir


def dag_model(layers: list[tuple[str, list[str], list[str], dict]], inp_shape, out_shape) -> ModelWrapper:
    """A hw graph from (op_type, inputs, outputs, attrs); tensors ``inp`` and ``outp`` are the
    design's input and output."""
    nodes = [make_hw_node(t, ins, outs, name=f"{t}_{i}", **a) for i, (t, ins, outs, a) in enumerate(layers)]
    graph = helper.make_graph(nodes, "hw_dag",
                              [helper.make_tensor_value_info("inp", TensorProto.FLOAT, list(inp_shape))],
                              [helper.make_tensor_value_info("outp", TensorProto.FLOAT, list(out_shape))])
    m = ModelWrapper(qonnx_make_model(graph, producer_name="fpga_flow-tests"))
    for n in nodes:
        op = getCustomOp(n)
        dts = op.input_datatypes() if hasattr(op, "input_datatypes") else [op.input_datatype()]
        for i, d in zip(n.input, dts):
            m.set_tensor_datatype(i, d)
        odts = op.output_datatypes() if hasattr(op, "output_datatypes") else [op.output_datatype()] * len(n.output)
        for o, d in zip(n.output, odts):
            m.set_tensor_datatype(o, d)
        for o in n.output:
            m.set_tensor_shape(o, list(op.normal_output_shape()))
    return m


def residual_block(rng, *, H=6, W=6, C=4, pe=2, simd=2, rhs_scale=2) -> ModelWrapper:
    """fork -> [SWG 3x3 pad 1 -> MVAU (UINT4 act)] + shortcut -> AddStreams(1·conv + rhs_scale·x)."""
    thr = _thr(rng, C, 4, -30, 40)
    return dag_model([
        ("DuplicateStreams", ["inp"], ["x0", "x1"], dict(NumChannels=C, PE=pe, numInputVectors=[1, H, W],
                                                         inputDataType="UINT4")),
        ("ConvolutionInputGenerator", ["x0"], ["win"], dict(IFMDim=[H, W], IFMChannels=C, ConvKernelDim=[3, 3],
                                                            Padding=[1, 1, 1, 1], SIMD=simd, inputDataType="UINT4")),
        ("MVAU", ["win"], ["conv"], dict(MW=9 * C, MH=C, PE=pe, SIMD=simd, numInputVectors=[1, H, W],
                                         inputDataType="UINT4", weightDataType="INT3",
                                         weights=rng.integers(-4, 4, (9 * C, C)), thresholds=thr,
                                         outputDataType="UINT4")),
        ("AddStreams", ["conv", "x1"], ["outp"], dict(NumChannels=C, PE=pe, numInputVectors=[1, H, W],
                                                      lhsDataType="UINT4", rhsDataType="UINT4", rhsScale=rhs_scale)),
    ], (1, H, W, C), (1, H, W, C))


def concat_block(rng, *, H=4, W=6, C=4, F=6, pe=2) -> ModelWrapper:
    """fork -> [Thresholding to INT3] ++ [SWG 3x3 -> MVAU to UINT4] -> StreamingConcat (INT5 out)."""
    return dag_model([
        ("DuplicateStreams", ["inp"], ["x0", "x1"], dict(NumChannels=C, PE=pe, numInputVectors=[1, H, W],
                                                         inputDataType="UINT4")),
        ("Thresholding", ["x0"], ["t"], dict(NumChannels=C, PE=pe, numInputVectors=[1, H, W], inputDataType="UINT4",
                                             outputDataType="INT3", ActVal=-4, thresholds=_thr(rng, C, 3, 0, 15))),
        ("ConvolutionInputGenerator", ["x1"], ["win"], dict(IFMDim=[H, W], IFMChannels=C, ConvKernelDim=[3, 3],
                                                            Padding=[1, 1, 1, 1], SIMD=pe, inputDataType="UINT4")),
        ("MVAU", ["win"], ["conv"], dict(MW=9 * C, MH=F, PE=pe, SIMD=pe * 2, numInputVectors=[1, H, W],
                                         inputDataType="UINT4", weightDataType="INT3",
                                         weights=rng.integers(-4, 4, (9 * C, F)), thresholds=_thr(rng, F, 4, -30, 40),
                                         outputDataType="UINT4")),
        ("StreamingConcat", ["t", "conv"], ["outp"], dict(ChannelsPerStream=[C, F], PE=pe, numInputVectors=[1, H, W],
                                                          inputDataTypes=["INT3", "UINT4"])),
    ], (1, H, W, C), (1, H, W, C + F))
