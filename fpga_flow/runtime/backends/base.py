"""What every backend provides to the driver: run one batch in its own domain."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum

import numpy as np


class Source(str, Enum):
    """Where a figure comes from (CONTRIBUTING.md: every FPS/latency/resource number carries one)."""

    MEASURED = "measured"  # wall clock on this CPU or on a board
    RTLSIM = "rtlsim"  # Verilator cycles / board clock
    ESTIMATE = "estimate"  # analytic model (compiler estimates)


class Domain(str, Enum):
    FLOAT_NCHW = "float"  # float NCHW in, float model output out (logits (N,K) / maps (N,K,H,W))
    INT_NHWC = "int"  # integer NHWC frames in and out (the accelerator's own view)


class Backend(ABC):
    """One way of executing the model. ``run`` takes and returns numpy arrays in ``domain``."""

    name: str = ""
    domain: Domain = Domain.FLOAT_NCHW
    source: Source = Source.MEASURED
    device: str = ""
    numeric_format: str = "fp32"  # what the arithmetic runs in (a CPU row states it beside its accuracy)
    runtime: str = ""  # the library and its version, e.g. "onnxruntime 1.32.0"
    threads: int | None = None  # CPU threads the runtime was given (None: not a CPU runtime)

    @abstractmethod
    def run(self, x: np.ndarray) -> np.ndarray: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
