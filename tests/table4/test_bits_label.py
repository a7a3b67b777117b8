"""The FPGA row's numeric format: a build made with the row's bit widths records wbits/abits None."""

from fpga_flow.table4.record import _bits_label


def test_bits_label_falls_back_to_the_rows_bits():
    assert _bits_label("vgg16-hcr", {"wbits": None, "abits": None}) == "W4A4"
    assert _bits_label("vgg16-pruned", {}) == "W4A4" and _bits_label("segnet", {}) == "W8A8"
    assert _bits_label("vgg16-hcr", {"wbits": 2, "abits": 3}) == "W2A3"
    assert _bits_label("not-a-zoo-model", {}) == "W?A?"
