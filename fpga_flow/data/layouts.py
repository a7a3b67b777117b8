"""The real ISIC folder layouts: detection and indexing (which file, which label).

Three layouts, exactly as the ISIC archive distributes them:

* ``isic2019`` (classification): ``ISIC_2019_Training_Input/ISIC_xxxxxxx.jpg`` and
  ``ISIC_2019_Training_GroundTruth.csv`` with columns ``image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK``.
* ``ham10000`` (classification, ISIC 2018 Task 3): ``ISIC2018_Task3_Training_Input/*.jpg`` and
  ``ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv`` (the CSV may
  also sit at the root) with columns ``image,MEL,NV,BCC,AKIEC,BKL,DF,VASC``.
* ``isic2018_task1`` (segmentation): ``ISIC2018_Task1-2_Training_Input/ISIC_xxxxxxx.jpg`` and
  ``ISIC2018_Task1_Training_GroundTruth/ISIC_xxxxxxx_segmentation.png``.

Indexing reads the CSV / lists the folders and checks every image cheaply (a reduced-size
JPEG decode); unreadable files are skipped and counted, never a crash mid-epoch.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from fpga_flow.errors import FlowError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Layout:
    """One ISIC folder layout."""

    name: str
    task: str  # "cls" | "seg"
    image_dir: str
    classes: tuple[str, ...]
    csv_paths: tuple[str, ...] = ()  # candidate CSV locations, relative to the root
    mask_dir: str = ""
    mask_suffix: str = "_segmentation.png"
    more_image_dirs: tuple[str, ...] = ()  # further image folders (HAM10000 comes in two parts)
    csv_format: str = "onehot"  # "onehot": image,<class columns>; "dx": image_id,dx(,lesion_id)

    @property
    def image_dirs(self) -> tuple[str, ...]:
        return (self.image_dir,) + self.more_image_dirs


ISIC2019 = Layout(
    name="isic2019",
    task="cls",
    image_dir="ISIC_2019_Training_Input",
    classes=("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"),
    csv_paths=("ISIC_2019_Training_GroundTruth.csv",),
)
HAM10000 = Layout(
    name="ham10000",
    task="cls",
    image_dir="ISIC2018_Task3_Training_Input",
    classes=("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"),
    csv_paths=(
        "ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv",
        "ISIC2018_Task3_Training_GroundTruth.csv",
    ),
)
# HAM10000 as the Harvard Dataverse distributes it: metadata CSV with a ``dx`` column and
# ``lesion_id`` (several images of one lesion; splits keep a lesion in one split).
HAM10000_DX = Layout(
    name="ham10000_dx",
    task="cls",
    image_dir="HAM10000_images_part_1",
    more_image_dirs=("HAM10000_images_part_2", "HAM10000_images"),
    classes=("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"),
    csv_paths=("HAM10000_metadata.csv", "HAM10000_metadata"),
    csv_format="dx",
)
ISIC2018_TASK1 = Layout(
    name="isic2018_task1",
    task="seg",
    image_dir="ISIC2018_Task1-2_Training_Input",
    classes=("background", "lesion"),
    mask_dir="ISIC2018_Task1_Training_GroundTruth",
)
LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (ISIC2019, HAM10000, HAM10000_DX, ISIC2018_TASK1)}
TASKS = ("cls", "seg")


@dataclass
class Index:
    """The samples of one dataset: image paths, labels (cls) or mask paths (seg)."""

    layout: Layout
    root: Path
    images: list[Path]
    labels: list[int] = field(default_factory=list)  # cls
    masks: list[Path] = field(default_factory=list)  # seg
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # unreadable files and why
    groups: list[str] = field(default_factory=list)  # lesion id per image, when the layout has one
    # seg: masks whose aspect ratio differs from their image's (resizing both would stretch one)
    mask_mismatch: list[tuple[Path, tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.layout.classes

    def __len__(self) -> int:
        return len(self.images)


def _csv_path(root: Path, layout: Layout) -> Path | None:
    for rel in layout.csv_paths:
        if (root / rel).is_file():
            return root / rel
    return None


def _matches(root: Path, layout: Layout) -> bool:
    if not any((root / d).is_dir() for d in layout.image_dirs):
        return False
    if layout.task == "cls":
        return _csv_path(root, layout) is not None
    return (root / layout.mask_dir).is_dir()


def detect_layout(root: str | os.PathLike, task: str, layout: str | None = None) -> tuple[Path, Layout]:
    """Find the ISIC layout for ``task`` under ``root`` (or one folder below it).

    Returns the directory that holds the layout and the layout. ``layout`` forces one by name.
    """
    if task not in TASKS:
        raise FlowError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    root = Path(root)
    if not root.is_dir():
        raise FlowError(f"{root}: dataset root is not a directory")
    if layout is not None:
        if layout not in LAYOUTS:
            raise FlowError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
        candidates = [LAYOUTS[layout]]
        if candidates[0].task != task:
            raise FlowError(f"layout {layout!r} is a {candidates[0].task} layout, not {task}")
    else:
        candidates = [lay for lay in LAYOUTS.values() if lay.task == task]
    dirs = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    for d in dirs:
        for lay in candidates:
            if _matches(d, lay):
                return d, lay
    # Say precisely what is missing for the most likely layout.
    hints = []
    for lay in candidates:
        need = [lay.image_dir + "/"]
        need += [lay.csv_paths[0]] if lay.task == "cls" else [lay.mask_dir + "/"]
        hints.append(f"{lay.name} ({' + '.join(need)})")
    raise FlowError(f"{root}: no ISIC {task} dataset found; expected one of: {'; '.join(hints)}")


def check_image(path: Path) -> str | None:
    """Return why ``path`` is unreadable, or None. Cheap: JPEGs are decoded at reduced scale."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        with Image.open(path) as im:
            im.draft("RGB", (32, 32))  # JPEG DCT scaling: full entropy decode, tiny output
            im.load()
            if im.size[0] < 1 or im.size[1] < 1:
                return "zero-size image"
    except Exception as err:  # PIL raises many types for corrupt data
        return f"{type(err).__name__}: {err}".splitlines()[0]
    return None


CACHE_MIN_IMAGES = 1000  # below this, checking is faster than reading a cache


class CheckCache:
    """Results of :func:`check_image` keyed by path + size + mtime, kept outside the dataset
    (``$FPGA_FLOW_CACHE`` or ``~/.cache/fpga_flow``) so that a real ISIC root is checked once."""

    def __init__(self, root: Path, enabled: bool):
        self.enabled = enabled
        base = Path(os.environ.get("FPGA_FLOW_CACHE") or Path.home() / ".cache" / "fpga_flow")
        self.path = base / "image-check" / (hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16] + ".json")
        self.data: dict[str, list] = {}
        self.dirty = False
        if enabled and self.path.is_file():
            try:
                self.data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def check(self, path: Path) -> str | None:
        if not self.enabled:
            return check_image(path)
        try:
            st = path.stat()
        except OSError as err:
            return f"unreadable ({err.strerror})"
        key = str(path)
        hit = self.data.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        why = check_image(path)
        self.data[key] = [st.st_size, st.st_mtime_ns, why]
        self.dirty = True
        return why

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _read_class_csv(csv_path: Path, layout: Layout) -> list[tuple[str, int]]:
    """Rows of a one-hot ground-truth CSV as (image id, class index)."""
    try:
        with open(csv_path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise FlowError(f"{csv_path}: cannot read ground-truth CSV ({err})") from err
    if not rows:
        raise FlowError(f"{csv_path}: empty ground-truth CSV")
    header = [h.strip() for h in rows[0]]
    if not header or header[0] != "image":
        raise FlowError(f"{csv_path}: first column must be 'image', got {header[:1]}")
    cols = header[1:]
    unknown = [c for c in cols if c not in layout.classes]
    if unknown:
        raise FlowError(
            f"{csv_path}: unknown class column(s) {', '.join(unknown)} for the {layout.name} layout "
            f"(expected {','.join(layout.classes)})"
        )
    missing = [c for c in layout.classes if c not in cols]
    if missing:
        raise FlowError(f"{csv_path}: missing class column(s) {', '.join(missing)} for the {layout.name} layout")
    col_to_cls = [layout.classes.index(c) for c in cols]
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not x.strip() for x in row):
            continue
        if len(row) != len(header):
            raise FlowError(f"{csv_path}:{lineno}: expected {len(header)} fields, got {len(row)}")
        try:
            vals = [float(x) for x in row[1:]]
        except ValueError as err:
            raise FlowError(f"{csv_path}:{lineno}: non-numeric label ({err})") from err
        hot = [i for i, v in enumerate(vals) if v >= 0.5]
        if len(hot) != 1:
            raise FlowError(f"{csv_path}:{lineno}: expected exactly one class set to 1, got {len(hot)}")
        out.append((row[0].strip(), col_to_cls[hot[0]]))
    return out


def _read_dx_csv(csv_path: Path, layout: Layout) -> list[tuple[str, int, str]]:
    """Rows of a HAM10000 metadata CSV as (image id, class index, lesion id)."""
    try:
        with open(csv_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise FlowError(f"{csv_path}: cannot read metadata CSV ({err})") from err
    if not rows:
        raise FlowError(f"{csv_path}: empty metadata CSV")
    for col in ("image_id", "dx"):
        if col not in header:
            raise FlowError(f"{csv_path}: missing column {col!r} (columns: {', '.join(header)})")
    by_name = {c.lower(): i for i, c in enumerate(layout.classes)}
    out = []
    for lineno, row in enumerate(rows, start=2):
        dx = (row.get("dx") or "").strip().lower()
        if dx not in by_name:
            raise FlowError(f"{csv_path}:{lineno}: unknown class {dx!r} in column dx "
                            f"(expected {','.join(c.lower() for c in layout.classes)})")
        image = (row.get("image_id") or "").strip()
        if not image:
            raise FlowError(f"{csv_path}:{lineno}: empty image_id")
        out.append((image, by_name[dx], (row.get("lesion_id") or "").strip() or image))
    return out


def _listing(image_dirs: list[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for d in image_dirs:
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
                    out.setdefault(p.stem, p)
    return out


ASPECT_TOLERANCE = 0.01  # relative: rounding of a resized mask's pixel counts stays below this


def image_size_of(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file header, None when unreadable."""
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - PIL raises many types; the readability check reports them
        return None


def mask_fits_image(mask: Path, image: Path) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(mask size, image size) when their aspect ratios differ, else None."""
    ms, is_ = image_size_of(mask), image_size_of(image)
    if not ms or not is_ or min(*ms, *is_) < 1:
        return None
    a_m, a_i = ms[0] / ms[1], is_[0] / is_[1]
    return (ms, is_) if abs(a_m - a_i) > ASPECT_TOLERANCE * a_i else None


def index_dataset(root: str | os.PathLike, task: str, layout: str | None = None, check: bool = True,
                  strict_masks: bool = False) -> Index:
    """Index the dataset of ``task`` under ``root``. ``check`` skips (and counts) unreadable files.

    A segmentation mask whose aspect ratio differs from its image's is logged as a warning naming
    the file (and listed in ``mask_mismatch``); with ``strict_masks`` it is an error."""
    base, lay = detect_layout(root, task, layout)
    image_dir = base / lay.image_dir
    listing = _listing([base / d for d in lay.image_dirs])
    idx = Index(layout=lay, root=base, images=[])
    cache = CheckCache(base, enabled=check and len(listing) >= CACHE_MIN_IMAGES)
    if lay.task == "cls":
        csv_path = _csv_path(base, lay)
        assert csv_path is not None
        if lay.csv_format == "dx":
            rows = _read_dx_csv(csv_path, lay)
        else:
            rows = [(stem, label, "") for stem, label in _read_class_csv(csv_path, lay)]
        if not rows:
            raise FlowError(f"{csv_path}: no samples")
        for stem, label, group in rows:
            path = listing.get(stem)
            if path is None:
                raise FlowError(f"{csv_path}: image {stem!r} listed but not found in {image_dir}")
            why = cache.check(path) if check else None
            if why:
                idx.skipped.append((path, why))
                continue
            idx.images.append(path)
            idx.labels.append(label)
            if group:
                idx.groups.append(group)
    else:
        mask_dir = base / lay.mask_dir
        if not listing:
            raise FlowError(f"{image_dir}: no images (.jpg/.png)")
        for stem, path in listing.items():
            mask = mask_dir / f"{stem}{lay.mask_suffix}"
            if not mask.is_file():
                raise FlowError(f"{mask}: mask missing for image {path.name}")
            why = (cache.check(path) or cache.check(mask)) if check else None
            if why:
                idx.skipped.append((path, why))
                continue
            bad = mask_fits_image(mask, path)
            if bad:
                (mw, mh), (iw, ih) = bad
                msg = (f"{mask}: mask is {mw}x{mh}, its image {path.name} is {iw}x{ih}: another aspect ratio, "
                       "so resizing both to the training size would stretch the mask against the image")
                if strict_masks:
                    raise FlowError(msg)
                log.warning("%s", msg)
                idx.mask_mismatch.append((mask, (mw, mh), (iw, ih)))
            idx.images.append(path)
            idx.masks.append(mask)
    cache.save()
    if not idx.images:
        raise FlowError(f"{image_dir}: every image is unreadable ({len(idx.skipped)} skipped)")
    return idx


def resolve_root(root: str | os.PathLike | None) -> Path:
    """The dataset root: the given one, else ``$ISIC_ROOT``."""
    if root is None or str(root) == "":
        env = os.environ.get("ISIC_ROOT")
        if not env:
            raise FlowError("no dataset root: pass --data DIR or set ISIC_ROOT")
        root = env
    return Path(root).expanduser()
