"""Synthetic dermoscopy images in the real ISIC folder layouts (the embedded default dataset).

Each image: a skin-toned background with low-frequency texture, pores/noise, a dermoscope
vignette and hair-like strokes, and one lesion whose class is learnable from visual cues:

| class | cues |
|---|---|
| NV | medium size, round, regular sharp border, uniform brown, faint pigment network |
| MEL | large, asymmetric, irregular border, several colours (black, dark brown, blue-grey) |
| BCC | pink pearly, translucent, branching red vessels, a few blue-grey nests |
| AK / AKIEC | faint red-pink patch, blurry border, white scale speckles |
| BKL | waxy tan oval, sharp border, white milia dots and dark comedo dots |
| DF | small, light-brown ring around a central white patch |
| VASC | small, saturated red-purple, lobulated lacunae |
| SCC | pink-red with a central yellow-white keratin crust |

``UNK`` (ISIC 2019) gets no samples, as in the real training set. Segmentation images use a
random class style; the mask is the lesion (the hair drawn over it is not part of the mask).
Generation is numpy-vectorised per image: a few hundred 128 px images take about a second.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fpga_flow.data.layouts import HAM10000, HAM10000_DX, ISIC2018_TASK1, ISIC2019, LAYOUTS, Layout
from fpga_flow.errors import FlowError

CLS_LAYOUTS = {"isic2019": ISIC2019, "ham10000": HAM10000, "ham10000_dx": HAM10000_DX}
FIRST_ID = {"isic2019": 0, "ham10000": 24306, "ham10000_dx": 24306, "isic2018_task1": 0}  # as in the archives
SAME_LESION = 0.25  # ham10000_dx: share of images that are a further view of an earlier lesion


@dataclass(frozen=True)
class Style:
    radius: tuple[float, float]  # in half-image units
    irregular: float  # amplitude of border harmonics
    ratio: tuple[float, float]  # ellipse axis ratio
    edge: float  # border softness (fraction of radius)
    color: tuple[int, int, int]
    opacity: float = 0.95


STYLES: dict[str, Style] = {
    "NV": Style((0.28, 0.38), 0.03, (0.85, 1.0), 0.04, (135, 85, 55)),
    "MEL": Style((0.42, 0.58), 0.16, (0.65, 0.95), 0.05, (80, 45, 30)),
    "BCC": Style((0.26, 0.38), 0.08, (0.75, 1.0), 0.10, (228, 168, 172), 0.75),
    "AK": Style((0.30, 0.45), 0.12, (0.70, 1.0), 0.22, (205, 105, 95), 0.6),
    "BKL": Style((0.30, 0.42), 0.05, (0.55, 0.75), 0.03, (196, 150, 104)),
    "DF": Style((0.15, 0.23), 0.04, (0.85, 1.0), 0.12, (150, 100, 70)),
    "VASC": Style((0.18, 0.28), 0.06, (0.80, 1.0), 0.03, (145, 25, 65)),
    "SCC": Style((0.32, 0.45), 0.10, (0.75, 1.0), 0.08, (208, 118, 108)),
}
STYLES["AKIEC"] = STYLES["AK"]
SKIN_TONES = np.array([(232, 192, 170), (214, 165, 135), (196, 146, 110), (225, 180, 150)], np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1] (bicubic upsampling of a coarse random grid)."""
    g = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(g, mode="F").resize((size, size), Image.BICUBIC))


def _background(rng: np.random.Generator, s: int, yy, xx) -> np.ndarray:
    tone = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.05)
    img = np.broadcast_to(tone, (s, s, 3)).astype(np.float32).copy()
    img *= (1 + 0.05 * _smooth_noise(rng, s, 5))[..., None]
    img *= (1 + 0.025 * _smooth_noise(rng, s, max(8, s // 6)))[..., None]
    img += rng.normal(0, 3.0, (s, s, 3)).astype(np.float32)
    # dermoscope vignette: dark outside a circle, on some images
    rv = rng.uniform(1.05, 1.6)
    r = np.sqrt(yy**2 + xx**2)
    img *= np.clip(1 - (r - rv) / 0.12, 0.08, 1)[..., None]
    return img


def _lesion_geometry(rng, style: Style, s: int, yy, xx, scale: float = 1.0):
    cy, cx = np.clip(rng.normal(0, 0.1, 2), -0.25, 0.25)
    rad = rng.uniform(*style.radius) * scale
    ratio = rng.uniform(*style.ratio)
    phi = rng.uniform(0, math.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * math.cos(phi) + dy * math.sin(phi)
    v = (-dx * math.sin(phi) + dy * math.cos(phi)) / ratio
    d = np.sqrt(u**2 + v**2)
    th = np.arctan2(v, u)
    border = np.ones_like(d)
    kmax = 9 if style.irregular > 0.15 else 5
    for k in range(2, kmax + 1):
        amp = style.irregular * rng.uniform(0.3, 1.0) / (k ** 0.7) * (1.3 if style.irregular > 0.15 else 1)
        border += amp * np.cos(k * th + rng.uniform(0, 2 * math.pi))
    rr = rad * np.clip(border, 0.45, 1.8)
    rho = d / rr  # 0 at the centre, 1 on the border
    alpha = 1 / (1 + np.exp(-(1 - rho) / max(style.edge, 1e-3)))
    return rho, alpha, (cy, cx, rad, ratio, phi)


def _paint(rng, cls: str, style: Style, img, rho, alpha, geom, yy, xx, s: int):
    """Return (lesion colour HxWx3, opacity HxW) for class ``cls``."""
    col = np.broadcast_to(np.array(style.color, np.float32) * rng.uniform(0.9, 1.1), img.shape).copy()
    op = alpha * style.opacity
    inside = rho < 1
    n1 = _smooth_noise(rng, s, 6)
    if cls == "NV":
        col *= (1 - 0.08 * (1 - rho).clip(0, 1))[..., None]  # slightly darker centre
        net = 0.5 + 0.5 * np.sin(yy * s * 0.9) * np.sin(xx * s * 0.9)
        col *= (1 - 0.10 * net)[..., None]
    elif cls == "MEL":
        n2 = _smooth_noise(rng, s, 7)
        black = np.array((30, 20, 18), np.float32)
        blue = np.array((95, 100, 125), np.float32)
        tan = np.array((150, 100, 65), np.float32)
        col[n1 > 0.35] = black
        col[(n2 > 0.5) & (n1 <= 0.35)] = blue
        col[(n2 < -0.6) & (n1 <= 0.35)] = tan
        col *= (1 + 0.08 * rng.standard_normal(img.shape[:2]).astype(np.float32))[..., None]
    elif cls == "BCC":
        vessels = Image.new("L", (s, s), 0)
        dr = ImageDraw.Draw(vessels)
        cy, cx, rad = geom[0], geom[1], geom[2]
        for _ in range(rng.integers(3, 6)):  # arborizing vessels: a trunk with branches
            a = rng.uniform(0, 2 * math.pi)
            p = np.array([cx, cy]) + rng.uniform(-0.3, 0.3, 2) * rad
            for _seg in range(4):
                a += rng.uniform(-0.6, 0.6)
                q = p + 0.25 * rad * np.array([math.cos(a), math.sin(a)])
                dr.line([tuple((p + 1) * s / 2), tuple((q + 1) * s / 2)], fill=255, width=max(1, s // 64))
                p = q
        vm = (np.asarray(vessels, np.float32) / 255) * inside
        col = col * (1 - vm[..., None]) + np.array((170, 30, 45), np.float32) * vm[..., None]
        op = np.maximum(op, 0.95 * vm)
        for _ in range(rng.integers(1, 4)):  # blue-grey ovoid nests
            ny, nx = geom[0] + rng.uniform(-0.5, 0.5) * rad, geom[1] + rng.uniform(-0.5, 0.5) * rad
            nest = ((yy - ny) ** 2 + (xx - nx) ** 2) < (0.07 * rad + 0.02) ** 2
            col[nest & inside] = (95, 105, 130)
    elif cls in ("AK", "AKIEC"):
        scale = (rng.random(img.shape[:2]) < 0.06) & inside
        col[scale] = (245, 238, 232)
        op = np.where(scale, 0.95, op)
    elif cls == "BKL":
        col *= (1 + 0.10 * n1)[..., None]
        milia = (rng.random(img.shape[:2]) < 0.015) & (rho < 0.9)
        comedo = (rng.random(img.shape[:2]) < 0.012) & (rho < 0.9)
        col[milia] = (250, 245, 225)
        col[comedo] = (70, 50, 35)
    elif cls == "DF":
        centre = rho < rng.uniform(0.45, 0.6) + 0.08 * n1
        col[centre] = (238, 228, 218)
    elif cls == "VASC":
        for _ in range(rng.integers(4, 8)):  # lobulated lacunae
            ly, lx = geom[0] + rng.uniform(-0.6, 0.6) * geom[2], geom[1] + rng.uniform(-0.6, 0.6) * geom[2]
            lac = ((yy - ly) ** 2 + (xx - lx) ** 2) < (rng.uniform(0.2, 0.35) * geom[2]) ** 2
            col[lac & inside] = (95, 10, 45)
    elif cls == "SCC":
        crust = rho < 0.45 + 0.15 * n1
        col[crust] = (232, 212, 160)
        col *= (1 + 0.06 * rng.standard_normal(img.shape[:2]).astype(np.float32))[..., None]
    return col, op


def _hair(rng, im: Image.Image, s: int) -> None:
    dr = ImageDraw.Draw(im)
    for _ in range(rng.poisson(2.5)):
        p = rng.uniform(0, s, 2)
        a = rng.uniform(0, 2 * math.pi)
        pts = [tuple(p)]
        for _k in range(rng.integers(6, 14)):
            a += rng.normal(0, 0.15)
            p = p + (s / 16) * np.array([math.cos(a), math.sin(a)])
            pts.append(tuple(p))
        shade = int(rng.integers(20, 70))
        dr.line(pts, fill=(shade, int(shade * 0.8), int(shade * 0.7)), width=max(1, s // 100))


def render(rng: np.random.Generator, cls: str, size: int, scale: float = 1.0) -> tuple[Image.Image, Image.Image]:
    """One synthetic dermoscopy image (RGB) of class style ``cls`` and its lesion mask (L, 0/255).

    ``scale`` multiplies the lesion radius (segmentation images use larger, more varied lesions).
    """
    s = size
    ax = (np.arange(s, dtype=np.float32) + 0.5) / s * 2 - 1
    yy, xx = np.meshgrid(ax, ax, indexing="ij")
    style = STYLES[cls]
    img = _background(rng, s, yy, xx)
    rho, alpha, geom = _lesion_geometry(rng, style, s, yy, xx, scale)
    col, op = _paint(rng, cls, style, img, rho, alpha, geom, yy, xx, s)
    img = img * (1 - op[..., None]) + col * op[..., None]
    img *= rng.uniform(0.9, 1.08)  # exposure
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    _hair(rng, im, s)
    mask = Image.fromarray(((rho < 1) * 255).astype(np.uint8), "L")
    return im, mask


def _counts(n: int, classes: list[str], weights) -> list[int]:
    w = np.ones(len(classes)) if weights is None else np.asarray([weights.get(c, 0) for c in classes], float)
    if (w < 0).any() or w.sum() <= 0:
        raise FlowError(f"class weights must be >= 0 with a positive sum, got {weights}")
    raw = n * w / w.sum()
    cnt = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - cnt), kind="stable")[: n - cnt.sum()]:
        cnt[i] += 1
    return cnt.tolist()


def _write_metadata(path: Path, ids: list[str], classes: list[str], rng: np.random.Generator) -> None:
    """HAM10000_metadata.csv: lesion_id,image_id,dx,dx_type,age,sex,localization."""
    last: dict[str, str] = {}
    n_lesions = 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        for iid, cls in zip(ids, classes):
            if cls in last and rng.random() < SAME_LESION:
                lesion = last[cls]
            else:
                lesion = f"HAM_{n_lesions:07d}"
                n_lesions += 1
                last[cls] = lesion
            w.writerow([lesion, iid, cls.lower(), "synthetic", int(rng.integers(20, 85)),
                        ("male", "female")[int(rng.integers(2))], "back"])


def generate(
    out_dir: str | os.PathLike,
    task: str = "cls",
    n: int = 200,
    seed: int = 0,
    size: int = 128,
    layout: str | None = None,
    class_weights: dict[str, float] | None = None,
    overwrite: bool = False,
) -> dict:
    """Write ``n`` synthetic images in an ISIC layout under ``out_dir``; return a summary dict.

    ``task="cls"``: ``layout`` "isic2019" (default), "ham10000" (ISIC 2018 Task 3 CSV) or
    "ham10000_dx" (HAM10000 metadata CSV with lesion ids); ``task="seg"``: ISIC 2018
    Task 1. Classes are balanced unless ``class_weights`` says otherwise. Refuses to write over
    an existing dataset unless ``overwrite``.
    """
    if task not in ("cls", "seg"):
        raise FlowError(f"unknown task {task!r}: expected cls or seg")
    if n < 1:
        raise FlowError(f"n must be >= 1, got {n}")
    if not 16 <= size <= 1024:
        raise FlowError(f"size must be in [16, 1024], got {size}")
    if task == "cls":
        lay: Layout = CLS_LAYOUTS.get(layout or "isic2019")  # type: ignore[assignment]
        if lay is None:
            raise FlowError(f"unknown classification layout {layout!r}: expected {', '.join(CLS_LAYOUTS)}")
    else:
        if layout not in (None, ISIC2018_TASK1.name):
            raise FlowError(f"unknown segmentation layout {layout!r}: expected {ISIC2018_TASK1.name}")
        lay = ISIC2018_TASK1
    out = Path(out_dir)
    img_dir = out / lay.image_dir
    if img_dir.exists() and any(img_dir.iterdir()) and not overwrite:
        raise FlowError(f"{img_dir}: already holds a dataset; choose another --out (nothing was written)")
    img_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    gen_classes = [c for c in lay.classes if c in STYLES] if task == "cls" else list(STYLES)
    if task == "seg":
        gen_classes = [c for c in gen_classes if c != "AKIEC"]
    cnt = _counts(n, gen_classes, class_weights if task == "cls" else None)
    labels = np.repeat(np.arange(len(gen_classes)), cnt)
    labels = labels[rng.permutation(n)]
    first = FIRST_ID[lay.name]
    ids = [f"ISIC_{first + i:07d}" for i in range(n)]
    if task == "seg":
        (out / lay.mask_dir).mkdir(parents=True, exist_ok=True)
    for i, (iid, lab) in enumerate(zip(ids, labels)):
        r = np.random.default_rng([seed, i])
        scale = r.uniform(1.0, 1.7) if task == "seg" else 1.0
        im, mask = render(r, gen_classes[lab], size, scale)
        im.save(img_dir / f"{iid}.jpg", quality=92, subsampling=0)
        if task == "seg":
            mask.save(out / lay.mask_dir / f"{iid}{lay.mask_suffix}")
    (img_dir / "ATTRIBUTION.txt").write_text("Synthetic dermoscopy images generated by fpga_flow.data.synth\n")
    if lay.csv_format == "dx":
        _write_metadata(out / lay.csv_paths[0], ids, [gen_classes[k] for k in labels], rng)
    elif task == "cls":
        csv_path = out / lay.csv_paths[0]
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with open(csv_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["image", *lay.classes])
            for iid, lab in zip(ids, labels):
                cls = gen_classes[lab]
                w.writerow([iid, *("1.0" if c == cls else "0.0" for c in lay.classes)])
    counts = {c: int(k) for c, k in zip(gen_classes, cnt)}
    return {"root": str(out), "layout": lay.name, "task": task, "n": n, "size": size, "seed": seed,
            "counts": counts if task == "cls" else {"styles": counts}}


__all__ = ["generate", "render", "STYLES", "LAYOUTS"]
