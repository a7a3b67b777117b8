"""CPU backends: PyTorch eager and onnxruntime (float ONNX, or a QONNX model run as QCDQ)."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Backend, Domain, Source


def cpu_name() -> str:
    """A short description of this CPU for the report's Device column."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


@functools.lru_cache(maxsize=None)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The ISA flags of /proc/cpuinfo (``cpuinfo``: its text; read once per process when None); empty where
    there is none (not x86 Linux)."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    return frozenset(f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split())


class TorchBackend(Backend):
    """PyTorch eager on the CPU; ``model`` is an ``nn.Module`` or a checkpoint path (models contract)."""

    name = "cpu-torch"
    domain = Domain.FLOAT_NCHW
    source = Source.MEASURED

    def __init__(self, model, *, threads: int | None = None):
        import torch

        if isinstance(model, (str, Path)):
            path = Path(model)
            if not path.is_file():
                raise FlowError(f"{path}: checkpoint not found")
            try:
                from fpga_flow.models import load_checkpoint
            except ImportError:
                raise FlowError("cpu-torch needs fpga_flow.models.load_checkpoint (models stage not built yet)") from None
            model, _meta = load_checkpoint(path)
        if threads:
            torch.set_num_threads(threads)
        # pruned/regularised weights are full of denormals, which cost x100-1000 on x86: flush them
        # (what any inference runtime does; onnxruntime gets the same setting below)
        torch.set_flush_denormal(True)
        self._torch = torch
        self.threads = torch.get_num_threads()
        self.runtime = f"PyTorch {torch.__version__.split('+')[0]}"
        self.model = model.eval().cpu()
        shape = getattr(model, "input_shape", None)  # zoo models record (C, H, W)
        self.input_shape = (1, *shape) if shape else None
        self.device = cpu_name()

    def run(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            out = self.model(self._torch.from_numpy(np.ascontiguousarray(x, np.float32)))
        return out.detach().numpy()


def export_onnx(model, path: str | Path, input_shape: tuple[int, ...]) -> Path:
    """Export a float PyTorch model to ONNX (dynamic batch) for the onnxruntime backend."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    dummy = torch.zeros((1, *input_shape[1:]) if len(input_shape) == 4 else (1, *input_shape))
    torch.onnx.export(model, (dummy,), str(path), dynamo=False, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17)
    return path


def _is_qonnx(model_proto) -> bool:
    return any(n.op_type in ("Quant", "BipolarQuant", "Trunc") for n in model_proto.graph.node)


def qonnx_to_qcdq(qonnx_path: str | Path, out_path: str | Path | None = None) -> Path:
    """QONNX (Quant nodes) -> QuantizeLinear/Clip/DequantizeLinear, which onnxruntime runs natively."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    src = Path(qonnx_path)
    dst = Path(out_path) if out_path else src.with_name(src.name.replace(".onnx", "") + ".qcdq.onnx")
    if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
        return dst
    model = ModelWrapper(str(src)).transform(QuantToQCDQ())
    left = [n.name or n.op_type for n in model.graph.node if n.op_type in ("Quant", "BipolarQuant", "Trunc")]
    if left:
        raise FlowError(f"{src}: nodes {left[:3]} cannot run in onnxruntime (no QCDQ form)")
    for node in model.graph.node:  # plain onnx domain so that onnxruntime takes the file
        if node.domain.startswith("qonnx") or node.domain.startswith("onnx.brevitas"):
            raise FlowError(f"{src}: node {node.name} ({node.op_type}, domain {node.domain}) has no onnxruntime kernel")
    model.save(str(dst))
    return dst


class OnnxRuntimeBackend(Backend):
    """onnxruntime on the CPU, for a float ONNX or a QONNX file (converted to QCDQ once)."""

    name = "cpu-onnxruntime"
    domain = Domain.FLOAT_NCHW
    source = Source.MEASURED

    def __init__(self, onnx_path: str | Path, *, threads: int | None = None, name: str | None = None,
                 numeric_format: str | None = None):
        if name:
            self.name = name
        try:
            import onnxruntime as ort
        except ImportError:
            raise FlowError(f"backend {self.name} unavailable: onnxruntime is not installed") from None
        try:
            import onnx
        except ImportError:  # a board image may carry onnxruntime without onnx: then no QONNX conversion
            onnx = None

        path = Path(onnx_path)
        if not path.is_file():
            raise FlowError(f"{path}: ONNX model not found")
        if onnx is not None and _is_qonnx(onnx.load(str(path), load_external_data=False)):
            path = qonnx_to_qcdq(path)
            self.numeric_format = "QONNX as QCDQ (the accelerator's bit widths, int8 kernels)"
        if numeric_format:
            self.numeric_format = numeric_format
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.set_denormal_as_zero", "1")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
            raise FlowError(f"{path}: onnxruntime cannot load it ({str(err).splitlines()[0]})") from None
        self.path = path
        self.threads = threads or os.cpu_count()  # onnxruntime's default: one thread per core
        self.runtime = f"onnxruntime {ort.__version__}"
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        self.input_shape = tuple(s if isinstance(s, int) else -1 for s in shape)
        self.device = cpu_name()

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        if self.input_shape and self.input_shape[0] == 1 and x.shape[0] != 1:  # static batch 1 (QONNX export)
            return np.concatenate([self.session.run(None, {self.input_name: x[i:i + 1]})[0] for i in range(len(x))])
        return self.session.run(None, {self.input_name: x})[0]
