"""`fpga-flow quantize`: files written, summary contents, bad inputs fail before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import torch
import typer
from typer.testing import CliRunner

from fpga_flow.errors import FlowError
from fpga_flow.quant import load_qonnx, load_quant_checkpoint, max_abs_diff
from fpga_flow.quant.cli import register

# only this stage's commands: the other stages' CLIs are not needed in-process
app = typer.Typer()


@app.callback()
def _root() -> None:
    pass


register(app)


def invoke(*args: str):
    return CliRunner().invoke(app, ["quantize", *args])


def test_quantize_zoo_model_without_data_writes_checkpoint_qonnx_and_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "none"))
    out = tmp_path / "q"
    r = invoke("--model", "lenet5", "--wbits", "3", "--abits", "5", "--out", str(out))
    assert r.exit_code == 0, r.output + repr(r.exception)
    onnx.checker.check_model(str(out / "model.qonnx.onnx"))
    qmodel, meta = load_quant_checkpoint(out / "model.quant.pt")
    assert meta["spec"].wbits == 3 and meta["spec"].abits == 5 and meta["name"] == "lenet5"
    x = torch.randn(2, 1, 28, 28)
    assert max_abs_diff(qmodel, load_qonnx(out / "model.qonnx.onnx"), x) <= 1e-5
    md = (out / "quant_summary.md").read_text()
    assert "# Quantization summary: lenet5 W3A5" in md
    assert "| 1 | features_0 | QuantConv2d | features.0 | 8 |  | 500 |" in md
    assert "| 4 | features_3 | QuantConv2d | features.3 | 3 |  | 25000 |" in md
    assert "| 5 | features_4 | QuantReLU | features.4 |  | 5 (unsigned) |  |" in md
    # 500*8 + 25000*3 + 400000*3 + 5000*8 weight bits
    assert f"quantized: weights {500 * 8 + 25000 * 3 + 400000 * 3 + 5000 * 8:,} bits" in md
    assert "untrained" in md and "not measured" in md
    assert "integral and within their width" in md


@pytest.mark.parametrize("args, message", [
    (["--epochs", "2"], "QAT needs data"),
    (["--data", str(Path(__file__).parent)], "lenet5 is a digits model"),
])
def test_bad_inputs_fail_before_any_file_is_written(tmp_path, args, message):
    out = tmp_path / "q"
    r = invoke("--model", "lenet5", "--out", str(out), *args)
    assert r.exit_code != 0 and isinstance(r.exception, FlowError)
    assert message in str(r.exception)
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--wbits", "9"], "Invalid value for '--wbits': Input should be less than or equal to 8"),
    (["--abits", "0"], "Invalid value for '--abits': Input should be greater than or equal to 2"),
    (["--scales", "log"], "Invalid value for '--scales': 'log' is not one of po2, float"),
    (["--data", "/nonexistent"], "Invalid value for '--data': /nonexistent: folder not found"),
])
def test_bad_options_are_usage_errors_before_any_file_is_written(tmp_path, args, message):
    out = tmp_path / "q"
    r = invoke("--model", "lenet5", "--out", str(out), *args)
    assert r.exit_code == 2 and message in r.output, r.output
    assert not out.exists()


def test_unknown_model_and_cli_exit_code(tmp_path):
    """Through the real `fpga-flow` entry point: one line on stderr, exit code 1."""
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "quantize",
                        "--model", "resnet50", "--out", str(tmp_path / "q")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "unknown model 'resnet50'" in r.stderr and "Traceback" not in r.stderr


def test_export_failure_keeps_the_checkpoint(tmp_path, monkeypatch):
    from fpga_flow.quant import pipeline
    from fpga_flow.quant.export import ExportError

    def fail(qmodel, shape, path):
        raise ExportError("QONNX export failed at module 'features_3' (QuantConv2d): boom")

    monkeypatch.setattr(pipeline, "export_qonnx_clean", fail)
    out = tmp_path / "q"
    r = invoke("--model", "lenet5", "--out", str(out))
    assert isinstance(r.exception, ExportError)
    assert "module 'features_3'" in str(r.exception) and "checkpoint kept at" in str(r.exception)
    qmodel, _ = load_quant_checkpoint(out / "model.quant.pt")  # intact and loadable
    assert not (out / "model.qonnx.onnx").exists()


def _float_checkpoint(tmp_path, name, task, cfg):
    from fpga_flow.data import get_loaders, synth
    from fpga_flow.models import build, save_checkpoint
    from fpga_flow.models.train import TrainConfig, fit

    data = tmp_path / f"data_{task}"
    synth.generate(data, task, n=48, seed=0, size=32)
    loaders = get_loaders(data, task, image_size=32, batch_size=16, seed=0)
    cfg = dict(cfg, num_classes=len(loaders["train"].dataset.index.classes))
    result = fit(build(name, **cfg), loaders, task, TrainConfig(epochs=1, progress=False))
    return save_checkpoint(tmp_path / f"{name}.pt", result.model, name, cfg, result.best), data


def test_quantize_checkpoint_with_data_and_qat(tmp_path):
    ckpt, data = _float_checkpoint(tmp_path, "vgg16", "cls", dict(width=0.125, in_size=32))
    out = tmp_path / "q"
    r = invoke("--model", str(ckpt), "--data", str(data), "--epochs", "1", "--out", str(out))
    assert r.exit_code == 0, r.output + repr(r.exception)
    md = (out / "quant_summary.md").read_text()
    for row in ("| float |", "| W4A4 calibrated |", "| W4A4 QAT (1 epochs) |"):
        assert row in md
    assert "balanced_accuracy" in md and "metrics on the test split" in md
    _, meta = load_quant_checkpoint(out / "model.quant.pt")
    assert set(meta["metrics"]) == {"float", "W4A4 calibrated", "W4A4 QAT (1 epochs)"}


@pytest.mark.slow
def test_quantize_segnet_with_data(tmp_path):
    ckpt, data = _float_checkpoint(tmp_path, "segnet", "seg", dict(width=0.125, in_size=32))
    out = tmp_path / "q"
    r = invoke("--model", str(ckpt), "--data", str(data), "--epochs", "1", "--wbits", "2",
               "--abits", "2", "--out", str(out))
    assert r.exit_code == 0, r.output + repr(r.exception)
    md = (out / "quant_summary.md").read_text()
    assert "| model | dice | iou |" in md and "| W2A2 QAT (1 epochs) |" in md
    assert "Resize" in md
