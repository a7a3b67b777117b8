"""Packing of integer arrays into stream words and back: the one implementation of SPEC.md.

Element ``j`` of a word occupies bits ``[j*B, (j+1)*B)`` (element 0 in the LSBs), signed
elements are two's complement. A packed word is stored as ``word_bytes`` little-endian
bytes (byte 0 holds bits 0..7), which is both the AXI-stream/DMA byte order on Zynq and
the memory layout Verilator uses for ports of any width. Used by rtlsim, by the memory
files of codegen (``hex_lines``) and by the PYNQ driver.
"""

from __future__ import annotations

import numpy as np

from fpga_flow.errors import FlowError

__all__ = ["word_bytes", "pack", "unpack", "hex_lines", "words_to_ints", "ints_to_words"]


def word_bytes(bits: int) -> int:
    """Bytes that hold one word of ``bits`` bits (ports are padded to whole bytes)."""
    return max(1, (int(bits) + 7) // 8)


def _check(bits: int, fold: int) -> None:
    if bits < 1 or bits > 64:
        raise FlowError(f"packing: element width {bits} bits is outside 1..64")
    if fold < 1:
        raise FlowError(f"packing: {fold} elements per word")


def pack(x: np.ndarray, bits: int, fold: int, signed: bool | None = None,
         nbytes: int | None = None) -> np.ndarray:
    """Pack integers into words of ``fold`` elements of ``bits`` bits.

    ``x`` is any integer array whose size is a multiple of ``fold``; it is read in C order
    (channels innermost), so ``fold`` consecutive elements form one word. Returns a uint8
    array of shape ``(n_words, nbytes)`` (``nbytes`` defaults to ``word_bytes(fold*bits)``).
    Values must fit: unsigned in ``[0, 2^bits)``, signed in ``[-2^(bits-1), 2^(bits-1))``;
    ``signed=None`` infers it from the data.
    """
    _check(bits, fold)
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        if a.size and not np.all(np.equal(np.mod(a, 1), 0)):
            raise FlowError("packing: non-integer values")
    a = a.astype(np.int64).reshape(-1)
    if a.size % fold:
        raise FlowError(f"packing: {a.size} elements is not a multiple of {fold} per word")
    if signed is None:
        signed = bool(a.size and a.min() < 0)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if bits < 64 and a.size and (a.min() < lo or a.max() > hi):
        raise FlowError(f"packing: values in [{a.min()}, {a.max()}] do not fit "
                        f"{'INT' if signed else 'UINT'}{bits}")
    u = a.view(np.uint64)
    if bits < 64:
        u = u & np.uint64((1 << bits) - 1)
    nw = a.size // fold
    wbits = fold * bits
    nb = word_bytes(wbits) if nbytes is None else int(nbytes)
    if nb * 8 < wbits:
        raise FlowError(f"packing: {nb} bytes cannot hold a {wbits}-bit word")
    if bits % 8 == 0 and nb * 8 == wbits:
        # byte-aligned fast path: little-endian bytes of each element, concatenated
        b = u.astype("<u8").view(np.uint8).reshape(-1, 8)[:, : bits // 8]
        return np.ascontiguousarray(b.reshape(nw, nb))
    shifts = np.arange(bits, dtype=np.uint64)
    bitmat = ((u[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    bitmat = bitmat.reshape(nw, wbits)
    if nb * 8 > wbits:
        bitmat = np.concatenate([bitmat, np.zeros((nw, nb * 8 - wbits), np.uint8)], axis=1)
    return np.packbits(bitmat, axis=1, bitorder="little")


def unpack(words: np.ndarray, bits: int, fold: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack`: ``(n_words, nbytes)`` uint8 -> int64 array ``(n_words*fold,)``."""
    _check(bits, fold)
    w = np.asarray(words, dtype=np.uint8)
    if w.ndim == 1:
        w = w.reshape(-1, word_bytes(fold * bits))
    nw, nb = w.shape
    wbits = fold * bits
    if nb * 8 < wbits:
        raise FlowError(f"packing: {nb}-byte words cannot hold {fold}x{bits} bits")
    if bits % 8 == 0:
        eb = bits // 8
        b = w[:, : wbits // 8].reshape(-1, eb)
        full = np.zeros((b.shape[0], 8), np.uint8)
        full[:, :eb] = b
        u = full.view("<u8").reshape(-1)
    else:
        bitmat = np.unpackbits(w, axis=1, bitorder="little")[:, :wbits].reshape(-1, bits)
        weights = (np.uint64(1) << np.arange(bits, dtype=np.uint64))
        u = (bitmat.astype(np.uint64) * weights[None, :]).sum(axis=1, dtype=np.uint64)
    v = u.view(np.int64).copy() if bits == 64 else u.astype(np.int64)
    if signed and bits < 64:
        sign = np.int64(1) << np.int64(bits - 1)
        v = (v ^ sign) - sign
    return v


def words_to_ints(words: np.ndarray) -> list[int]:
    """Packed words -> Python ints (arbitrary width)."""
    return [int.from_bytes(bytes(r), "little") for r in np.asarray(words, np.uint8)]


def ints_to_words(values, nbytes: int) -> np.ndarray:
    """Python ints -> ``(n, nbytes)`` uint8 words."""
    return np.array([list(int(v).to_bytes(nbytes, "little")) for v in values], np.uint8).reshape(-1, nbytes)


def hex_lines(x: np.ndarray, bits: int, fold: int, signed: bool | None = None) -> list[str]:
    """``$readmemh`` lines (one word per line, MSB first) of ``fold`` elements of ``bits``."""
    wbits = fold * bits
    words = pack(x, bits, fold, signed=signed)
    nhex = (wbits + 3) // 4
    return [r[::-1].tobytes().hex()[-nhex:] if nhex else "0" for r in words]
