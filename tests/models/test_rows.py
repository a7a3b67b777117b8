"""Table 4 rows: registry, checkpoint store with provenance, partial checkpoints under SIGTERM, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from fpga_flow.errors import FlowError
from fpga_flow.models import build, hidden_widths, load_checkpoint, save_checkpoint
from fpga_flow.models.provenance import provenance_path, sha256_file, verify_provenance, write_provenance
from fpga_flow.models.registry import canonical, rows, spec
from fpga_flow.models.store import load_row, row_checkpoint
from fpga_flow.models.train import partial_path

SMALL = {"in_size": 32, "width": 1 / 16}
ROOT = Path(__file__).resolve().parents[2]


def setup_module() -> None:
    torch.set_num_threads(1)


def test_rows_resolve_to_architecture_recipe_and_bits() -> None:
    assert rows() == ["vgg16", "vgg16-quantized", "vgg16-ha", "vgg16-hcr", "segnet", "segnet-pruned"]
    table = {r: (spec(r).arch, spec(r).recipe and spec(r).recipe.loss_bound, spec(r).bits.label(), spec(r).reference)
             for r in rows()}
    assert table == {
        "vgg16": ("vgg16", None, "W8A8", "VGG16 (FPGA)"),
        "vgg16-quantized": ("vgg16", None, "W4A4", "VGG16-Quantized"),
        "vgg16-ha": ("vgg16", 0.0, "W4A4", "VGG16-HA"),
        "vgg16-hcr": ("vgg16", 2.0, "W4A4", "VGG16-HCR"),
        "segnet": ("segnet", None, "W8A8", "SegNet (FPGA)"),
        "segnet-pruned": ("segnet", 1.0, "W4A4", "SegNet-Pruned"),
    }
    assert all(spec(r).bits.first_wbits == 8 for r in rows())
    assert canonical("vgg16-pruned") == "vgg16-hcr" and spec("vgg16-pruned") is spec("vgg16-hcr")
    # unpruned rows build the full base network; pruned rows the recipe's (nominal) plan
    assert hidden_widths(build("vgg16-quantized", **SMALL)) == hidden_widths(build("vgg16", **SMALL))
    assert hidden_widths(build("segnet-pruned", **SMALL)) != hidden_widths(build("segnet", **SMALL))


def test_unknown_row_lists_the_rows() -> None:
    with pytest.raises(FlowError, match=r"unknown model 'vgg19'; Table 4 rows: vgg16 \(VGG16 \(FPGA\)\); "
                                        r"vgg16-quantized .*vgg16-hcr \(VGG16-HCR\).*segnet-pruned.*vgg16-pruned = vgg16-hcr"):
        build("vgg19")


def _stored(tmp_path: Path, row: str, name: str, cfg: dict, **prov) -> Path:
    path = save_checkpoint(tmp_path / f"{row}.pt", build(name, **cfg), name, cfg, {"test_iou": 0.5})
    write_provenance(path, row=row, commands=["fpga-flow train ..."], seeds={"train": 0},
                     metrics={"after": {"test_iou": 0.5}}, extra={"bits": asdict(spec(row).bits)} | prov)
    return path


def test_store_loads_a_row_with_matching_provenance(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path))
    cfg = SMALL | {"bn": False, "channels": [2, 2, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 2, 2, 2]}
    path = _stored(tmp_path, "segnet-pruned", "segnet", cfg)
    assert row_checkpoint("segnet-pruned") == path
    model, meta, record = load_row("segnet-pruned")
    assert hidden_widths(model) == cfg["channels"]
    assert record["sha256"] == sha256_file(path) and record["row"] == "segnet-pruned"
    assert json.loads(provenance_path(path).read_text())["commands"] == ["fpga-flow train ..."]


def test_hash_mismatch_names_the_provenance_file(tmp_path) -> None:
    path = _stored(tmp_path, "vgg16", "vgg16", SMALL)
    before = path.read_bytes()
    save_checkpoint(path, build("vgg16", **SMALL), "vgg16", SMALL)  # other weights, same name
    with pytest.raises(FlowError, match=r"vgg16\.provenance\.json: records sha256 .* not the one this provenance"):
        load_row("vgg16", path)
    assert path.read_bytes() != before  # (the test's own overwrite) ...
    prov = provenance_path(path)
    prov.unlink()
    with pytest.raises(FlowError, match=r"vgg16\.pt: no provenance file vgg16\.provenance\.json"):
        verify_provenance(path)


def test_architecture_and_bits_mismatch_name_the_checkpoint(tmp_path, monkeypatch) -> None:
    seg = _stored(tmp_path, "vgg16", "segnet", SMALL)  # a segnet stored under the vgg16 row
    with pytest.raises(FlowError, match=r"vgg16\.pt: holds a segnet \(segnet\), row vgg16 is a vgg16"):
        load_row("vgg16", seg)
    full = _stored(tmp_path, "vgg16-hcr", "vgg16", SMALL)  # unpruned weights for a pruned row
    with pytest.raises(FlowError, match=r"vgg16-hcr\.pt: holds the unpruned vgg16, row vgg16-hcr is SeReNe-pruned"):
        load_row("vgg16-pruned", full)
    w8 = _stored(tmp_path, "vgg16-quantized", "vgg16", SMALL, bits={"wbits": 8, "abits": 8, "first_wbits": 8,
                                                                     "last_wbits": 8})
    with pytest.raises(FlowError, match=r"vgg16-quantized\.pt: bit widths .*'wbits': 8.* row vgg16-quantized is"):
        load_row("vgg16-quantized", w8)
    import fpga_flow.models.store as store

    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "none"))
    monkeypatch.setattr(store, "COMMITTED", tmp_path / "none")
    with pytest.raises(FlowError, match=r"row segnet: no stored checkpoint"):
        load_row("segnet")


def test_partial_checkpoint_is_marked_and_refused(tmp_path) -> None:
    m = build("lenet5")
    p = save_checkpoint(tmp_path / "l.pt", m, "lenet5", {}, complete=False, progress={"epoch": 5, "epochs": 10})
    with pytest.raises(FlowError, match=r"l\.pt: partial checkpoint of a run that did not finish "
                                        r"\(stopped after epoch 5 of 10\)"):
        load_checkpoint(p)
    load_checkpoint(p, allow_partial=True)
    assert [x.name for x in tmp_path.iterdir()] == ["l.pt"]  # the temp file was renamed away


def test_sigterm_during_training_keeps_the_finished_checkpoint(tmp_path) -> None:
    out = tmp_path / "lenet.pt"
    save_checkpoint(out, build("lenet5"), "lenet5", {}, {"val_accuracy": 0.123})
    before = out.read_bytes()
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", "from fpga_flow.cli import main; main()", "train", "--model",
                             "lenet5", "--data", "digits", "--epochs", "200", "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    partial = partial_path(out)
    deadline = time.time() + 120
    while not partial.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert partial.exists(), proc.stderr.read() if proc.poll() is not None else "no epoch finished in 120 s"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert out.read_bytes() == before  # the killed run did not replace the finished checkpoint
    assert not provenance_path(out).exists()  # nor wrote a provenance for it
    with pytest.raises(FlowError, match="partial checkpoint of a run that did not finish"):
        load_checkpoint(partial)
    _, meta = load_checkpoint(partial, allow_partial=True)
    assert 0 < meta["metrics"]["val_accuracy"] <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.partial.pt", "lenet.pt"]  # no temp file left
