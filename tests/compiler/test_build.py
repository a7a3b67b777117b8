"""build_dataflow end to end: outputs, resumability, CLI, and the bad inputs of issue 8."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from fpga_flow.compiler import build_dataflow
from fpga_flow.compiler.hostio import host_input, host_output
from fpga_flow.errors import FlowError

FPGA_FLOW = str(Path(sys.executable).parent / "fpga-flow")


def test_build_outputs_and_resume(qonnx_nets, tmp_path):
    path, shape = qonnx_nets("conv_po2")
    before = Path(path).read_bytes()
    out = tmp_path / "b"
    r = build_dataflow(path, "Pynq-Z2", out, target_fps=5000.0, quiet=True)
    assert Path(path).read_bytes() == before  # input never modified
    for f in ("dataflow.onnx", "folding.json", "estimates.json", "io.json", "model.qonnx.onnx",
              "steps/01_tidy.onnx", "steps/02_streamline.onnx", "steps/03_to_hw.onnx", "steps/04_fold.onnx",
              "steps/05_estimate.onnx"):
        assert (out / f).is_file(), f
    est = json.loads((out / "estimates.json").read_text())
    t = est["total"]
    assert est["source"] == "estimate" and t["fps"] >= 5000.0 and t["fits"]
    assert t["cycles_per_frame"] == max(ly["cycles"] for ly in est["layers"])
    assert t["fps"] == pytest.approx(100e6 / t["cycles_per_frame"])
    assert t["resources"]["lut"] == pytest.approx(sum(ly["resources"]["lut"] for ly in est["layers"]))
    fold_cfg = json.loads((out / "folding.json").read_text())
    assert "Defaults" in fold_cfg and any(k.startswith("MVAU_") for k in fold_cfg)
    io = json.loads((out / "io.json").read_text())
    assert io["input"]["datatype"] == "INT8" and io["input"]["shape"] == [1, 16, 16, 3]
    assert io["input"]["folded_shape"][-1] * io["input"]["folded_shape"][-2] == 3
    assert io["output"]["scale_bias"] is not None
    # the final dataflow graph still computes the QONNX model
    df = ModelWrapper(str(out / "dataflow.onnx"))
    ref_m = ModelWrapper(str(out / "steps/01_tidy.onnx"))
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    ref = execute_onnx(ref_m, {ref_m.graph.input[0].name: x})[ref_m.graph.output[0].name]
    y = execute_onnx(df, {df.graph.input[0].name: host_input(x, io)})[df.graph.output[0].name]
    np.testing.assert_array_equal(host_output(y, io), ref)

    # node by node: every quantized activation of the QONNX model equals the hardware tensor
    from fpga_flow.compiler.verify import verify_build
    v = verify_build(out, x)
    assert v["bit_exact"] and v["checked"] >= 3, v

    # resume: nothing recomputed, files untouched
    mt = {p: p.stat().st_mtime_ns for p in (out / "steps").iterdir()}
    r2 = build_dataflow(path, "Pynq-Z2", out, target_fps=5000.0, quiet=True)
    assert all(skipped for _, _, skipped, _ in r2.steps)
    assert mt == {p: p.stat().st_mtime_ns for p in (out / "steps").iterdir()}
    # a new target re-runs only fold + estimate
    r3 = build_dataflow(path, "Pynq-Z2", out, target_fps=500.0, quiet=True)
    assert [s for _, _, s, _ in r3.steps] == [True, True, True, False, False]
    assert r3.fps < r.fps and r3.fps >= 500.0
    # a folding config overrides the search
    cfg = json.loads((out / "folding.json").read_text())
    r4 = build_dataflow(path, "Pynq-Z2", tmp_path / "c", folding_config=out / "folding.json", quiet=True)
    assert r4.folding == cfg and r4.fps == pytest.approx(r3.fps)


def _qonnx_graph(tmp_path, body, name="bad.onnx", in_shape=(1, 3, 8, 8), out_shape=None, extra_inits=()):
    """input -> Quant(INT8) -> body nodes -> output 'y'."""
    inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in
             [("s", 0.05), ("z", 0.0), ("b8", 8.0), ("b4", 4.0)]] + list(extra_inits)
    q = helper.make_node("Quant", ["x", "s", "z", "b8"], ["xq"], domain="qonnx.custom_op.general",
                         signed=1, narrow=0, rounding_mode="ROUND")
    g = helper.make_graph([q] + body, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    p = tmp_path / name
    onnx.save(m, p)
    return p


def test_bad_float_weights(tmp_path):
    W = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    conv = helper.make_node("Conv", ["xq", "W"], ["y"], name="conv_float", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    p = _qonnx_graph(tmp_path, [conv], extra_inits=[W])
    with pytest.raises(FlowError, match=r"node conv_float|Conv_0 \(Conv\): weight .* float tensor"):
        build_dataflow(p, "Pynq-Z2", tmp_path / "o", quiet=True)
    assert (tmp_path / "o/.staging/steps/01_tidy.onnx").is_file()  # staged steps are kept for the rerun
    assert not (tmp_path / "o/steps").exists() and not (tmp_path / "o/dataflow.onnx").exists()  # nothing committed


def test_bad_float_activation_into_conv(tmp_path):
    """A conv reading an unquantized (float) activation: ReLU output goes straight into the conv."""
    rng = np.random.default_rng(0)
    W = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    W2 = numpy_helper.from_array(rng.standard_normal((4, 4, 1, 1)).astype(np.float32), "W2")
    nodes = [helper.make_node("Quant", ["W", "s", "z", "b4"], ["Wq"], domain="qonnx.custom_op.general", signed=1,
                              narrow=1, rounding_mode="ROUND"),
             helper.make_node("Quant", ["W2", "s", "z", "b4"], ["W2q"], domain="qonnx.custom_op.general", signed=1,
                              narrow=1, rounding_mode="ROUND"),
             helper.make_node("Conv", ["xq", "Wq"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "W2q"], ["y"], kernel_shape=[1, 1])]
    p = _qonnx_graph(tmp_path, nodes, extra_inits=[W, W2])
    with pytest.raises(FlowError, match=r"\(Conv\): a non-linear 'relu' lies between the quantizer and this layer"):
        build_dataflow(p, "Pynq-Z2", tmp_path / "o", quiet=True)


def test_bad_unsupported_op(tmp_path):
    p = _qonnx_graph(tmp_path, [helper.make_node("Sigmoid", ["xq"], ["y"], name="sig")])
    with pytest.raises(FlowError, match=r"\(Sigmoid\): op type not supported"):
        build_dataflow(p, "Pynq-Z2", tmp_path / "o", quiet=True)


def test_bad_dynamic_shape(tmp_path):
    p = _qonnx_graph(tmp_path, [helper.make_node("Relu", ["xq"], ["y"])], in_shape=("N", 3, 8, 8))
    with pytest.raises(FlowError, match=r"tensor 'x' has a dynamic dimension 0 \('N'\)"):
        build_dataflow(p, "Pynq-Z2", tmp_path / "o", quiet=True)


def test_bad_unknown_board_and_missing_file(qonnx_nets, tmp_path):
    path, _ = qonnx_nets("conv_po2")
    with pytest.raises(FlowError, match=r"unknown board 'Pynq-Z9'"):
        build_dataflow(path, "Pynq-Z9", tmp_path / "o", quiet=True)
    with pytest.raises(FlowError, match=r"nope\.onnx: QONNX file not found"):
        build_dataflow(tmp_path / "nope.onnx", "Pynq-Z2", tmp_path / "o", quiet=True)


def test_bad_unreachable_fps_keeps_earlier_steps(qonnx_nets, tmp_path):
    path, _ = qonnx_nets("conv_po2")
    out = tmp_path / "o"
    build_dataflow(path, "Pynq-Z2", out, target_fps=100.0, quiet=True)
    mt = {p.name: p.stat().st_mtime_ns for p in (out / "steps").iterdir() if p.name[:2] in ("01", "02", "03")}
    with pytest.raises(FlowError, match=r"target 1e\+09 FPS not reachable on board Pynq-Z2 .* best feasible "
                                        r"[0-9.]+ FPS .* limited by layer"):
        build_dataflow(path, "Pynq-Z2", out, target_fps=1e9, quiet=True)
    assert mt == {p.name: p.stat().st_mtime_ns for p in (out / "steps").iterdir() if p.name[:2] in ("01", "02", "03")}


def test_cli_build_and_errors(qonnx_nets, tmp_path):
    path, _ = qonnx_nets("conv_po2")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    r = subprocess.run([FPGA_FLOW, "build", "--model", str(path), "--board", "Pynq-Z2",
                        "--target-fps", "1000", "--out", str(tmp_path / "cli")], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cli" / "estimates.json").is_file()
    r = subprocess.run([FPGA_FLOW, "build", "--model", str(path), "--board", "NoSuchBoard",
                        "--out", str(tmp_path / "cli2")], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "unknown board" in r.stderr and "Traceback" not in r.stderr
    from fpga_flow.compiler.cli import resolve_model
    with pytest.raises(FlowError, match="run `fpga-flow quantize --model no-such-zoo-model` first"):
        resolve_model("no-such-zoo-model", root=tmp_path)
    (tmp_path / "build" / "quant" / "m1-w4a4").mkdir(parents=True)
    (tmp_path / "build" / "quant" / "m1-w4a4" / "model.qonnx.onnx").write_bytes(b"x")
    assert resolve_model("m1", root=tmp_path)[0].parent.name == "m1-w4a4"
