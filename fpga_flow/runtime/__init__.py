"""Runtime: one driver API (``Accelerator``) over the CPU backends (PyTorch, onnxruntime fp32/int8,
OpenVINO default/f32/int8), rtlsim and pynq, the bench (figures tagged measured/rtlsim/estimate,
noisy timings flagged) and the deploy folder.

Kept import-light (numpy only) so that the same files run on a PYNQ board.
"""

from __future__ import annotations

from fpga_flow.runtime.backends.base import Backend, Domain, Source
from fpga_flow.runtime.driver import Accelerator, Result
from fpga_flow.runtime.iospec import IOSpec, IntType, TensorSpec, load_iospec

__all__ = ["Accelerator", "Backend", "Domain", "IOSpec", "IntType", "Result", "Source", "TensorSpec", "load_iospec"]
