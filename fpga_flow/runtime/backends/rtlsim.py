"""The rtlsim backend: the Verilator model of the build's stitched RTL (``fpga_flow.sim.rtlsim``).

Outputs are bit-exact integers; FPS and latency come from simulated cycles at the board clock
(source ``rtlsim``), never from the simulator's wall clock, which is reported separately.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Backend, Domain, Source
from fpga_flow.runtime.buildinfo import board_clock_mhz, read_flow
from fpga_flow.runtime.iospec import IOSpec


class RtlsimBackend(Backend):
    name = "rtlsim"
    domain = Domain.INT_NHWC
    source = Source.RTLSIM

    def __init__(self, folder: str | Path, *, spec: IOSpec | None, board: str | None = None,
                 clock_mhz: float | None = None, **_ignored):
        self.folder = Path(folder)
        if not (self.folder / "dataflow.onnx").is_file():
            raise FlowError(f"{self.folder}: no dataflow.onnx, the rtlsim backend needs a build folder "
                            "(run `fpga-flow build` / `fpga-flow bitstream`)")
        try:
            from fpga_flow.sim.rtlsim import rtlsim
        except ImportError as err:
            raise FlowError(f"backend rtlsim unavailable: fpga_flow.sim.rtlsim does not import ({err})") from None
        self._rtlsim = rtlsim
        board = board or read_flow(self.folder).get("board")
        self.clock_mhz = clock_mhz or board_clock_mhz(board, self.folder)
        if not self.clock_mhz:
            raise FlowError(f"{self.folder}: board clock unknown (no estimates.json, no --board)")
        self.board = board or "?"
        self.spec = spec
        self.last = None
        self.device = f"Verilator model of the {self.board} design @ {self.clock_mhz:g} MHz"

    def run(self, x: np.ndarray) -> np.ndarray:
        self._x0 = np.asarray(x, np.int64)[0]
        self.last = self._rtlsim(self.folder, np.asarray(x, np.int64))
        return np.asarray(self.last.outputs)

    def cycle_figures(self, frames: int = 2) -> dict:
        """Steady-state FPS (cycles between frame ends, ``frames`` back to back) and latency of one frame."""
        if self.last is None:
            raise FlowError("rtlsim: run a frame before asking for cycle figures")
        res = self.last
        if res.frames < frames:  # one frame only gives its latency; stream a few for the steady state
            res = self._rtlsim(self.folder, np.stack([self._x0] * frames))
        clk = self.clock_mhz * 1e6
        return {"throughput_fps": clk / res.cycles_per_frame, "latency_ms": 1e3 * self.last.latency_cycles / clk,
                "cycles_per_frame": float(res.cycles_per_frame), "latency_cycles": int(self.last.latency_cycles),
                "clock_mhz": self.clock_mhz, "frames_simulated": int(res.frames),
                "sim_wall_s": float(res.wall_s), "verilator_build_s": float(res.build_s), "device": self.device}
