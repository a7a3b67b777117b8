"""Max-unpooling with pooling indices (SegNet's decoder): StreamingMaxPoolIdx + MaxUnpool against
onnxruntime's MaxPool (Indices output) + MaxUnpool, and hls/maxpool_idx.v + hls/maxunpool.v in
Verilator bit-exact against numpy on random shapes, the index stream on a sized branch FIFO."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from fpga_flow.codegen import generate
from fpga_flow.compiler.execute import execute_hw
from fpga_flow.compiler.hw.unpool import index_buffer_bits
from fpga_flow.sim.rtlsim import execute_hw_graph, random_frames, run_design

from .graphs import dag_model, write_build

needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")


def pool_unpool(rng, *, H, W, C, k, pe_pool, pe_thr, pe_unpool, idt="UINT4"):
    """pool (values, indices) -> Thresholding on the values -> MaxUnpool(values', indices)."""
    lo, hi = (-8, 7) if idt == "INT4" else (0, 15)
    vec = [1, H // k, W // k]
    return dag_model([
        ("StreamingMaxPoolIdx", ["inp"], ["v", "i"], dict(IFMDim=[H, W], NumChannels=C, PoolDim=k, PE=pe_pool,
                                                          inputDataType=idt)),
        ("Thresholding", ["v"], ["t"], dict(NumChannels=C, PE=pe_thr, numInputVectors=vec, inputDataType=idt,
                                            outputDataType="UINT3",
                                            thresholds=np.sort(rng.integers(lo, hi + 2, (C, 7)), axis=1))),
        ("MaxUnpool", ["t", "i"], ["outp"], dict(IFMDim=vec[1:], NumChannels=C, Scale=k, PE=pe_unpool,
                                                 inputDataType="UINT3")),
    ], (1, H, W, C), (1, (H // k) * k, (W // k) * k, C))


def _onnx_pool_unpool(shape, k):
    """ONNX MaxPool with its Indices output feeding MaxUnpool (opset 11), NCHW."""
    n, c, h, w = shape
    pool = helper.make_node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[k, k], strides=[k, k])
    unpool = helper.make_node("MaxUnpool", ["y", "idx"], ["z"], kernel_shape=[k, k], strides=[k, k])
    g = helper.make_graph([pool, unpool], "pu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [n, c, h // k * k, w // k * k]),
                           helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])


@pytest.mark.parametrize("H,W,C,k", [(4, 6, 3, 2), (6, 9, 2, 3)])
def test_pool_unpool_matches_onnxruntime(H, W, C, k):
    import onnxruntime as ort

    rng = np.random.default_rng(H * W + k)
    # few levels: many ties in a window (the first maximum in raster order wins, as in onnxruntime)
    x = rng.integers(0, 3, (1, H, W, C))
    sess = ort.InferenceSession(_onnx_pool_unpool((1, C, H, W), k).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    z_ref, y_ref = sess.run(["z", "y"], {"x": x.transpose(0, 3, 1, 2).astype(np.float32)})
    m = dag_model([("StreamingMaxPoolIdx", ["inp"], ["v", "i"], dict(IFMDim=[H, W], NumChannels=C, PoolDim=k,
                                                                     inputDataType="UINT2")),
                   ("MaxUnpool", ["v", "i"], ["outp"], dict(IFMDim=[H // k, W // k], NumChannels=C, Scale=k,
                                                            inputDataType="UINT2"))],
                  (1, H, W, C), (1, H // k * k, W // k * k, C))
    z, ctx = execute_hw(m, x, return_all=True)
    np.testing.assert_array_equal(ctx["v"], y_ref.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(z, z_ref.transpose(0, 2, 3, 1))
    assert ctx["i"].max() <= k * k - 1 and m.get_tensor_datatype("i").name == ("UINT2" if k == 2 else "UINT4")
    pool, unpool = (getCustomOp(n) for n in m.graph.node)
    assert pool.exp_cycles() == H * W * C and unpool.exp_cycles() == (H // k * k) * (W // k * k) * C
    assert pool.outstream_widths() == [2, 2 if k == 2 else 4]


def test_index_buffer_model_segnet_224():
    """One frame of 2x2 indices (2 bits each) after each of SegNet's five pools at 224x224 (VGG16 widths)."""
    levels = [(224, 64), (112, 128), (56, 256), (28, 512), (14, 512)]
    bits = [index_buffer_bits(s, s, c, 2) for s, c in levels]
    assert bits == [112 * 112 * 64 * 2, 56 * 56 * 128 * 2, 28 * 28 * 256 * 2, 14 * 14 * 512 * 2, 7 * 7 * 512 * 2]


@pytest.mark.rtl
@needs_verilator
@pytest.mark.parametrize("seed", [31, 32, pytest.param(33, marks=pytest.mark.slow)])
def test_pool_unpool_rtl_matches_numpy(tmp_path, seed):
    rng = np.random.default_rng(seed)
    k = int(rng.choice([2, 3]))
    C = int(rng.choice([1, 2, 4]))
    pes = [p for p in (1, 2, C) if C % p == 0]
    H, W = (int(k * rng.integers(1, 4) + rng.integers(0, 2)) for _ in range(2))  # odd remainders dropped
    m = pool_unpool(rng, H=H, W=W, C=C, k=k, pe_pool=int(rng.choice(pes)), pe_thr=int(rng.choice(pes)),
                    pe_unpool=int(rng.choice(pes)), idt=str(rng.choice(["UINT4", "INT4"])))
    b = write_build(m, tmp_path / f"pu{seed}")
    d = generate(b)
    (br,) = [x for x in d.chain.branches if x.need]
    assert br.port == 1  # the index stream is the branch that waits
    x = random_frames(d.chain, 3, seed=seed)
    ref = execute_hw_graph(ModelWrapper(str(b / "dataflow.onnx")), x)
    res = run_design(d, x, backpressure=0.4)
    np.testing.assert_array_equal(res.outputs, ref)
    res = run_design(d, x)
    np.testing.assert_array_equal(res.outputs, ref)
    slow = max(s.exp_cycles for s in d.chain.stages)
    assert slow <= res.cycles_per_frame <= 1.2 * slow + 40
