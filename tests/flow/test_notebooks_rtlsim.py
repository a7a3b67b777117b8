"""Both PYNQ notebooks, unchanged, on the rtlsim backend (nbclient), on tiny real builds:
float model -> Brevitas -> QONNX -> compiler -> RTL -> Verilator, through the flow's rtlsim and deploy stages."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from fpga_flow.flow import Flow, FlowConfig, st_deploy, st_rtlsim

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")
HW = 16


def tiny(task: str) -> nn.Sequential:
    torch.manual_seed(0)
    if task == "cls":
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(8, 2, 3, padding=1)).eval()


def tiny_build(root, task: str, monkeypatch) -> FlowConfig:
    """A build folder as the flow leaves it after `build`, then the flow's rtlsim + deploy stages."""
    from fpga_flow.compiler.build import build_dataflow
    from fpga_flow.quant import QuantSpec, calibrate, export_qonnx_clean, quantize_model
    from fpga_flow.runtime.backends.cpu import export_onnx

    model = "vgg16-pruned" if task == "cls" else "segnet-pruned"
    cfg = FlowConfig(model=model, build_root=root, image_size=HW, n_test=2)
    b = cfg.bdir
    b.mkdir(parents=True)
    float_model = tiny(task)
    export_onnx(float_model, b / "model.onnx", (1, 3, HW, HW))
    q = quantize_model(float_model, QuantSpec())
    gen = torch.Generator().manual_seed(0)
    calibrate(q, [torch.randn((4, 3, HW, HW), generator=gen) for _ in range(2)])
    export_qonnx_clean(q, (1, 3, HW, HW), b / "quant.qonnx.onnx")
    build_dataflow(b / "quant.qonnx.onnx", cfg.board, b, quiet=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, HW, HW)).astype(np.float32)
    y = rng.integers(0, 4, 2) if task == "cls" else (rng.random((2, HW, HW)) > 0.5).astype(np.int64)
    monkeypatch.setattr("fpga_flow.flow.sim_stages._test_set", lambda f: (x, y, len(x)))
    f = Flow(cfg)
    st_rtlsim(f)
    st_deploy(f)
    return cfg


@pytest.mark.parametrize("task", ["cls", "seg"])
def test_notebook_on_rtlsim(tmp_path, monkeypatch, task):
    from fpga_flow.runtime.notebooks import run_deploy_notebook

    cfg = tiny_build(tmp_path, task, monkeypatch)
    b = cfg.bdir
    rt = json.loads((b / "bench" / "rtlsim.json").read_text())
    est = json.loads((b / "estimates.json").read_text())
    assert rt["source"] == "rtlsim" and rt["fps"]["median"] == pytest.approx(100e6 / rt["details"]["cycles_per_frame"])
    assert est["source"] == "estimate"
    executed = run_deploy_notebook(b / "deploy", backend="rtlsim")
    res = json.loads((b / "deploy" / "notebook_results_rtlsim.json").read_text())
    assert res["checks"] == {"images": 2, "bit_exact_images": 2, "prediction_agreement": 1.0}
    assert res["accelerator"]["source"] == "rtlsim" and res["cpu"]["source"] == "measured"
    assert res["speedup_vs_cpu"] == pytest.approx(res["accelerator"]["throughput_fps"] / res["cpu"]["throughput_fps"])
    nb = json.loads(executed.read_text())
    assert any(o.get("output_type") == "display_data" for c in nb["cells"] for o in c.get("outputs", []))
    pred = np.load(b / "deploy" / "test_data" / "expected_pred.npy")
    assert pred.shape == ((2,) if task == "cls" else (2, HW, HW))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yosys") is None, reason="needs yosys")
def test_synth_and_vivado_stages_then_report(tmp_path, monkeypatch):
    """Yosys through the flow's synth stage, the Vivado line without vivado, resources in the report."""
    from fpga_flow.errors import BitstreamSkipped
    from fpga_flow.flow import st_synth, st_vivado
    from fpga_flow.report.collect import collect
    from fpga_flow.report.tables import resources_table

    cfg = tiny_build(tmp_path, "cls", monkeypatch)
    f = Flow(cfg)
    st_synth(f)
    assert (cfg.bdir / "synth" / "report.json").is_file()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BitstreamSkipped, match="vivado is not on PATH") as info:
        st_vivado(f)
    assert info.value.exit_code == 3 and (cfg.bdir / "vivado").is_dir()
    rows = {r[0]: r for r in resources_table(collect(cfg.bdir)).rows}
    synth = json.loads((cfg.bdir / "synth" / "report.json").read_text())
    assert rows["LUT"][2] == f"{synth['total']['lut']:,.0f}" and rows["LUT"][3] == "53,200"
