"""Stream packing through the driver (random shapes/bit widths) and the pynq backend on a fake PYNQ."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from fpga_flow.runtime import Accelerator
from fpga_flow.runtime.backends.pynq_board import from_bytes, packed_shape, to_bytes
from fpga_flow.runtime.iospec import IntType, TensorSpec


def _ref_words(x: np.ndarray, bits: int, fold: int) -> list[int]:
    """Independent reference of hls/SPEC.md: element j of a word in bits [j*B, (j+1)*B)."""
    flat = [int(v) & ((1 << bits) - 1) for v in x.reshape(-1)]
    return [sum(flat[w * fold + j] << (j * bits) for j in range(fold)) for w in range(len(flat) // fold)]


@pytest.mark.parametrize("seed", range(12))
def test_pack_round_trip_random_shapes_and_widths(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.integers(1, 17))
    signed = bool(rng.integers(0, 2)) and bits > 1
    c = int(rng.choice([1, 2, 3, 4, 6, 8, 12, 16]))
    fold = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
    h, w, n = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
    dt = IntType.parse(f"{'INT' if signed else 'UINT'}{bits}")
    t = TensorSpec((1, h, w, c), (1, h, w, c // fold, fold), dt)
    x = rng.integers(dt.min, dt.max + 1, (n, h, w, c))
    buf = to_bytes(x, t)
    assert buf.dtype == np.uint8 and buf.shape == packed_shape(t, n) == (n, h, w, c // fold, -(-fold * bits // 8))
    words = [int.from_bytes(bytes(r), "little") for r in buf.reshape(-1, buf.shape[-1])]
    assert words == _ref_words(x, bits, fold)
    assert (from_bytes(buf, t) == x).all()


# ---- a fake `pynq` module: DMA registers, buffers, and an "accelerator" decoding bytes itself ----------
class _Buf(np.ndarray):
    def flush(self):
        self.flushed = True

    def invalidate(self):
        pass

    def freebuffer(self):
        pass


def _fake_pynq(io: dict, log: list):
    mem = {}

    def allocate(shape, dtype):
        b = np.zeros(shape, dtype).view(_Buf)
        b.device_address = 0x1000_0000 + 0x10_0000 * len(mem)
        mem[b.device_address] = b
        return b

    class DMA:
        def __init__(self, name):
            self.name, self.regs = name, {}

        def write(self, off, val):
            log.append((self.name, off, val))
            self.regs[off] = val
            if self.name == "idma0" and off == 0 and val == 1:
                ov.run()

        def read(self, off):
            return self.regs.get(off, 0)

    class Overlay:
        def __init__(self, path, download=True):
            nonlocal ov
            ov = self
            self.idma0, self.odma0, self.ip_dict = DMA("idma0"), DMA("odma0"), {"idma0": {}, "odma0": {}}

        def run(self):  # the accelerator: out[c] = sum over pixels of in[c], UINT output words of 1 element
            src, dst = mem[self.idma0.regs[0x10]], mem[self.odma0.regs[0x10]]
            ib, fold = int(io["input"]["datatype"][4:]), io["input"]["folded_shape"][-1]
            for n in range(src.shape[0]):
                words = [int.from_bytes(bytes(r), "little") for r in src[n].reshape(-1, src.shape[-1])]
                vals = [(wd >> (j * ib)) & ((1 << ib) - 1) for wd in words for j in range(fold)]
                c = io["input"]["shape"][-1]
                sums = [sum(vals[k::c]) for k in range(c)]
                dst[n] = np.array([list(s.to_bytes(dst.shape[-1], "little")) for s in sums], np.uint8).reshape(dst.shape[1:])
            self.odma0.regs[0x00] = 0x2

    ov = None
    mod = types.ModuleType("pynq")
    mod.Overlay, mod.allocate = Overlay, allocate
    return mod


def test_pynq_backend_on_fake_board(tmp_path, monkeypatch):
    io = {"task": "cls", "input": {"shape": [1, 4, 4, 3], "folded_shape": [1, 4, 4, 1, 3], "datatype": "UINT4", "scale": 0.125},
          "output": {"shape": [1, 1, 1, 3], "folded_shape": [1, 1, 1, 3, 1], "datatype": "UINT16", "scale": 1.0}}
    (tmp_path / "io.json").write_text(json.dumps(io))
    (tmp_path / "bitfile").mkdir()
    (tmp_path / "bitfile" / "accel.bit").write_bytes(b"bit")
    (tmp_path / "bitfile" / "accel.hwh").write_text("<xml/>")
    log = []
    monkeypatch.setitem(sys.modules, "pynq", _fake_pynq(io, log))
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1.8, (2, 3, 4, 4)).astype(np.float32)
    with Accelerator("pynq", tmp_path) as acc:
        r = acc.execute(x)
    q = np.clip(np.round(x / 0.125), 0, 15)
    assert (r.raw.reshape(2, 3) == q.sum(axis=(2, 3))).all()
    assert (r.pred == q.sum(axis=(2, 3)).argmax(1)).all()
    # FINN order: output DMA programmed and started before the input DMA
    starts = [name for name, off, val in log if off == 0 and val == 1]
    assert starts == ["odma0", "idma0"]
    assert [off for name, off, _ in log if name == "odma0"] == [0x10, 0x1C, 0x00]
