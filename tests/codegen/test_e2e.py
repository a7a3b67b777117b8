"""End to end: zoo model (small) -> Brevitas QONNX -> compiler build_dataflow -> codegen -> rtlsim.

rtlsim output must equal the compiler's hw-graph execution bit for bit, and the compiler's cycle
model (estimates.json) must be within 5 % of rtlsim's steady-state cycles/frame."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed")]


def _build(tmp_path, name, size, width, board="Pynq-Z2"):
    warnings.filterwarnings("ignore")
    torch = pytest.importorskip("torch")
    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.models import build
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model

    torch.manual_seed(0)
    q = quantize_model(build(name, in_size=size, width=width), QuantSpec())
    g = torch.Generator().manual_seed(0)
    calibrate(q, [torch.randn(2, 3, size, size, generator=g) for _ in range(2)])
    out = tmp_path / f"{name}-{board}"
    p = export_qonnx_clean(q, (1, 3, size, size), tmp_path / "q" / "model.qonnx.onnx")
    build_dataflow(p, board, out, quiet=True)
    return out


def _check(out):
    from fpga_flow.sim.cli import run_sim

    rec = run_sim(out, frames=2)
    assert rec["bit_exact"] is True
    est = json.loads((out / "estimates.json").read_text())["total"]["cycles_per_frame"]
    assert abs(rec["cycles_per_frame"] - est) <= 0.05 * est, (rec["cycles_per_frame"], est)
    assert rec["latency_cycles"] >= rec["cycles_per_frame"]
    return rec


@pytest.mark.slow
def test_vgg16_small_bit_exact_and_cycles(tmp_path):
    _check(_build(tmp_path, "vgg16", 32, 0.125))


@pytest.mark.slow
def test_segnet_small_bit_exact_and_cycles(tmp_path):
    _check(_build(tmp_path, "segnet", 32, 0.125))
