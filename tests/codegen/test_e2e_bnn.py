"""End to end on FINN's classic bnn_pynq nets (brevitas_examples definitions, random weights and BN
statistics): QONNX export -> build_dataflow for Pynq-Z2 -> codegen -> Verilator rtlsim.

rtlsim must equal the QONNX execution of the original export (through the host side of io.json)
bit for bit, and the compiler's cycles/frame (estimates.json) must equal rtlsim's. tfc_1w1a (all
XNOR-popcount BinaryMVAUs, small folding) runs in the fast suite; all eleven nets in the slow one."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from tests.compiler.nets import BNN_PYNQ, bnn_pynq, export

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]

# target FPS at Pynq-Z2's clock: small foldings keep the Verilator builds short
TARGET_FPS = {"tfc": 20000, "sfc": 5000, "lfc": 2000, "cnv": 300}


def _build_and_sim(tmp_path, name):
    warnings.filterwarnings("ignore")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.compiler.hostio import host_input, host_output
    from fpga_flow.sim.cli import run_sim
    from fpga_flow.sim.rtlsim import rtlsim

    model, shape = bnn_pynq(name)
    path = export(model, tmp_path / f"{name}.onnx", shape)
    out = tmp_path / f"{name}-Pynq-Z2"
    build_dataflow(path, "Pynq-Z2", out, quiet=True, target_fps=TARGET_FPS[name[:3]])
    rec = run_sim(out, frames=2)
    assert rec["bit_exact"] is True  # rtlsim == the compiler's hardware graph
    est = json.loads((out / "estimates.json").read_text())["total"]["cycles_per_frame"]
    assert rec["cycles_per_frame"] == est, (rec["cycles_per_frame"], est)
    # and the hardware graph's integers, mapped back by the host, == QONNX execution of the export
    io = json.loads((out / "io.json").read_text())
    ref_m = ModelWrapper(str(path))
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    ref = execute_onnx(ref_m, {ref_m.graph.input[0].name: x})[ref_m.graph.output[0].name]
    res = rtlsim(out, host_input(x, io))
    np.testing.assert_array_equal(host_output(res.outputs, io), ref)
    return rec


def test_tfc_1w1a_rtlsim_bit_exact(tmp_path):
    _build_and_sim(tmp_path, "tfc_1w1a")


@pytest.mark.slow
@pytest.mark.parametrize("name", BNN_PYNQ)
def test_bnn_pynq_rtlsim_bit_exact(tmp_path, name):
    _build_and_sim(tmp_path, name)
