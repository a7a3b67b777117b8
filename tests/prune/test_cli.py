"""`fpga-flow prune`: errors, and the LeNet-5 Table 1 reproduction (slow)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from fpga_flow.errors import FlowError
from fpga_flow.prune.cli import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    return app


def _invoke(args):
    return CliRunner().invoke(_app(), ["prune", *args])


def test_digits_needs_lenet5() -> None:
    r = _invoke(["--model", "vgg16", "--dataset", "digits"])
    assert isinstance(r.exception, FlowError) and "lenet5, not vgg16" in str(r.exception)


def test_unknown_method() -> None:
    r = _invoke(["--model", "lenet5", "--dataset", "digits", "--method", "obd"])
    assert isinstance(r.exception, FlowError) and "unknown pruning method 'obd'" in str(r.exception)


def test_isic_needs_checkpoint_and_data() -> None:
    r = _invoke(["--model", "vgg16"])
    assert isinstance(r.exception, FlowError) and "--checkpoint" in str(r.exception)


@pytest.mark.slow
def test_lenet5_digits_table(tmp_path) -> None:
    out, rep = tmp_path / "lenet5-pruned.pt", tmp_path / "table.md"
    r = _invoke(["--model", "lenet5", "--dataset", "digits", "--out", str(out), "--report", str(rep)])
    assert r.exit_code == 0, r.output
    text = rep.read_text()
    assert "| SeReNe (seed) |" in text and "| serene (ours) |" in text
    from fpga_flow.models import load_checkpoint

    model, meta = load_checkpoint(out)
    assert meta["metrics"]["compression"] > 10
    assert sum(meta["config"]["channels"]) < 570


@pytest.mark.parametrize("task,name", [("cls", "vgg16"), ("seg", "segnet")])
def test_isic_prune_writes_pruned_checkpoint(tmp_path, task: str, name: str) -> None:
    import torch

    from fpga_flow.data import get_loaders, synth
    from fpga_flow.models import build, hidden_widths, save_checkpoint

    torch.set_num_threads(1)
    synth.generate(tmp_path / "d", task=task, n=24, seed=0, size=32)
    cfg = {"in_size": 32, "width": 1 / 16} | ({"num_classes": 9} if task == "cls" else {})
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.pt", build(name, **cfg), name, cfg)
    out = tmp_path / f"{name}-pruned.pt"
    r = _invoke(["--model", name, "--data", str(tmp_path / "d"), "--checkpoint", str(tmp_path / "m.pt"),
                 "--epochs", "2", "--patience", "0", "--multiple-of", "2", "--bound", "100", "--out", str(out),
                 "--batch-size", "8", "--report", str(tmp_path / "r.md")])
    assert r.exit_code == 0, r.output
    m = build(f"{name}-pruned", checkpoint=out)
    widths = hidden_widths(m)
    assert all(w % 2 == 0 for w in widths) and sum(widths) < sum(hidden_widths(build(name, **cfg)))
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    assert "| total |" in (tmp_path / "r.md").read_text()


def test_pruned_name_uses_recipe_and_default_checkpoint(tmp_path, monkeypatch) -> None:
    import torch

    from fpga_flow.data import synth
    from fpga_flow.models import build, hidden_widths, save_checkpoint

    torch.set_num_threads(1)
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "ck"))
    synth.generate(tmp_path / "d", task="cls", n=24, seed=0, size=32)
    cfg = {"in_size": 32, "width": 1 / 4, "num_classes": 9}
    save_checkpoint(tmp_path / "m.pt", build("vgg16", **cfg), "vgg16", cfg)
    r = _invoke(["--model", "vgg16-pruned", "--data", str(tmp_path / "d"), "--checkpoint", str(tmp_path / "m.pt"),
                 "--epochs", "1", "--patience", "0", "--bound", "100", "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ck" / "vgg16-pruned.pt").is_file()
    widths = hidden_widths(build("vgg16-pruned"))  # resolves to the checkpoint just written
    assert all(w % 8 == 0 for w in widths)          # the recipe rounds to multiples of 8
    assert sum(widths) < sum(hidden_widths(build("vgg16", **cfg)))
