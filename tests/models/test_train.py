"""Training loop: learns, checkpoints the best epoch, evaluates with the data metrics."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from fpga_flow.models import build, load_checkpoint
from fpga_flow.models.train import TrainConfig, evaluate, fit
from fpga_flow.prune.digits import digits_loaders


def setup_module() -> None:
    torch.set_num_threads(1)


def test_fit_digits_learns_and_checkpoints(tmp_path) -> None:
    loaders = digits_loaders(batch_size=64, size=16)
    torch.manual_seed(0)
    m = build("lenet5", in_size=16, channels=[16, 32, 64])
    before = evaluate(m, loaders["val"], "digits")["accuracy"]
    res = fit(m, loaders, "digits", TrainConfig(epochs=3, lr=3e-3, progress=False), checkpoint=tmp_path / "l.pt",
              name="lenet5", model_cfg={"in_size": 16, "channels": [16, 32, 64]})
    assert before < 0.3 < 0.8 < res.best["val_accuracy"]
    assert {"test_accuracy", "test_balanced_accuracy", "epoch"} <= set(res.best)
    m2, meta = load_checkpoint(tmp_path / "l.pt")
    assert meta["metrics"]["val_accuracy"] == pytest.approx(res.best["val_accuracy"])
    assert evaluate(m2, loaders["val"], "digits")["accuracy"] == pytest.approx(res.best["val_accuracy"])


def test_fit_is_seeded() -> None:
    loaders = digits_loaders(batch_size=64, size=16)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        m = build("lenet5", in_size=16, channels=[4, 8, 16])
        runs.append(fit(m, loaders, "digits", TrainConfig(epochs=1, progress=False)).history[0]["train_loss"])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("task,name", [("cls", "vgg16"), ("seg", "segnet")])
def test_train_cli_on_synthetic_isic(tmp_path, task: str, name: str) -> None:
    import typer

    from fpga_flow.data import synth
    from fpga_flow.models.cli import register

    synth.generate(tmp_path / "data", task=task, n=24, seed=0, size=32)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / f"{name}.pt"
    r = CliRunner().invoke(app, ["train", "--model", name, "--data", str(tmp_path / "data"), "--epochs", "1",
                                 "--in-size", "32", "--width", "0.0625", "--out", str(out)])
    assert r.exit_code == 0, r.output
    model, meta = load_checkpoint(out)
    key = "val_iou" if task == "seg" else "val_balanced_accuracy"
    assert 0.0 <= meta["metrics"][key] <= 1.0
    assert meta["config"]["in_size"] == 32
