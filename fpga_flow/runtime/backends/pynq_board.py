"""The board backend: PYNQ Overlay + AXI DMA, as FINN's driver does it (finn-notes §6).

``pynq`` is imported here only, when the backend is opened: off-board that is a clear FlowError.
Stream words are packed by ``fpga_flow.sim.packing`` (hls/SPEC.md: element j of a word in bits
[j*B,(j+1)*B), element 0 in the LSBs), the same code rtlsim uses; a word is padded to whole bytes
and laid out little-endian in the DMA buffer, so byte 0 holds bits 0..7 of the first word.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fpga_flow.errors import FlowError
from fpga_flow.runtime.backends.base import Backend, Domain, Source
from fpga_flow.runtime.iospec import IOSpec, TensorSpec


def _packing():
    try:
        from fpga_flow.sim import packing
    except ImportError:
        raise FlowError("fpga_flow.sim.packing is missing: the driver needs the shared stream packer") from None
    return packing


def packed_shape(t: TensorSpec, batch: int) -> tuple[int, ...]:
    """FINN's ``ishape_packed``: the folded shape with its last axis replaced by bytes per word."""
    return (batch, *t.folded_shape[1:-1], -(-t.word_bits // 8))


def to_bytes(x_int: np.ndarray, t: TensorSpec) -> np.ndarray:
    """Integer NHWC batch -> uint8 array of ``packed_shape`` (what goes into the input DMA buffer)."""
    x = np.asarray(x_int).reshape((-1, *t.folded_shape[1:]))
    words = _packing().pack(x, t.dtype.bits, t.elems_per_word, signed=t.dtype.signed)
    return words.reshape(packed_shape(t, x.shape[0]))


def from_bytes(buf: np.ndarray, t: TensorSpec) -> np.ndarray:
    """uint8 output buffer of ``packed_shape`` -> integer NHWC batch."""
    buf = np.asarray(buf, np.uint8)
    flat = _packing().unpack(buf.reshape(-1, buf.shape[-1]), t.dtype.bits, t.elems_per_word, signed=t.dtype.signed)
    return flat.reshape((buf.shape[0], *t.shape[1:]))


class PynqBackend(Backend):
    """Run frames on the board. ``folder`` is a deploy folder with ``bitfile/accel.bit`` + ``.hwh``."""

    name = "pynq"
    domain = Domain.INT_NHWC
    source = Source.MEASURED

    def __init__(self, folder: str | Path, *, spec: IOSpec | None, bitfile: str | Path | None = None,
                 idma: str = "idma0", odma: str = "odma0", batch_size: int = 1, timeout_s: float = 10.0,
                 download: bool = True, **_ignored):
        folder = Path(folder)
        bit = Path(bitfile) if bitfile else folder / "bitfile" / "accel.bit"
        if spec is None:
            raise FlowError(f"{folder}: io.json missing; the pynq backend needs the accelerator's I/O spec")
        try:
            import pynq  # noqa: F401 - only available on a PYNQ board image
        except ImportError:
            raise FlowError("backend pynq is unavailable here: the `pynq` package exists only on a PYNQ board "
                            "(use --backend rtlsim or cpu-* on this machine)") from None
        if not bit.is_file() or not bit.with_suffix(".hwh").is_file():
            raise FlowError(f"{bit}: bitfile and .hwh needed for the pynq backend (built by Vivado)")
        from pynq import Overlay, allocate

        self._allocate = allocate
        self.spec = spec
        self.overlay = Overlay(str(bit), download=download)
        try:
            self.idma = getattr(self.overlay, idma)
            self.odma = getattr(self.overlay, odma)
        except AttributeError as err:
            raise FlowError(f"{bit}: overlay has no DMA {err}; IPs: {sorted(self.overlay.ip_dict)}") from None
        self.timeout_s = timeout_s
        self.device = f"PYNQ board ({self.overlay.device.name if hasattr(self.overlay, 'device') else 'Zynq'})"
        self._alloc(batch_size)

    def _alloc(self, batch: int) -> None:
        self.batch = batch
        self.ibuf = self._allocate(shape=packed_shape(self.spec.input, batch), dtype=np.uint8)
        self.obuf = self._allocate(shape=packed_shape(self.spec.output, batch), dtype=np.uint8)

    def execute_on_buffers(self) -> None:
        """Zynq DMA: output DMA first, then input DMA; registers 0x10 address, 0x1C batch, 0x00 start."""
        for dma, buf in ((self.odma, self.obuf), (self.idma, self.ibuf)):
            dma.write(0x10, buf.device_address)
            dma.write(0x1C, self.batch)
            dma.write(0x00, 1)
        t0 = time.monotonic()
        while not self.odma.read(0x00) & 0x2:
            if time.monotonic() - t0 > self.timeout_s:
                raise FlowError(f"pynq: output DMA not done after {self.timeout_s} s (accelerator stalled?)")

    def run(self, x: np.ndarray) -> np.ndarray:
        if len(x) != self.batch:
            self._alloc(len(x))
        self.ibuf[:] = to_bytes(x, self.spec.input)
        self.ibuf.flush()
        self.execute_on_buffers()
        self.obuf.invalidate()
        return from_bytes(np.array(self.obuf), self.spec.output)

    def close(self) -> None:
        for buf in (getattr(self, "ibuf", None), getattr(self, "obuf", None)):
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()
