"""One driver API over every backend: ``Accelerator(backend, folder).execute(images)``.

``folder`` is a build folder (``build/<model>-<board>/``) or its ``deploy/`` copy.  Images are
float NCHW, normalised as the data loaders give them; results are class indices (classification)
or masks (segmentation) plus float scores, whatever the backend.  Hardware backends (rtlsim,
pynq) get integer NHWC frames quantised with the scale recorded in ``io.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Backend, Domain, Source
from fpga_flow.runtime.images import prepare_images
from fpga_flow.runtime.iospec import IOSpec, load_iospec

CPU_BACKENDS = ("cpu-torch", "cpu-onnxruntime", "cpu-onnxruntime-int8", "cpu-openvino", "cpu-openvino-f32",
                "cpu-openvino-int8")
BACKEND_NAMES = (*CPU_BACKENDS, "rtlsim", "pynq")


@dataclass
class Result:
    pred: np.ndarray  # (N,) class indices or (N, H, W) masks
    scores: np.ndarray | None  # float logits (N, K) or per-pixel scores (N, H, W, K); None if the HW outputs labels
    raw: np.ndarray | None = None  # integer NHWC output of a hardware backend


def _find(folder: Path, *names: str) -> Path | None:
    for name in names:
        p = folder / name
        if p.is_file():
            return p
    return None


def _float_onnx(name: str, folder: Path, onnx: str | Path | None) -> Path:
    src = Path(onnx) if onnx else _find(folder, "model.onnx")
    if src is None:
        raise FlowError(f"{folder}: no model.onnx for {name} (pass onnx=)")
    return src


def _int8_onnx(name: str, folder: Path, onnx: str | Path | None, calibration) -> Path:
    """The static QDQ int8 model: quantized from the float ONNX on ``calibration`` images, or ``model.int8.onnx``."""
    from fpga_flow.runtime.int8 import quantize_int8

    if calibration is not None:
        return quantize_int8(_float_onnx(name, folder, onnx), calibration)
    found = _find(folder, "model.int8.onnx")
    if found is None:
        raise FlowError(f"{folder}: {name} needs calibration images (calibration=, the training split) "
                        "or a model.int8.onnx")
    return found


def make_backend(name: str, folder: Path, *, spec: IOSpec | None, model=None, onnx: str | Path | None = None,
                 board=None, threads: int | None = None, calibration=None, **opts) -> Backend:
    """Open backend ``name`` on the artefacts in ``folder`` (int8 CPU backends: ``calibration`` images)."""
    if name == "cpu-torch":
        from fpga_flow.runtime.backends.cpu import TorchBackend

        src = model if model is not None else _find(folder, "model.pt", "float.pt", "checkpoint.pt")
        if src is None:
            raise FlowError(f"{folder}: no model.pt for cpu-torch (pass model=)")
        return TorchBackend(src, threads=threads)
    if name == "cpu-onnxruntime":
        from fpga_flow.runtime.backends.cpu import OnnxRuntimeBackend

        return OnnxRuntimeBackend(_float_onnx(name, folder, onnx), threads=threads)
    if name == "cpu-onnxruntime-int8":
        from fpga_flow.runtime.backends.cpu import OnnxRuntimeBackend
        from fpga_flow.runtime.int8 import int8_format

        return OnnxRuntimeBackend(_int8_onnx(name, folder, onnx, calibration), threads=threads, name=name,
                                  numeric_format=int8_format())
    if name.startswith("cpu-openvino"):
        from fpga_flow.runtime.backends.openvino_cpu import OpenVinoBackend, OvPrecision

        precision = OvPrecision(name.removeprefix("cpu-openvino").lstrip("-") or "default")
        src = (_int8_onnx(name, folder, onnx, calibration) if precision is OvPrecision.INT8
               else _float_onnx(name, folder, onnx))
        return OpenVinoBackend(src, precision=precision, threads=threads)
    if name == "rtlsim":
        from fpga_flow.runtime.backends.rtlsim import RtlsimBackend

        return RtlsimBackend(folder, spec=spec, board=board, **opts)
    if name == "pynq":
        from fpga_flow.runtime.backends.pynq_board import PynqBackend

        return PynqBackend(folder, spec=spec, **opts)
    raise FlowError(f"unknown backend {name!r}: choose one of {', '.join(BACKEND_NAMES)}")


class Accelerator:
    """The model behind one backend. ``execute(images) -> Result``; ``throughput_test()`` -> figures."""

    def __init__(self, backend: str | Backend, folder: str | Path = ".", *, resize: bool = True,
                 input_shape: tuple[int, int, int] | None = None, **opts):
        self.folder = Path(folder)
        io_path = _find(self.folder, "io.json")
        self.spec: IOSpec | None = load_iospec(io_path) if io_path else None
        self.backend = backend if isinstance(backend, Backend) else make_backend(backend, self.folder, spec=self.spec, **opts)
        if self.backend.domain is Domain.INT_NHWC and self.spec is None:
            raise FlowError(f"{self.folder}: io.json missing; backend {self.backend.name} needs the accelerator's I/O spec")
        self.resize = resize
        self._input_shape = input_shape  # (C, H, W) when no io.json tells it

    # ---- shapes -------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) the model expects."""
        if self.spec is not None and len(self.spec.input.shape) == 4:
            _, h, w, c = self.spec.input.shape
            return (c, h, w)
        if self._input_shape is not None:
            return tuple(self._input_shape)
        shape = getattr(self.backend, "input_shape", None)
        if shape and len(shape) == 4 and all(s > 0 for s in shape[1:]):
            return tuple(shape[1:])
        return None

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def source(self) -> Source:
        return self.backend.source

    # ---- execution ----------------------------------------------------------------------
    def prepare(self, images) -> np.ndarray:
        shape = self.input_shape
        if shape is None:
            x = np.asarray(images, np.float32)
            return x[None] if x.ndim == 3 else x
        return prepare_images(images, shape[0], shape[1:], resize=self.resize)

    def execute(self, images) -> Result:
        x = self.prepare(images)
        if self.backend.domain is Domain.INT_NHWC:
            raw = np.asarray(self.backend.run(self.spec.quantize_input(x)))
            raw = raw.reshape((len(x), *self.spec.output.shape[1:]))
            return Result(self.spec.predictions(raw), self.spec.dequantize_output(raw), raw)
        out = np.asarray(self.backend.run(x))
        if out.ndim == 4:  # (N, K, H, W) maps
            scores = out.transpose(0, 2, 3, 1)
            return Result(np.argmax(scores, axis=-1), scores)
        out = out.reshape(len(x), -1)
        return Result(np.argmax(out, axis=1), out)

    def throughput_test(self, batch_size: int = 1, images=None, repeats: int = 1) -> dict:
        """FINN-style figures for one batch: images/s and the time it took, tagged with their source."""
        shape = self.input_shape
        if images is None:
            if shape is None:
                raise FlowError("throughput_test: input shape unknown; pass images=")
            images = np.random.default_rng(0).standard_normal((batch_size, *shape)).astype(np.float32)
        x = self.prepare(images)
        if hasattr(self.backend, "cycle_figures"):  # rtlsim: figures from cycles, not from the simulator's wall clock
            self.execute(x)
            figs = self.backend.cycle_figures()
            figs.update(backend=self.name, source=Source.RTLSIM.value, batch_size=len(x))
            return figs
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            self.execute(x)
            times.append(time.perf_counter() - t0)
        runtime = float(np.median(times))
        return {"backend": self.name, "source": self.source.value, "device": self.backend.device,
                "batch_size": len(x), "runtime_s": runtime, "throughput_fps": len(x) / runtime,
                "latency_ms": 1e3 * runtime / len(x)}

    def close(self) -> None:
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
