"""Checkpoints: round trip, truncated file, wrong architecture, pruned-name lookup."""

from __future__ import annotations

import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.models import build, hidden_widths, load_checkpoint, save_checkpoint


def setup_module() -> None:
    torch.set_num_threads(1)


def test_round_trip(tmp_path) -> None:
    cfg = {"width": 1 / 16, "in_size": 32, "num_classes": 3}
    m = build("vgg16", **cfg).eval()
    x = torch.randn(2, 3, 32, 32)
    path = save_checkpoint(tmp_path / "v.pt", m, "vgg16", cfg, {"val_balanced_accuracy": 0.5})
    m2, meta = load_checkpoint(path)
    assert meta == {"name": "vgg16", "config": cfg, "metrics": {"val_balanced_accuracy": 0.5}}
    torch.testing.assert_close(m2(x), m(x), rtol=0, atol=0)
    blob = torch.load(path, weights_only=True)
    assert set(blob) >= {"name", "config", "state_dict", "metrics"}


def test_truncated_file_names_it(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "t.pt", build("lenet5"), "lenet5", {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FlowError, match=r"t\.pt: not a readable checkpoint"):
        load_checkpoint(path)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(FlowError, match="nope.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_wrong_architecture(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "w.pt", build("lenet5"), "lenet5", {})
    blob = torch.load(path, weights_only=True)
    blob["config"] = {"channels": [11, 26, 113]}  # config says pruned, weights are full size
    torch.save(blob, path)
    with pytest.raises(FlowError, match=r"w\.pt: weights do not match architecture lenet5"):
        load_checkpoint(path)
    torch.save({"hello": 1}, path)
    with pytest.raises(FlowError, match=r"w\.pt: not an fpga_flow checkpoint"):
        load_checkpoint(path)


def test_pruned_name_resolves_to_checkpoint(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path))
    cfg = {"in_size": 32, "width": 1 / 16, "bn": False, "channels": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]}
    m = build("vgg16-pruned", **cfg)
    save_checkpoint(tmp_path / "vgg16-pruned.pt", m, "vgg16-pruned", cfg)
    m2 = build("vgg16-pruned")
    assert hidden_widths(m2) == cfg["channels"]
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(m2(x), m.eval()(x))
