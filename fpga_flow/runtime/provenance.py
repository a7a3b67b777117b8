"""What a CPU row was made from: its calibration images and the fingerprint of its inputs.

A bench whose model files, runtime version, thread count and CPU are unchanged is not timed again
(unless asked): its fingerprint is stored in ``bench/<backend>.json`` and compared here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from importlib import metadata
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.buildinfo import read_flow

RUNTIME_PACKAGE = {"cpu-torch": "torch", "cpu-onnxruntime": "onnxruntime", "cpu-openvino": "openvino"}


def package_version(backend: str) -> str:
    pkg = next((p for prefix, p in RUNTIME_PACKAGE.items() if backend.startswith(prefix)), None)
    if pkg is None:
        return ""
    try:
        return f"{pkg} {metadata.version(pkg)}"
    except metadata.PackageNotFoundError:
        return f"{pkg} (not installed)"


def model_files(backend: str, bdir: Path, quantized: bool = False) -> list[Path]:
    """The files a bench of ``backend`` in build folder ``bdir`` depends on."""
    if backend == "cpu-torch":
        names = ["model.pt"]
    elif backend.startswith("cpu-"):
        names = ["model.qonnx.onnx" if quantized else "model.onnx", "flow.json"]  # int8: flow.json names the data
    elif backend == "rtlsim":
        names = ["dataflow.onnx", "io.json", "estimates.json"]
        names += sorted(str(p.relative_to(bdir)) for p in (bdir / "rtl").glob("*") if p.is_file())
    else:
        names = ["estimates.json"]
    return [bdir / n for n in names if (bdir / n).is_file()]


def fingerprint(backend: str, files: list[Path], threads: int | None, device: str = "") -> str:
    h = hashlib.sha256(f"{backend}|{package_version(backend)}|{threads}|{device}".encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def calibration_images(bdir: Path, n: int = 64) -> np.ndarray:
    """The first ``n`` training images of the data set the build was made with (float NCHW)."""
    from fpga_flow.data import get_loaders
    from fpga_flow.flow import FlowConfig  # the flow names its data folder; ask it rather than repeat the scheme

    flow = read_flow(bdir) or {}
    fields = {f.name for f in dataclasses.fields(FlowConfig)}
    cfg = {k: v for k, v in (flow.get("config") or {}).items() if k in fields and v not in (None, "None")}
    if not cfg or not flow.get("model"):
        raise FlowError(f"{bdir}: int8 calibration needs the build's training images, and flow.json names no data set")
    fc = FlowConfig(**{**cfg, "build_root": Path(cfg.get("build_root", bdir.parent)),
                       "data": Path(cfg["data"]) if cfg.get("data") else None})
    root, task, size = fc.data_root, fc.task, fc.image_size
    if not Path(root).exists():
        raise FlowError(f"{bdir}: int8 calibration needs the training images of {root}, which does not exist")
    xs, got = [], 0
    for x, _ in get_loaders(root, task, image_size=size, batch_size=min(n, 32), seed=fc.seed)["train"]:
        xs.append(x.numpy())
        got += len(x)
        if got >= n:
            break
    return np.concatenate(xs)[:n]
