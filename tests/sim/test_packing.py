"""packing.py: the one implementation of SPEC.md's word format (also used by the PYNQ driver)."""

import numpy as np
import pytest

from fpga_flow.errors import FlowError
from fpga_flow.sim.packing import hex_lines, pack, unpack, word_bytes, words_to_ints


@pytest.mark.parametrize("bits", [1, 3, 4, 8, 13, 16, 32, 33, 64])
@pytest.mark.parametrize("fold", [1, 3, 8, 17])
@pytest.mark.parametrize("signed", [False, True])
def test_roundtrip_and_bit_positions(bits, fold, signed):
    rng = np.random.default_rng(bits * 100 + fold)
    if bits == 64:
        x = rng.integers(-2**62, 2**62, fold * 5) if signed else rng.integers(0, 2**62, fold * 5)
    else:
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        x = rng.integers(lo, hi, fold * 5)
    w = pack(x, bits, fold, signed=signed)
    assert w.shape == (5, word_bytes(fold * bits))
    np.testing.assert_array_equal(unpack(w, bits, fold, signed), x)
    mask = (1 << bits) - 1
    ref = [sum((int(v) & mask) << (j * bits) for j, v in enumerate(x[k * fold:(k + 1) * fold])) for k in range(5)]
    assert words_to_ints(w) == ref


def test_hex_lines_msb_first_and_padding():
    # element 0 in the LSBs: [1, -1] as INT4 -> 0xf1
    assert hex_lines(np.array([1, -1, 2, 3]), 4, 2) == ["f1", "32"]
    assert hex_lines(np.array([5]), 3, 1) == ["5"]
    # wide words, leading zeros kept
    assert hex_lines(np.array([1, 0, 0]), 24, 3) == ["0" * 17 + "1"]


def test_padded_word_bytes():
    w = pack(np.array([7, 7]), 3, 2, nbytes=4)
    assert w.shape == (1, 4) and list(w[0]) == [0x3F, 0, 0, 0]


def test_bad_values():
    with pytest.raises(FlowError, match="do not fit"):
        pack(np.array([16]), 4, 1, signed=False)
    with pytest.raises(FlowError, match="multiple"):
        pack(np.arange(5), 4, 2)
    with pytest.raises(FlowError, match="non-integer"):
        pack(np.array([0.5]), 4, 1)


def test_memory_files_of_the_layer_classes_match():
    """The compiler's memory-file packing must agree with this one (one format, SPEC.md)."""
    hw = pytest.importorskip("fpga_flow.compiler.hw")
    rng = np.random.default_rng(3)
    for bits, fold in [(4, 6), (3, 5), (9, 2), (17, 3)]:
        x = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (7, fold))
        assert hw.pack_words(x, bits) == hex_lines(x, bits, fold, signed=True)
