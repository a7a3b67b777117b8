"""Training progress in a log (issue 16): plain lines when stdout is not a terminal, the bar alone on one."""

from __future__ import annotations

import io
import re

import pytest
import torch

from fpga_flow.models import build
from fpga_flow.models import progress as P
from fpga_flow.models.train import TrainConfig, fit
from fpga_flow.prune.digits import digits_loaders

LINE = re.compile(r"^train: epoch (\d+)/3, loss (\d+\.\d{3}) val accuracy (\d\.\d{3}), (\d+\.\d)s elapsed$")


@pytest.fixture(autouse=True)
def _not_forced_terminal(monkeypatch):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):  # rich reads them as "a terminal"
        monkeypatch.delenv(var, raising=False)
    torch.set_num_threads(1)


def _tiny_fit():
    loaders = digits_loaders(batch_size=128, size=16)
    torch.manual_seed(0)
    model = build("lenet5", in_size=16, channels=[4, 8, 16])
    return fit(model, loaders, "digits", TrainConfig(epochs=3, lr=3e-3))


def test_a_log_gets_one_line_per_epoch_with_loss_metric_and_time(capsys, monkeypatch):
    monkeypatch.setattr(P, "PLAIN_INTERVAL_S", 0.0)
    res = _tiny_fit()
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("train")]
    matches = [LINE.match(ln) for ln in lines]
    assert all(matches), lines
    assert [int(m[1]) for m in matches] == [1, 2, 3]
    for m, row in zip(matches, res.history):
        assert m[2] == f"{row['train_loss']:.3f}" and m[3] == f"{row['val_accuracy']:.3f}"
    seconds = [float(m[4]) for m in matches]
    assert seconds == sorted(seconds) and seconds[-1] < 120


def test_short_epochs_are_throttled_to_the_first_and_the_last(capsys):
    assert P.PLAIN_INTERVAL_S == 30.0
    _tiny_fit()  # three epochs well under 30 s
    epochs = [int(LINE.match(ln)[1]) for ln in capsys.readouterr().out.splitlines() if LINE.match(ln)]
    assert epochs == [1, 3]


def test_a_terminal_gets_the_bar_and_no_plain_lines(capsys, monkeypatch):
    monkeypatch.setattr(P, "stdout_is_terminal", lambda: True)
    monkeypatch.setattr(P, "PLAIN_INTERVAL_S", 0.0)
    _tiny_fit()
    out = capsys.readouterr().out
    assert not any(LINE.match(ln) for ln in out.splitlines()), out
    assert "train" in out  # rich drew its bar (once, at the end, on a captured stream)


def test_progress_false_is_silent_everywhere(capsys):
    with P.progress_bar(False) as bar:
        bar.update(bar.add_task("train", total=2, info=""), advance=1, info="x")
    assert capsys.readouterr().out == ""


def test_plain_progress_throttle_and_clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(P.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    bar = P.PlainProgress(out, interval_s=30)
    job = bar.add_task("prune serene", total=5)
    for dt in (10, 10, 15, 20, 200):  # epochs ending at +10, +20, +35, +55, +255 s
        now[0] += dt
        bar.update(job, advance=1, info="pruned 12.5%")
    assert out.getvalue().splitlines() == [
        "prune serene: epoch 1/5, pruned 12.5%, 10.0s elapsed",   # the first
        "prune serene: epoch 4/5, pruned 12.5%, 55.0s elapsed",   # 2 and 3 came 10 s and 25 s after it
        "prune serene: epoch 5/5, pruned 12.5%, 4m15s elapsed",   # the last, whenever it comes
    ]


@pytest.mark.parametrize("seconds, text", [(0.04, "0.0s"), (59.94, "59.9s"), (61, "1m01s"), (3599, "59m59s"),
                                           (7380, "2h03m")])
def test_elapsed_text(seconds, text):
    assert P.elapsed_text(seconds) == text
