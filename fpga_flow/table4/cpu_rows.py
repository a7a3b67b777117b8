"""The CPU rows of one build: every CPU runtime on the build's float model, timed, with its numeric
format and its accuracy on the same test images as the hardware rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.driver import CPU_BACKENDS

ACCURACY_POINTS = 1.0  # a CPU row is a fair baseline when within this many points of the float model

RUNTIME_LABEL = {"cpu-torch": "PyTorch", "cpu-onnxruntime": "onnxruntime", "cpu-onnxruntime-int8": "onnxruntime int8",
                 "cpu-openvino": "OpenVINO", "cpu-openvino-f32": "OpenVINO f32", "cpu-openvino-int8": "OpenVINO int8"}


@dataclass
class CpuRow:
    backend: str
    runtime: str = ""
    numeric_format: str = ""
    threads: int | None = None
    device: str = ""
    fps: float | None = None
    latency_ms: float | None = None
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    runs: int = 0
    noisy: bool = False
    noise: list[str] = field(default_factory=list)
    accuracy: float | None = None  # the task's main metric on the test images
    error: str | None = None  # why this runtime gave no figures (e.g. not installed)

    @property
    def label(self) -> str:
        return RUNTIME_LABEL.get(self.backend, self.backend)

    def to_dict(self) -> dict:
        return asdict(self)


def task_metric(task: str) -> str:
    return {"cls": "balanced_accuracy", "seg": "iou"}[task]


def score(task: str, labels: np.ndarray, pred: np.ndarray) -> float:
    from fpga_flow.data import metrics as M

    return float(M.balanced_accuracy(labels, pred) if task == "cls" else M.iou(pred, labels))


def test_images(bdir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images the hardware rows were scored on (``sim/test_inputs.npy``) and their labels."""
    x, y = bdir / "sim" / "test_inputs.npy", bdir / "sim" / "test_labels.npy"
    if not x.is_file() or not y.is_file():
        raise FlowError(f"{bdir}: sim/test_inputs.npy and sim/test_labels.npy missing (the rtlsim stage writes them)")
    return np.load(x), np.load(y)


def cpu_rows(bdir: Path, model: str, board: str, task: str, *, threads: int, repeats: int, force: bool = False,
             backends: tuple[str, ...] = CPU_BACKENDS, log=lambda s: None) -> list[CpuRow]:
    """Time and score every CPU runtime on ``bdir``'s float model; a runtime that fails gets its reason."""
    from fpga_flow.runtime.cli import run_bench
    from fpga_flow.runtime.driver import Accelerator
    from fpga_flow.runtime.provenance import calibration_images

    x, y = test_images(bdir)
    out = []
    calib = None
    for backend in backends:
        row = CpuRow(backend)
        log(f"{model}: CPU {row.label}")
        try:
            if backend.endswith("-int8") and calib is None:
                calib = calibration_images(bdir)
            r = run_bench(model, board, backend, bdir.parent, warmup=3, repeats=repeats, threads=threads,
                          force=force, calibration=calib)
            opts = {"threads": threads, "calibration": calib}
            opts.update({"onnx": bdir / "model.onnx"} if backend != "cpu-torch" else {})
            with Accelerator(backend, bdir, **opts) as acc:
                res = acc.execute(x)
            if backend == "cpu-onnxruntime":  # the float masks of the overlay plot
                np.save(bdir / "sim" / "float_pred.npy", res.pred)
        except FlowError as err:
            row.error = str(err)
            out.append(row)
            continue
        row.runtime, row.numeric_format, row.threads, row.device = r.runtime, r.numeric_format, r.threads, r.device
        row.fps, row.latency_ms = r.fps.median, r.latency_ms.median
        row.latency_min_ms, row.latency_max_ms, row.runs = r.latency_ms.min, r.latency_ms.max, r.repeats
        row.noisy, row.noise = r.noisy, list(r.stability.get("reasons", []))
        row.accuracy = score(task, y, res.pred)
        out.append(row)
    return out


def float_accuracy(rows: list[CpuRow]) -> float | None:
    """The float model's accuracy: PyTorch fp32 (or onnxruntime fp32 when PyTorch gave none)."""
    for name in ("cpu-torch", "cpu-onnxruntime", "cpu-openvino-f32"):
        r = next((r for r in rows if r.backend == name and r.accuracy is not None), None)
        if r is not None:
            return r.accuracy
    return None


def fair(row: CpuRow, float_acc: float | None) -> bool:
    """Timed, and its accuracy within ACCURACY_POINTS of the float model (an int8 that loses accuracy is no win)."""
    if row.fps is None or row.accuracy is None or float_acc is None:
        return False
    return abs(row.accuracy - float_acc) * 100 <= ACCURACY_POINTS + 1e-9
