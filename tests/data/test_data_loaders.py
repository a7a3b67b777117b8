"""Synthetic ISIC layouts, the real loaders on them, splits, bad inputs."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from fpga_flow.data import get_datasets, get_loaders, index_dataset, stratified_split, synth
from fpga_flow.data.dataset import denormalize
from fpga_flow.data.layouts import HAM10000, ISIC2018_TASK1, ISIC2019
from fpga_flow.errors import FlowError

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cls2019(tmp_path_factory):
    root = tmp_path_factory.mktemp("isic2019")
    synth.generate(root, task="cls", n=80, seed=1, size=40)
    return root


@pytest.fixture(scope="module")
def ham(tmp_path_factory):
    root = tmp_path_factory.mktemp("ham")
    synth.generate(root, task="cls", n=42, seed=2, size=32, layout="ham10000")
    return root


@pytest.fixture(scope="module")
def seg2018(tmp_path_factory):
    root = tmp_path_factory.mktemp("task1")
    synth.generate(root, task="seg", n=30, seed=3, size=40)
    return root


def _digest(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


# ---------------------------------------------------------------- generator and layouts
def test_isic2019_layout_written(cls2019):
    rows = list(csv.reader(open(cls2019 / "ISIC_2019_Training_GroundTruth.csv")))
    assert rows[0] == ["image", "MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"]
    assert len(rows) == 81
    assert rows[1][0] == "ISIC_0000000"
    per_class = np.array([[float(v) for v in r[1:]] for r in rows[1:]]).sum(0)
    assert per_class.tolist() == [10, 10, 10, 10, 10, 10, 10, 10, 0]  # 8 styles balanced, UNK empty
    imgs = sorted((cls2019 / "ISIC_2019_Training_Input").glob("*.jpg"))
    assert len(imgs) == 80
    with Image.open(imgs[0]) as im:
        assert im.size == (40, 40) and im.mode == "RGB"


def test_ham10000_layout_written(ham):
    csv_path = ham / "ISIC2018_Task3_Training_GroundTruth" / "ISIC2018_Task3_Training_GroundTruth.csv"
    rows = list(csv.reader(open(csv_path)))
    assert rows[0] == ["image", "MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]
    assert rows[1][0] == "ISIC_0024306"  # first HAM10000 id, as in the archive
    assert len(list((ham / "ISIC2018_Task3_Training_Input").glob("*.jpg"))) == 42


def test_seg_layout_masks_match_images(seg2018):
    imgs = sorted((seg2018 / "ISIC2018_Task1-2_Training_Input").glob("*.jpg"))
    assert len(imgs) == 30
    for img in imgs[:5]:
        m = np.asarray(Image.open(seg2018 / "ISIC2018_Task1_Training_GroundTruth" / f"{img.stem}_segmentation.png"))
        assert m.shape == (40, 40)
        assert set(np.unique(m)) == {0, 255}
        assert 0.02 < (m > 0).mean() < 0.9


def test_generator_is_seeded(tmp_path):
    a = synth.generate(tmp_path / "a", "cls", n=12, seed=7, size=32)
    synth.generate(tmp_path / "b", "cls", n=12, seed=7, size=32)
    synth.generate(tmp_path / "c", "cls", n=12, seed=8, size=32)
    assert a["counts"] == {"MEL": 2, "NV": 2, "BCC": 2, "AK": 2, "BKL": 1, "DF": 1, "VASC": 1, "SCC": 1}
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_generator_refuses_to_overwrite(cls2019):
    before = _digest(cls2019)
    with pytest.raises(FlowError, match="already holds a dataset"):
        synth.generate(cls2019, "cls", n=5, seed=0, size=32)
    assert _digest(cls2019) == before


def test_classes_differ_visually():
    """Class cues are learnable: mean colour separates VASC (red-purple) from NV (brown), DF is small."""
    red = {}
    area = {}
    for cls in ("NV", "VASC", "DF", "MEL"):
        ims = [synth.render(np.random.default_rng([0, i]), cls, 64) for i in range(6)]
        red[cls] = np.mean([np.asarray(im)[np.asarray(m) > 0][:, 0].mean() - np.asarray(im)[np.asarray(m) > 0][:, 1].mean()
                            for im, m in ims])
        area[cls] = np.mean([(np.asarray(m) > 0).mean() for _, m in ims])
    assert red["VASC"] > red["NV"] + 40  # R-G gap: saturated red vs brown
    assert area["DF"] < 0.6 * area["NV"] < area["MEL"]


# ---------------------------------------------------------------- loaders
def test_loaders_isic2019(cls2019):
    loaders = get_loaders(cls2019, "cls", image_size=32, batch_size=16, seed=0)
    assert set(loaders) == {"train", "val", "test"}
    sizes = {s: len(l.dataset) for s, l in loaders.items()}
    assert sizes == {"train": 48, "val": 16, "test": 16}
    x, y = next(iter(loaders["train"]))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and int(y.min()) >= 0 and int(y.max()) < 8
    back = denormalize(x)
    assert float(back.min()) > -1e-4 and float(back.max()) < 1 + 1e-4
    assert abs(float(x.mean())) < 2.5  # normalised, not raw 0..255
    assert loaders["train"].dataset.classes == ISIC2019.classes


def test_loaders_ham10000(ham):
    loaders = get_loaders(ham, "cls", image_size=(24, 32), batch_size=8, seed=0)
    x, y = next(iter(loaders["val"]))
    assert x.shape[1:] == (3, 24, 32)
    assert loaders["val"].dataset.classes == HAM10000.classes
    assert sum(len(l.dataset) for l in loaders.values()) == 42


def test_loaders_seg(seg2018):
    loaders = get_loaders(seg2018, "seg", image_size=32, batch_size=4, seed=0)
    x, m = next(iter(loaders["test"]))
    assert x.shape == (4, 3, 32, 32) and m.shape == (4, 32, 32) and m.dtype == torch.int64
    assert set(torch.unique(m).tolist()) == {0, 1}
    assert sum(len(l.dataset) for l in loaders.values()) == 30
    assert loaders["test"].dataset.classes == ISIC2018_TASK1.classes


def test_isic_root_env(cls2019, monkeypatch):
    monkeypatch.setenv("ISIC_ROOT", str(cls2019))
    assert sum(len(d) for d in get_datasets(None, "cls", 16, 0).values()) == 80
    monkeypatch.delenv("ISIC_ROOT")
    with pytest.raises(FlowError, match="ISIC_ROOT"):
        get_datasets(None, "cls", 16, 0)


def test_layout_found_one_level_down(cls2019):
    idx = index_dataset(cls2019.parent, "cls", layout="isic2019")
    assert idx.root == cls2019 and len(idx) == 80


# ---------------------------------------------------------------- splits
def test_split_is_seeded_and_stratified(cls2019):
    a = get_datasets(cls2019, "cls", 16, seed=5)
    b = get_datasets(cls2019, "cls", 16, seed=5)
    c = get_datasets(cls2019, "cls", 16, seed=6)
    assert all(a[s].indices == b[s].indices for s in a)
    assert a["train"].indices != c["train"].indices
    all_idx = sorted(a["train"].indices + a["val"].indices + a["test"].indices)
    assert all_idx == list(range(80))  # disjoint and complete
    for s, per_class in (("train", 6), ("val", 2), ("test", 2)):  # 10 per class: round(1.5)=2 each
        counts = np.bincount(a[s].labels, minlength=9)
        assert counts[:8].tolist() == [per_class] * 8, (s, counts)


def test_stratified_split_hand_computed():
    labels = [0] * 20 + [1] * 7 + [2] * 3 + [3] * 1
    parts = stratified_split(labels, seed=0, val_frac=0.15, test_frac=0.15)
    y = np.array(labels)
    assert np.bincount(y[parts["val"]], minlength=4).tolist() == [3, 1, 1, 0]
    assert np.bincount(y[parts["test"]], minlength=4).tolist() == [3, 1, 1, 0]
    assert np.bincount(y[parts["train"]], minlength=4).tolist() == [14, 5, 1, 1]
    with pytest.raises(FlowError):
        stratified_split(labels, 0, 0.6, 0.5)


# ---------------------------------------------------------------- bad input
def test_missing_folder(tmp_path):
    with pytest.raises(FlowError, match="not a directory"):
        index_dataset(tmp_path / "nope", "cls")
    (tmp_path / "ISIC_2019_Training_Input").mkdir()
    with pytest.raises(FlowError, match="ISIC_2019_Training_GroundTruth.csv"):
        index_dataset(tmp_path, "cls")
    with pytest.raises(FlowError, match="unknown task"):
        index_dataset(tmp_path, "detect")


def test_csv_with_unknown_class_column(cls2019, tmp_path):
    root = _copy(cls2019, tmp_path / "d")
    csv_path = root / "ISIC_2019_Training_GroundTruth.csv"
    rows = list(csv.reader(open(csv_path)))
    rows[0][3] = "FOO"
    with open(csv_path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(FlowError, match=r"ISIC_2019_Training_GroundTruth.csv: unknown class column\(s\) FOO"):
        index_dataset(root, "cls")


def test_ham_csv_in_2019_place_is_rejected(ham, tmp_path):
    root = tmp_path / "d"
    (root / "ISIC_2019_Training_Input").mkdir(parents=True)
    src = ham / "ISIC2018_Task3_Training_GroundTruth" / "ISIC2018_Task3_Training_GroundTruth.csv"
    (root / "ISIC_2019_Training_GroundTruth.csv").write_text(src.read_text())
    with pytest.raises(FlowError, match="unknown class column.*AKIEC"):
        index_dataset(root, "cls")


def test_malformed_csv_rows(cls2019, tmp_path):
    root = _copy(cls2019, tmp_path / "d")
    csv_path = root / "ISIC_2019_Training_GroundTruth.csv"
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join(lines[:3] + ["ISIC_0000002,1.0,0.0"] + lines[4:]) + "\n")
    with pytest.raises(FlowError, match=r"GroundTruth.csv:4: expected 10 fields, got 3"):
        index_dataset(root, "cls")
    csv_path.write_text("\n".join(lines[:3] + ["ISIC_0000002" + ",1.0" * 9] + lines[4:]) + "\n")
    with pytest.raises(FlowError, match=r"GroundTruth.csv:4: expected exactly one class"):
        index_dataset(root, "cls")


def test_listed_image_missing(cls2019, tmp_path):
    root = _copy(cls2019, tmp_path / "d")
    (root / "ISIC_2019_Training_Input" / "ISIC_0000005.jpg").unlink()
    with pytest.raises(FlowError, match="'ISIC_0000005' listed but not found"):
        index_dataset(root, "cls")


def test_mask_missing(seg2018, tmp_path):
    root = _copy(seg2018, tmp_path / "d")
    (root / "ISIC2018_Task1_Training_GroundTruth" / "ISIC_0000004_segmentation.png").unlink()
    with pytest.raises(FlowError, match="ISIC_0000004_segmentation.png: mask missing"):
        index_dataset(root, "seg")


def test_corrupt_images_skipped_and_counted(cls2019, tmp_path):
    root = _copy(cls2019, tmp_path / "d")
    img_dir = root / "ISIC_2019_Training_Input"
    data = (img_dir / "ISIC_0000001.jpg").read_bytes()
    (img_dir / "ISIC_0000001.jpg").write_bytes(data[: len(data) // 2])  # truncated JPEG
    (img_dir / "ISIC_0000002.jpg").write_bytes(b"not an image at all")
    (img_dir / "ISIC_0000003.jpg").write_bytes(b"")
    before = _digest(root)
    loaders = get_loaders(root, "cls", 16, 8, 0)
    idx = loaders["train"].dataset.index
    assert len(idx) == 77 and len(idx.skipped) == 3
    assert {p.name for p, _ in idx.skipped} == {"ISIC_0000001.jpg", "ISIC_0000002.jpg", "ISIC_0000003.jpg"}
    assert sum(len(l.dataset) for l in loaders.values()) == 77
    n = sum(len(y) for _, y in loaders["train"])
    assert n == len(loaders["train"].dataset)
    assert _digest(root) == before  # nothing written over the input


def test_corruption_found_late_is_skipped(cls2019, tmp_path):
    root = _copy(cls2019, tmp_path / "d")
    ds = get_datasets(root, "cls", 16, 0, check=False)["val"]
    victim = ds.index.images[ds.indices[0]]
    victim.write_bytes(b"garbage")
    x, y = ds[0]  # falls through to the next readable sample
    assert x.shape == (3, 16, 16) and y == ds.index.labels[ds.indices[1]]
    assert ds.skipped == {0}


def test_cli_synth_and_info(tmp_path):
    import json

    import typer
    from typer.testing import CliRunner

    from fpga_flow.data.cli import register

    exe = [sys.executable, "-c", "from fpga_flow.cli import main; main()"]  # the real entry point
    out = tmp_path / "seg"
    r = subprocess.run(exe + ["data", "synth", "--out", str(out), "--task", "seg", "-n", "20", "--size", "32"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote 20 seg images (isic2018_task1 layout, 32px)" in r.stdout
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keep `data` a sub-command group
    runner = CliRunner()
    res = runner.invoke(app, ["data", "info", "--root", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["seg"]["n"] == 20
    assert {s: v["images"] for s, v in info["seg"]["splits"].items()} == {"train": 14, "val": 3, "test": 3}
    res = runner.invoke(app, ["data", "info", "--root", str(tmp_path / "missing")])
    assert isinstance(res.exception, FlowError) and "missing: dataset root is not a directory" in str(res.exception)
    res = runner.invoke(app, ["data", "synth", "--out", str(out), "--task", "seg", "-n", "5"])
    assert isinstance(res.exception, FlowError) and "already holds a dataset" in str(res.exception)


def test_synthetic_classes_are_learnable(tmp_path):
    """A linear model on 16x16 pixels beats chance (1/8) by far: the class cues are visual."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from fpga_flow.data import metrics

    synth.generate(tmp_path, "cls", n=240, seed=11, size=64)
    ds = get_datasets(tmp_path, "cls", 16, seed=0, val_frac=0.0, test_frac=0.25)

    def arrays(d):
        xs, ys = zip(*(d[i] for i in range(len(d))))
        return torch.stack(xs).reshape(len(xs), -1).numpy(), np.array(ys)

    xtr, ytr = arrays(ds["train"])
    xte, yte = arrays(ds["test"])
    with threadpool_limits(1):  # BLAS threads on a shared 2-core machine make this 50x slower
        clf = LogisticRegression(max_iter=500).fit(xtr, ytr)
    bacc = metrics.balanced_accuracy(yte, clf.predict(xte))
    assert len(yte) == 64 and bacc > 0.5, bacc  # chance: 0.125 (measured 0.66)


def test_image_check_cache(cls2019, tmp_path, monkeypatch):
    from fpga_flow.data import layouts

    root = _copy(cls2019, tmp_path / "d")
    monkeypatch.setattr(layouts, "CACHE_MIN_IMAGES", 1)
    monkeypatch.setenv("FPGA_FLOW_CACHE", str(tmp_path / "cache"))
    calls = []
    real = layouts.check_image
    monkeypatch.setattr(layouts, "check_image", lambda p: calls.append(p) or real(p))
    before = _digest(root)
    assert len(index_dataset(root, "cls")) == 80 and len(calls) == 80
    (root / "ISIC_2019_Training_Input" / "ISIC_0000009.jpg").write_bytes(b"broken")
    before = _digest(root)
    idx = index_dataset(root, "cls")
    assert len(calls) == 81  # only the changed file is decoded again
    assert [p.name for p, _ in idx.skipped] == ["ISIC_0000009.jpg"]
    assert len(list((tmp_path / "cache" / "image-check").glob("*.json"))) == 1
    assert _digest(root) == before  # the cache lives outside the dataset


def test_corrupt_mask_skipped(seg2018, tmp_path):
    root = _copy(seg2018, tmp_path / "d")
    (root / "ISIC2018_Task1_Training_GroundTruth" / "ISIC_0000007_segmentation.png").write_bytes(b"\x89PNG broken")
    idx = index_dataset(root, "seg")
    assert len(idx) == 29 and [p.name for p, _ in idx.skipped] == ["ISIC_0000007.jpg"]


def test_train_order_is_seeded(cls2019):
    a = [y.tolist() for _, y in get_loaders(cls2019, "cls", 16, 16, seed=3)["train"]]
    b = [y.tolist() for _, y in get_loaders(cls2019, "cls", 16, 16, seed=3)["train"]]
    assert a == b and len(sum(a, [])) == 48


def test_ham10000_metadata_layout_and_lesion_split(tmp_path):
    from fpga_flow.data.layouts import HAM10000_DX

    synth.generate(tmp_path, "cls", n=70, seed=4, size=32, layout="ham10000_dx")
    rows = list(csv.DictReader(open(tmp_path / "HAM10000_metadata.csv")))
    assert len(rows) == 70 and rows[0]["image_id"] == "ISIC_0024306"
    assert {r["dx"] for r in rows} == {"mel", "nv", "bcc", "akiec", "bkl", "df", "vasc"}
    lesions = {}
    for r in rows:
        lesions.setdefault(r["lesion_id"], set()).add(r["dx"])
    assert len(lesions) < 70 and all(len(v) == 1 for v in lesions.values())  # repeat views, one class each
    ds = get_datasets(tmp_path, "cls", 16, seed=0)
    assert ds["train"].classes == HAM10000_DX.classes
    assert sum(len(d) for d in ds.values()) == 70
    lesion_of = {r["image_id"]: r["lesion_id"] for r in rows}
    split_of = {}
    for s, d in ds.items():
        for i in d.indices:
            split_of.setdefault(lesion_of[d.index.images[i].stem], set()).add(s)
    assert all(len(v) == 1 for v in split_of.values())  # no lesion on both sides of a split
    x, y = ds["val"][0]
    assert x.shape == (3, 16, 16) and 0 <= y < 7


def test_ham10000_metadata_bad_dx(tmp_path):
    synth.generate(tmp_path, "cls", n=10, seed=4, size=32, layout="ham10000_dx")
    meta = tmp_path / "HAM10000_metadata.csv"
    lines = meta.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[2], "melanoma", 1)
    meta.write_text("\n".join(lines) + "\n")
    with pytest.raises(FlowError, match=r"HAM10000_metadata.csv:4: unknown class 'melanoma' in column dx"):
        index_dataset(tmp_path, "cls")


def test_grouped_split_hand_computed():
    from fpga_flow.data.splits import grouped_split

    groups = ["a", "a", "b", "c", "c", "c", "d", "e", "f", "g"]
    labels = [0] * 10
    parts = grouped_split(groups, labels, seed=0, val_frac=0.2, test_frac=0.2)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(10))
    # 7 groups: round(1.4) = 1 group each in val and test, 5 groups in train
    for s, n in (("val", 1), ("test", 1), ("train", 5)):
        assert len({groups[i] for i in parts[s]}) == n
    assert grouped_split(groups, labels, 0, 0.2, 0.2)["test"].tolist() == parts["test"].tolist()
