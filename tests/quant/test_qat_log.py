"""QAT's log: the epochs are shown once, by the progress display; the stage adds a single summary line."""

import torch
from torch.utils.data import DataLoader, TensorDataset

from fpga_flow.quant.pipeline import _fine_tune


def test_qat_summarises_its_epochs_in_one_line(capsys):
    torch.manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8), torch.randint(0, 2, (32,))
    loaders = {k: DataLoader(TensorDataset(x, y), batch_size=8) for k in ("train", "val")}
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    lines: list[str] = []
    _fine_tune(model, loaders, "cls", epochs=3, lr=1e-3, seed=0, log=lines.append)
    assert len(lines) == 1, lines
    assert lines[0].startswith("qat: train loss by epoch ") and "best epoch on validation" in lines[0]
    losses = lines[0].split("by epoch ")[1].split(";")[0].split(", ")
    assert len(losses) == 3 and all(float(v) > 0 for v in losses)
