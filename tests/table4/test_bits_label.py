"""The FPGA row's numeric format: a build made with the row's bit widths records wbits/abits None."""

from fpga_flow.flow.config import FlowConfig
from fpga_flow.table4.record import _bits_label


def test_bits_label_falls_back_to_the_rows_bits():
    assert _bits_label("vgg16-hcr", {"wbits": None, "abits": None}) == "W4A4"
    assert _bits_label("vgg16-pruned", {}) == "W4A4" and _bits_label("segnet", {}) == "W8A8"
    assert _bits_label("vgg16-hcr", {"wbits": 2, "abits": 3}) == "W2A3"
    assert _bits_label("vgg16", {"wbits": 4}) == "W4A8"  # one override, the other the row's
    assert _bits_label("not-a-zoo-model", {}) == "W?A?"
    assert _bits_label("resnet18", {"wbits": 4, "abits": 4}) == "W4A4"  # a zoo model that is no Table 4 row


def test_bits_label_is_the_flows_own(monkeypatch):
    """One source (issue 13): the label is FlowConfig.bits', so a change to how the flow picks bits shows here."""
    import dataclasses

    monkeypatch.setattr(FlowConfig, "bits", property(lambda self: dataclasses.replace(self.row.bits, wbits=7, abits=5)))
    assert _bits_label("vgg16-hcr", {}) == _bits_label("segnet", {"wbits": 2}) == "W7A5"
