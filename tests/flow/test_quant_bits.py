"""Quantized (QAT) checkpoints are checked against their row's bit widths, in the store and in the flow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.flow import STAGES, Flow, FlowConfig
from fpga_flow.models import build
from fpga_flow.models.store import load_quant_row
from fpga_flow.quant import QuantSpec, calibrate, quantize_model, save_quant_checkpoint

CFG = {"in_size": 32, "width": 1 / 16, "num_classes": 8}


def setup_module() -> None:
    torch.set_num_threads(1)


def _quant_ckpt(path: Path, spec: QuantSpec, name: str = "vgg16", **cfg) -> Path:
    config = CFG | cfg
    torch.manual_seed(0)
    qmodel = quantize_model(build(name, **config), spec)
    calibrate(qmodel, [torch.randn(2, 3, config["in_size"], config["in_size"])])  # the learned scales exist
    return save_quant_checkpoint(path, qmodel, name, config, spec, (1, 3, config["in_size"], config["in_size"]))


def test_store_refuses_a_quantized_checkpoint_of_other_bits(tmp_path) -> None:
    w8 = _quant_ckpt(tmp_path / "w8.pt", QuantSpec(wbits=8, abits=8))
    with pytest.raises(FlowError) as err:
        load_quant_row("vgg16-quantized", w8)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == (f"{w8}: quantized W8A8 (first/last layer W8/W8), row vgg16-quantized is W4A4 "
                   "(first/last layer W8/W8)")
    # a first layer of other bits is a mismatch too, even when the inner bits agree
    first4 = _quant_ckpt(tmp_path / "first4.pt", QuantSpec(wbits=4, abits=4, first_wbits=4))
    with pytest.raises(FlowError, match=re.escape(f"{first4}: quantized W4A4 (first/last layer W4/W8), row "
                                                  "vgg16-quantized is W4A4 (first/last layer W8/W8)")):
        load_quant_row("vgg16-quantized", first4)
    # the row's bits load, and the model can be moved to another input size with its quantized weights
    ok = _quant_ckpt(tmp_path / "ok.pt", QuantSpec(wbits=4, abits=4))
    qmodel, meta = load_quant_row("vgg16-quantized", ok, in_size=64)
    assert meta["spec"].label() == "W4A4" and meta["input_shape"][-1] == 64
    assert qmodel(torch.zeros(1, 3, 64, 64)).shape == (1, 8)
    # W8A8 is the vgg16 row's: the same W8A8 file loads there
    load_quant_row("vgg16", w8)


def test_store_refuses_a_quantized_checkpoint_of_another_architecture(tmp_path) -> None:
    seg = _quant_ckpt(tmp_path / "seg.pt", QuantSpec(wbits=8, abits=8), "segnet", num_classes=2)
    with pytest.raises(FlowError, match=re.escape(f"{seg}: holds a segnet (segnet), row vgg16 is a vgg16")):
        load_quant_row("vgg16", seg)


def _reused_quantize(root: Path, **given) -> tuple[Flow, Path]:
    """A build folder whose quantize outputs exist (W8A8), and its flow run on the quantize stage only."""
    cfg = FlowConfig(model="vgg16-quantized", build_root=root, image_size=32, train_size=None, **given)
    cfg.bdir.mkdir(parents=True)
    (cfg.bdir / "model.qonnx.onnx").write_text("x")  # the stage's output exists: it would be skipped
    path = _quant_ckpt(cfg.bdir / "quant" / "model.quant.pt", QuantSpec(wbits=8, abits=8))
    return Flow(cfg), path


def test_flow_reusing_quantize_outputs_checks_their_bits(tmp_path, capsys) -> None:
    """A re-run that would reuse quant/ made with other bits stops with one line naming the file."""
    quantize = next(s for s in STAGES if s.name == "quantize")
    flow, path = _reused_quantize(tmp_path / "row")
    with pytest.raises(FlowError, match=re.escape(f"{path}: quantized W8A8 (first/last layer W8/W8), row "
                                                  "vgg16-quantized is W4A4 (first/last layer W8/W8)")):
        flow.run([quantize])
    assert json.loads((flow.cfg.bdir / "flow.json").read_text())["stages"]["quantize"]["status"] == "failed"
    # the bits asked for with --wbits/--abits are this build's: W8A8 outputs are reused by a W8A8 build ...
    flow, _ = _reused_quantize(tmp_path / "w8a8", wbits=8, abits=8)
    flow.run([quantize])
    assert "skip: model.qonnx.onnx exist" in capsys.readouterr().out
    # ... and refused by a W4A8 one
    flow, path = _reused_quantize(tmp_path / "w4a8", wbits=4, abits=8)
    with pytest.raises(FlowError, match=re.escape(f"{path}: quantized W8A8 (first/last layer W8/W8), this build "
                                                  "of row vgg16-quantized is W4A8 (first/last layer W8/W8)")):
        flow.run([quantize])
