"""Backends of the driver. Imported lazily: ``pynq`` is imported only by the pynq backend."""

from __future__ import annotations

from fpga_flow.runtime.backends.base import Backend, Domain, Source

BACKENDS = ("cpu-torch", "cpu-onnxruntime", "cpu-onnxruntime-int8", "cpu-openvino", "cpu-openvino-f32", "cpu-openvino-int8",
            "rtlsim", "pynq")

__all__ = ["BACKENDS", "Backend", "Domain", "Source"]
