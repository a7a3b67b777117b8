"""Quantized row checkpoints in the store: `fpga-flow store` publishes a build's QAT result with its provenance,
a later build made from the same pruned checkpoint with the same QAT settings uses it instead of QAT, and a
stored one that is not the row's (hash, bits, architecture) stops the build with one error naming the file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

import fpga_flow.quant as quant_pkg
from fpga_flow import stage_accuracy
from fpga_flow.data import synth
from fpga_flow.errors import FlowError
from fpga_flow.flow import STAGES, Flow, FlowConfig, st_prune, st_quantize, st_train
from fpga_flow.flow.quant_reuse import qat_settings, record_earlier_quant, stored_quant
from fpga_flow.models import build, save_checkpoint
from fpga_flow.models.provenance import provenance_path, sha256_file, write_provenance
from fpga_flow.models.quant_store import publish_build
from fpga_flow.models.registry import spec
from fpga_flow.models.store import publish
from fpga_flow.quant import QuantSpec, calibrate, quantize_model, save_quant_checkpoint

ROOT = Path(__file__).resolve().parents[2]
ROW = "vgg16-hcr"
CFG = {"in_size": 32, "width": 1 / 16, "num_classes": 9, "bn": True,
       "channels": [4, 4, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 16]}
N_IMAGES = 120  # 88 train / 16 val / 16 test


def setup_module() -> None:
    torch.set_num_threads(1)


def _pruned_row(path: Path, seed: int = 0, data: Path | None = None) -> Path:
    """A pruned vgg16 float checkpoint of the row with its provenance (as `fpga-flow bitstream` leaves it);
    trained for 10 epochs on ``data`` when given (1.5 s; 37.5 % test balanced accuracy, chance 12.5 %)."""
    from fpga_flow.data import get_loaders
    from fpga_flow.models.train import TrainConfig, fit

    torch.manual_seed(seed)
    model = build("vgg16", **CFG)
    if data is not None:
        synth.generate(data, "cls", n=N_IMAGES, seed=0, size=32, overwrite=True)
        loaders = get_loaders(data, "cls", image_size=32, batch_size=16, seed=0)
        model = fit(model, loaders, "cls", TrainConfig(epochs=10, lr=1e-2, seed=0)).model
    made = save_checkpoint(path, model, "vgg16", CFG, {"balanced_accuracy": 0.4})
    write_provenance(made, row=ROW, commands=["fpga-flow bitstream --model vgg16-hcr"],
                     extra={"bits": asdict(spec(ROW).bits)})
    return made


def _config(root: Path, **kw) -> FlowConfig:
    return FlowConfig(model=ROW, build_root=root, image_size=32, n_images=N_IMAGES, qat_epochs=1,
                      **{"width": CFG["width"]} | kw)  # the stored checkpoint's width, or it is not used


def _up_to_prune(c: FlowConfig) -> Flow:
    """data, train and prune of a build whose float row comes from the store (no training, no SeReNe)."""
    synth.generate(c.data_root, "cls", n=c.n_images, seed=c.seed, size=32, overwrite=True)
    f = Flow(c)
    st_train(f)
    st_prune(f)
    return f


def _quantized(f: Flow) -> float:
    return next(s["value"] for s in stage_accuracy.read(f.cfg.bdir)["stages"] if s["stage"] == "quantized")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    """Build A: float row from the store, QAT (1 epoch), then `store` of its checkpoints."""
    tmp = tmp_path_factory.mktemp("made")
    store = tmp / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FPGA_FLOW_CHECKPOINTS", str(store))
        mp.setattr("fpga_flow.models.store.COMMITTED", tmp / "committed")
        publish(ROW, _pruned_row(tmp / "first" / "pruned.pt", data=tmp / "data"))
        f = Flow(_config(tmp / "a"))
        f.run([s for s in STAGES if s.name in ("data", "train", "prune", "quantize")])  # flow.json too
        lines = publish_build(ROW, f.cfg.bdir)
    return {"store": store, "flow": f, "lines": lines}


@pytest.fixture
def store(made, tmp_path, monkeypatch) -> Path:
    """A copy of build A's store, as this test's store."""
    dst = tmp_path / "store"
    shutil.copytree(made["store"], dst)
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(dst))
    monkeypatch.setattr("fpga_flow.models.store.COMMITTED", tmp_path / "committed")
    return dst


def _qat_spy(monkeypatch) -> list:
    calls: list = []
    real = quant_pkg.quantize_flow

    def spy(*args, **kw):
        calls.append(kw.get("epochs"))
        return real(*args, **kw)

    monkeypatch.setattr(quant_pkg, "quantize_flow", spy)
    return calls


def test_published_quantized_checkpoint_replaces_qat(made, store, tmp_path, monkeypatch, capsys) -> None:
    a = made["flow"]
    quant = a.path("quant/model.quant.pt")
    record = json.loads(provenance_path(quant).read_text())
    pruned_sha = sha256_file(a.path("checkpoints/pruned.pt"))
    # the build's pruned checkpoint is the stored row byte for byte; the QAT's provenance names it
    assert pruned_sha == sha256_file(store / f"{ROW}.pt") == record["source_sha256"]
    assert record["sha256"] == sha256_file(quant) and record["row"] == ROW and record["stage"] == "quantize"
    assert record["qat"] == qat_settings(a.cfg) and record["qat"]["qat_epochs"] == 1
    assert record["qat"]["bits"] == {"wbits": 4, "abits": 4, "first_wbits": 8, "last_wbits": 8}
    assert record["seconds"]["quantize"] > 0 and record["parent"]["sha256"] == pruned_sha
    assert list(record["metrics"]["after"]) == ["W4A4 calibrated", "W4A4 QAT (1 epochs)"]
    assert record["metrics"]["after"]["W4A4 QAT (1 epochs)"]["balanced_accuracy"] == _quantized(a)
    # `store`: the float row was already stored (same bytes), the quantized one is new
    assert made["lines"] == [f"{ROW}: unchanged {made['store'] / (ROW + '.pt')} (+ provenance)",
                             f"{ROW}: stored {made['store'] / (ROW + '.quant.pt')} (+ provenance)"]
    assert sha256_file(store / f"{ROW}.quant.pt") == record["sha256"]
    assert (store / f"{ROW}.quant.provenance.json").read_text() == provenance_path(quant).read_text()

    calls = _qat_spy(monkeypatch)
    b = _up_to_prune(_config(tmp_path / "b"))
    capsys.readouterr()
    st_quantize(b)
    out = capsys.readouterr().out
    assert calls == []  # no QAT
    assert re.search(rf"stored quantized checkpoint {re.escape(str(store))}/{ROW}\.quant\.pt \(sha256 "
                     rf"{record['sha256'][:12]}…, trained from this build's pruned\.pt, same QAT settings; "
                     r"made by: .*\): no QAT", " ".join(out.split())), out
    assert b.path("quant/model.quant.pt").read_bytes() == quant.read_bytes()
    assert b.path("model.qonnx.onnx").read_bytes() == a.path("model.qonnx.onnx").read_bytes()
    # the quantized accuracy is measured again, on the same test split at the same size: the same figure
    assert _quantized(b) == _quantized(a) and 0.3 < _quantized(b) <= 1  # chance: 0.125
    summary = json.loads(b.path("quant/quant_summary.json").read_text())
    assert list(summary["metrics"]) == [f"W4A4 stored ({ROW}.quant.pt)"] and summary["input_shape"] == [1, 3, 32, 32]


def test_other_source_or_settings_run_qat(made, store, tmp_path, monkeypatch, capsys) -> None:
    calls = _qat_spy(monkeypatch)
    # other QAT settings: one line says which, QAT runs
    c = _up_to_prune(_config(tmp_path / "lr", qat_lr=3e-4))
    capsys.readouterr()
    st_quantize(c)
    out = " ".join(capsys.readouterr().out.split())
    assert calls == [1]
    assert f"stored quantized checkpoint {store}/{ROW}.quant.pt not used: QAT settings differ (qat_lr 0.0001 " \
           "stored, 0.0003 here); QAT runs" in out
    # another pruned checkpoint of the row in the store: its sha256 is not the one QAT started from
    publish(ROW, _pruned_row(tmp_path / "other" / "pruned.pt", seed=1), force=True)
    d = _up_to_prune(_config(tmp_path / "source"))
    capsys.readouterr()
    st_quantize(d)
    out = " ".join(capsys.readouterr().out.split())
    want = json.loads((store / f"{ROW}.quant.provenance.json").read_text())["source_sha256"]
    have = sha256_file(d.path("checkpoints/pruned.pt"))
    assert calls == [1, 1] and want != have
    assert (f"not used: trained from a pruned checkpoint with sha256 {want[:12]}…, this build's pruned.pt has "
            f"{have[:12]}…; QAT runs") in out
    assert json.loads(provenance_path(d.path("quant/model.quant.pt")).read_text())["source_sha256"] == have
    # a build of other bits (--wbits 8) than the row's: QAT, the stored one untouched
    e = Flow(_config(tmp_path / "source", wbits=8))
    assert stored_quant(e) is None
    assert "this build quantizes to W8A4 (first/last layer W8/W8), the stored one is the row's W4A4" \
           in " ".join(capsys.readouterr().out.split())


def test_tampered_quantized_checkpoint_is_refused(made, store, tmp_path) -> None:
    stored = store / f"{ROW}.quant.pt"
    data = stored.read_bytes()
    stored.write_bytes(data[:-64] + bytes([data[-64] ^ 1]) + data[-63:])
    f = _up_to_prune(_config(tmp_path / "b"))
    with pytest.raises(FlowError, match=rf"{re.escape(str(store))}/{ROW}\.quant\.provenance\.json: records sha256 "
                                        r"\w+…, but .*vgg16-hcr\.quant\.pt has \w+…"):
        st_quantize(f)
    assert not f.path("quant").exists() and not f.path("model.qonnx.onnx").exists()
    # `fpga-flow store` of a build whose quantized checkpoint is not its provenance's: exit 1, one line, the
    # store untouched (the float row neither)
    a = made["flow"].cfg.bdir
    build_root = tmp_path / "builds"
    shutil.copytree(a, build_root / a.name)
    q = build_root / a.name / "quant" / "model.quant.pt"
    q.write_bytes(q.read_bytes()[:-64] + bytes([q.read_bytes()[-64] ^ 1]) + q.read_bytes()[-63:])
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "FPGA_FLOW_CHECKPOINTS": str(store)}
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "store", "--model", ROW,
                        "--build-root", str(build_root), "--force"], env=env, capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"model\.quant\.provenance\.json: records sha256 \w+…, but \S+model\.quant\.pt has", r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


def _stored_quant(store: Path, qspec: QuantSpec, source: Path, c: FlowConfig, name: str = "vgg16",
                  file: str = f"{ROW}.quant.pt", **cfg) -> Path:
    """A quantized checkpoint (as the row's, in ``store``) with a provenance consistent with its bytes."""
    config = CFG | cfg
    torch.manual_seed(0)
    qmodel = quantize_model(build(name, **config), qspec)
    calibrate(qmodel, [torch.randn(2, 3, 32, 32)])
    path = save_quant_checkpoint(store / file, qmodel, name, config, qspec, (1, 3, 32, 32))
    write_provenance(path, row=ROW, extra={"bits": {"wbits": qspec.wbits, "abits": qspec.abits, "first_wbits": 8,
                                                    "last_wbits": 8},
                                           "source_sha256": sha256_file(source), "qat": qat_settings(c)})
    return path


def test_stored_quantized_checkpoint_of_other_bits_or_network_is_refused(made, store, tmp_path) -> None:
    f = _up_to_prune(_config(tmp_path / "b"))
    pruned = f.path("checkpoints/pruned.pt")
    w8 = _stored_quant(store, QuantSpec(wbits=8, abits=8, weight_scaling="channel"), pruned, f.cfg)
    with pytest.raises(FlowError) as err:
        st_quantize(f)
    assert str(err.value) == (f"{w8}: quantized W8A8 (first/last layer W8/W8), row {ROW} is W4A4 "
                              "(first/last layer W8/W8)")
    assert not f.path("quant").exists()
    # the unpruned network under the pruned row's name
    full = _stored_quant(store, f.cfg.quant_spec(), pruned, f.cfg, channels=None)
    with pytest.raises(FlowError, match=rf"^{re.escape(str(full))}: holds the unpruned vgg16, row {ROW} is "
                                        "SeReNe-pruned$"):
        st_quantize(f)
    # a pruned network of other channels whose provenance names this build's pruned checkpoint
    other = _stored_quant(store, f.cfg.quant_spec(), pruned, f.cfg, channels=[*CFG["channels"][:-1], 8])
    with pytest.raises(FlowError, match=rf"^{re.escape(str(other))}: holds channels \[4, .*, 8\] stored, "
                                        rf"\[4, .*, 16\] in {re.escape(str(pruned))}, though its provenance names "
                                        r"pruned\.pt's sha256$"):
        st_quantize(f)
    assert not f.path("quant").exists() and not f.path("model.qonnx.onnx").exists()
    # `store` of a build quantized to other bits (--wbits 8) than the row's: refused, the store untouched
    (store / f"{ROW}.quant.pt").unlink()
    w8 = _stored_quant(f.path("quant"), QuantSpec(wbits=8, abits=4, weight_scaling="channel"), pruned, f.cfg,
                       file="model.quant.pt")
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    with pytest.raises(FlowError, match=rf"^{re.escape(str(w8))}: quantized W8A4 \(first/last layer W8/W8\), row "
                                        rf"{ROW} is W4A4 \(first/last layer W8/W8\)$"):
        publish_build(ROW, f.cfg.bdir, force=True)
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


def test_quantize_names_a_dataset_too_small_for_its_split(tmp_path) -> None:
    from fpga_flow.quant import quantize_flow

    synth.generate(tmp_path / "tiny", "cls", n=3, seed=0, size=32)
    ckpt = save_checkpoint(tmp_path / "f.pt", build("vgg16", **CFG), "vgg16", CFG)
    with pytest.raises(FlowError, match=r"tiny: 3 images are too few for the train/val/test split .*would be empty"):
        quantize_flow(str(ckpt), QuantSpec(wbits=4, abits=4), tmp_path / "q", data=str(tmp_path / "tiny"), epochs=1)
    assert not any((tmp_path / "q").iterdir())  # nothing written


def test_low_resolution_qat_recipe_is_reused_at_the_design_size(tmp_path, monkeypatch, capsys) -> None:
    """An unpruned row: QAT at train_size (32), the quantized network exported at image_size (64); the stored
    one is the design-size checkpoint and a second build exports the same QONNX without QAT."""
    monkeypatch.setenv("FPGA_FLOW_CHECKPOINTS", str(tmp_path / "store"))
    monkeypatch.setattr("fpga_flow.models.store.COMMITTED", tmp_path / "committed")
    row, cfg = "vgg16-quantized", {"in_size": 64, "width": 1 / 16, "num_classes": 9}
    torch.manual_seed(0)
    made = save_checkpoint(tmp_path / "made" / "pruned.pt", build("vgg16", **cfg), "vgg16", cfg)
    write_provenance(made, row=row, extra={"bits": asdict(spec(row).bits)})
    publish(row, made)

    def flow(root: Path) -> Flow:
        c = FlowConfig(model=row, build_root=root, image_size=64, train_size=32, n_images=N_IMAGES, qat_epochs=1,
                       width=cfg["width"])
        assert (c.qat_side, c.image_size) == (32, 64)
        synth.generate(c.data_root, "cls", n=c.n_images, seed=c.seed, size=64, overwrite=True)
        f = Flow(c)
        st_train(f)
        st_prune(f)
        st_quantize(f)
        return f

    a = flow(tmp_path / "a")
    assert a.path("quant/model.quant.32.pt").is_file()  # QAT ran at 32
    lines = publish_build(row, a.cfg.bdir)
    assert lines[1] == f"{row}: stored {tmp_path / 'store' / (row + '.quant.pt')} (+ provenance)"
    calls = _qat_spy(monkeypatch)
    capsys.readouterr()
    b = flow(tmp_path / "b")
    assert calls == [] and "): no QAT" in " ".join(capsys.readouterr().out.split())
    assert not b.path("quant/model.quant.32.pt").exists()
    assert b.path("model.qonnx.onnx").read_bytes() == a.path("model.qonnx.onnx").read_bytes()
    assert json.loads(b.path("quant/quant_summary.json").read_text())["input_shape"] == [1, 3, 64, 64]
    assert _quantized(b) == _quantized(a)


def test_quantized_checkpoint_of_an_earlier_build_gets_its_provenance_from_flow_json(made, store, tmp_path) -> None:
    """A build whose quantize stage ran before it wrote a provenance: `store` says so (nothing written);
    `store --record-quant` records it from flow.json and quant_summary.json, then the build stores."""
    a = made["flow"]
    root = tmp_path / "builds"
    bdir = root / a.cfg.bdir.name
    shutil.copytree(a.cfg.bdir, bdir)
    quant, prov = bdir / "quant" / "model.quant.pt", bdir / "quant" / "model.quant.provenance.json"
    original = json.loads(prov.read_text())
    prov.unlink()
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    with pytest.raises(FlowError, match=rf"^{re.escape(str(quant))}: no provenance file model\.quant\.provenance"
                                        r"\.json beside it .*`fpga-flow store --record-quant`"):
        publish_build(ROW, bdir)
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before
    state = json.loads((bdir / "flow.json").read_text())
    assert record_earlier_quant(ROW, "Pynq-Z2", root) == prov
    record = json.loads(prov.read_text())
    assert record["sha256"] == original["sha256"] == sha256_file(quant)
    assert record["source_sha256"] == original["source_sha256"] == sha256_file(bdir / "checkpoints" / "pruned.pt")
    assert record["qat"] == original["qat"] and record["metrics"] == original["metrics"]
    assert record["seconds"] == {"quantize": round(state["stages"]["quantize"]["seconds"], 1)}
    assert record["commands"] == [f"fpga-flow bitstream --model {ROW} --board Pynq-Z2 (its quantize stage)"]
    assert record_earlier_quant(ROW, "Pynq-Z2", root) is None  # it has one now
    assert publish_build(ROW, bdir) == [f"{ROW}: unchanged {store / (ROW + '.pt')} (+ provenance)",
                                        f"{ROW}: unchanged {store / (ROW + '.quant.pt')} (+ provenance)"]
    # the folder must vouch for the checkpoint: a quantize stage that did not finish, or a checkpoint older
    # than the pruned one, is refused
    prov.unlink()
    state["stages"]["quantize"] = {"status": "failed"}
    (bdir / "flow.json").write_text(json.dumps(state))
    with pytest.raises(FlowError, match=rf"^{re.escape(str(bdir / 'flow.json'))}: the quantize stage is failed, "
                                        rf"not done: {re.escape(str(quant))} is not its result$"):
        record_earlier_quant(ROW, "Pynq-Z2", root)
    state["stages"]["quantize"] = {"status": "done", "seconds": 1.0}
    (bdir / "flow.json").write_text(json.dumps(state))
    pruned = bdir / "checkpoints" / "pruned.pt"
    os.utime(quant, (pruned.stat().st_mtime - 10, pruned.stat().st_mtime - 10))
    with pytest.raises(FlowError, match=rf"^{re.escape(str(quant))}: older than {re.escape(str(pruned))}"):
        record_earlier_quant(ROW, "Pynq-Z2", root)
    assert not prov.exists()
