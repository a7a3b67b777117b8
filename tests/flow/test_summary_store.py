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


def test_summary_says_training_when_the_stored_checkpoint_is_another_size_or_width(tmp_path, monkeypatch):
    """The demo (32x32, width x0.125) trains its own model: its summary must not promise the store's."""
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "empty-store"))
    demo = FlowConfig(model="vgg16-pruned", image_size=32, width=0.125, epochs=10).summary()
    assert "weights from the store" not in demo
    assert "training 10 epochs" in demo
    assert "(the stored vgg16-hcr.pt is for input 224, not 32: not used)" in demo
    narrow = FlowConfig(model="vgg16-hcr", width=0.25).summary()
    assert "(the stored vgg16-hcr.pt is for width ×1, not ×0.25: not used)" in narrow
