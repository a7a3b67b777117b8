"""Accuracy through the stages: the ledger, its warnings (stage named), and the flow's row resolution."""

from __future__ import annotations

import json

import pytest

from fpga_flow import stage_accuracy as sa
from fpga_flow.errors import FlowError
from fpga_flow.flow import FlowConfig


def _s(stage: str, value: float, bound: float | None = 1.0) -> sa.StageScore:
    return sa.StageScore(stage, "balanced_accuracy", value, "test", 120, 32, bound)


def test_a_stage_past_its_bound_is_a_warning_naming_it(tmp_path) -> None:
    assert sa.record(tmp_path, "vgg16-hcr", _s("float", 0.942, None)) is None
    assert sa.record(tmp_path, "vgg16-hcr", _s("pruned", 0.967, 2.0)) is None  # a gain
    warn = sa.record(tmp_path, "vgg16-hcr", _s("quantized", 0.800))
    assert warn == ("stage quantized lost 16.70 points of test balanced_accuracy (pruned 96.70 % -> quantized "
                    "80.00 %, 120 test images; bound 1 points for vgg16-hcr)")
    data = json.loads((tmp_path / sa.LEDGER).read_text())
    assert [s["stage"] for s in data["stages"]] == ["float", "pruned", "quantized"] and data["warnings"] == [warn]
    # within the bound (0.83 points = one image of 120): no warning; re-running a stage drops the later ones
    assert sa.record(tmp_path, "vgg16-hcr", _s("quantized", 0.9587)) is None
    assert sa.record(tmp_path, "vgg16-hcr", _s("pruned", 0.90, 2.0)).startswith("stage pruned lost 4.20 points")
    data = sa.read(tmp_path)
    assert [s["stage"] for s in data["stages"]] == ["float", "pruned"] and len(data["warnings"]) == 1


def test_flow_rows_resolve_bits_and_architecture() -> None:
    c = FlowConfig(model="vgg16-pruned")
    assert (c.row_name, c.base, c.task, c.image_size, c.low_size) == ("vgg16-hcr", "vgg16", "cls", 224, 32)
    q = c.quant_spec()
    assert (q.wbits, q.abits, q.first_wbits, q.last_wbits) == (4, 4, 8, 8)
    q = FlowConfig(model="segnet").quant_spec()
    assert (q.wbits, q.abits) == (8, 8)
    assert FlowConfig(model="vgg16-quantized").base == "vgg16" and not FlowConfig(model="vgg16-quantized").row.pruned
    assert FlowConfig(model="vgg16", wbits=6).quant_spec().wbits == 6
    with pytest.raises(FlowError, match="lenet5 is not a Table 4 row; the flow builds: vgg16, vgg16-quantized"):
        FlowConfig(model="lenet5").task
    with pytest.raises(FlowError, match="unknown model 'vgg11'; Table 4 rows: vgg16"):
        FlowConfig(model="vgg11").task


def test_stored_row_checkpoint_replaces_training_and_pruning(tmp_path, monkeypatch) -> None:
    """A row in the store (provenance checked) is used as it is: no training, no SeReNe; `fpga-flow store`
    refuses to overwrite a stored row without --force, and a tampered checkpoint fails on its hash."""
    from dataclasses import asdict

    from fpga_flow.data import synth
    from fpga_flow.flow import Flow, st_prune, st_train
    from fpga_flow.models import build, hidden_widths, save_checkpoint
    from fpga_flow.models.provenance import sha256_file, write_provenance
    from fpga_flow.models.registry import spec
    from fpga_flow.models.store import publish

    store = tmp_path / "store"
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(store))
    cfg = {"in_size": 32, "width": 1 / 16, "num_classes": 9, "bn": False,
           "channels": [2, 2, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8]}
    made = save_checkpoint(tmp_path / "made" / "pruned.pt", build("vgg16", **cfg), "vgg16", cfg,
                           {"balanced_accuracy": 0.4})
    write_provenance(made, row="vgg16-hcr", commands=["fpga-flow bitstream --model vgg16-hcr"],
                     extra={"bits": asdict(spec("vgg16-hcr").bits)})
    dest = publish("vgg16-pruned", made)
    assert dest == store / "vgg16-hcr.pt" and (store / "vgg16-hcr.provenance.json").is_file()
    assert publish("vgg16-hcr", made) == dest  # the same bytes again: left as they are
    other = save_checkpoint(tmp_path / "other" / "pruned.pt", build("vgg16", **cfg), "vgg16", cfg)
    write_provenance(other, row="vgg16-hcr", extra={"bits": asdict(spec("vgg16-hcr").bits)})
    with pytest.raises(FlowError, match=r"vgg16-hcr\.pt: a stored checkpoint of row vgg16-hcr exists"):
        publish("vgg16-hcr", other)
    assert sha256_file(dest) == sha256_file(made)

    c = FlowConfig(model="vgg16-pruned", build_root=tmp_path / "b", image_size=32, n_images=40,
                   width=1 / 16)  # the stored checkpoint's width: another width trains instead
    synth.generate(c.data_root, "cls", n=40, seed=0, size=32)
    f = Flow(c)
    st_train(f)
    st_prune(f)
    assert (f.path("checkpoints/float.pt").read_bytes() == dest.read_bytes())
    assert not f.path("prune_report.json").exists()  # no SeReNe ran
    from fpga_flow.models import load_checkpoint

    assert hidden_widths(load_checkpoint(f.path("checkpoints/pruned.pt"))[0]) == cfg["channels"]
    record = json.loads(f.path("checkpoints/pruned.provenance.json").read_text())
    assert record["row"] == "vgg16-hcr" and record["parent"]["commands"] == ["fpga-flow bitstream --model vgg16-hcr"]

    data = dest.read_bytes()
    dest.write_bytes(data[:-64] + bytes([data[-64] ^ 1]) + data[-63:])  # tampered
    with pytest.raises(FlowError, match=r"vgg16-hcr\.provenance\.json: records sha256"):
        st_train(Flow(FlowConfig(model="vgg16-hcr", build_root=tmp_path / "c", image_size=32, n_images=40)))


@pytest.mark.slow
def test_design_size_path_trains_small_then_fine_tunes_at_the_design_size(tmp_path) -> None:
    """An unpruned row: float training at train_size, the same weights fine-tuned at image_size (scaled down
    here: 32 -> 64), both stages in the ledger with the size they were measured at."""
    import torch

    from fpga_flow.flow import STAGES, Flow
    from fpga_flow.models import load_checkpoint

    torch.set_num_threads(1)
    c = FlowConfig(model="vgg16-quantized", build_root=tmp_path, image_size=64, train_size=32, width=1 / 16,
                   epochs=1, finetune_epochs=1, n_images=40, qat_size=0)  # 0: QAT at image_size (not the recipe)
    f = Flow(c)
    f.run([s for s in STAGES if s.name in ("data", "train", "prune")])
    model, meta = load_checkpoint(f.path("checkpoints/pruned.pt"))
    assert model.input_shape == (3, 64, 64) and meta["config"]["in_size"] == 64
    assert load_checkpoint(f.path("checkpoints/float.pt"))[0].input_shape == (3, 32, 32)
    ledger = sa.read(c.bdir)
    assert [(s["stage"], s["size"]) for s in ledger["stages"]] == [("float", 32), ("fine-tuned", 64)]
    assert all(0 <= s["value"] <= 1 for s in ledger["stages"])
    record = json.loads(f.path("checkpoints/pruned.provenance.json").read_text())
    assert record["row"] == "vgg16-quantized" and record["bits"]["wbits"] == 4
