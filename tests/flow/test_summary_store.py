"""The flow's opening summary says where the weights come from: the committed row checkpoints of a plain
224x224 run, training otherwise."""

from pathlib import Path

from fpga_flow.flow.config import FlowConfig
from fpga_flow.models.store import COMMITTED


def test_summary_names_the_committed_row_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "empty-store"))
    assert (COMMITTED / "vgg16-hcr.pt").is_file() and (COMMITTED / "vgg16-hcr.quant.pt").is_file()
    text = FlowConfig(model="vgg16-pruned").summary()
    assert f"weights from the store: {COMMITTED / 'vgg16-hcr.pt'} and vgg16-hcr.quant.pt" in text
    assert "training 30 epochs" not in text


def test_summary_says_training_where_the_store_does_not_apply(tmp_path, monkeypatch):
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "empty-store"))
    own_data = FlowConfig(model="vgg16-hcr", data=Path(tmp_path))
    assert "training 30 epochs, SeReNe 20 epochs, QAT 10 epoch(s)" in own_data.summary()
    unstored = FlowConfig(model="segnet-pruned")
    assert "weights from the store" not in unstored.summary()
