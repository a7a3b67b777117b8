"""QuantSpec: bit widths validated before anything else happens."""

from __future__ import annotations

import pytest

from fpga_flow.errors import FlowError
from fpga_flow.quant.spec import QuantSpec, WeightScaling


def test_defaults_are_w4a4_with_8bit_edges():
    s = QuantSpec()
    assert (s.wbits, s.abits, s.first_wbits, s.last_wbits, s.in_bits) == (4, 4, 8, 8, 8)
    assert s.out_bits is None and s.weight_scaling is WeightScaling.TENSOR
    assert s.label() == "W4A4"


@pytest.mark.parametrize("field", ["wbits", "abits", "first_wbits", "last_wbits", "in_bits", "out_bits"])
@pytest.mark.parametrize("value", [0, 1, 9, 16, -4])
def test_bit_width_outside_range_is_rejected(field, value):
    with pytest.raises(FlowError, match=rf"QuantSpec\.{field}={value}: bit width outside 2\.\.8"):
        QuantSpec(**{field: value})


@pytest.mark.parametrize("value", ["4", 4.0, True, None])
def test_non_integer_bit_width_is_rejected(value):
    with pytest.raises(FlowError, match="QuantSpec.wbits"):
        QuantSpec(wbits=value)


def test_every_width_in_range_is_accepted():
    for b in range(2, 9):
        assert QuantSpec(wbits=b, abits=10 - b if 10 - b <= 8 else 8).wbits == b


def test_round_trip_and_bad_fields():
    s = QuantSpec(wbits=3, abits=5, out_bits=8, weight_scaling="channel")
    assert s.weight_scaling is WeightScaling.CHANNEL
    assert QuantSpec.from_dict(s.to_dict()) == s
    with pytest.raises(FlowError, match="unknown field"):
        QuantSpec.from_dict({"wbits": 4, "bits": 3})
    with pytest.raises(FlowError, match="weight_scaling='row'"):
        QuantSpec(weight_scaling="row")


def test_uniform_sets_the_edges_too():
    s = QuantSpec.uniform(2, 3)
    assert (s.wbits, s.first_wbits, s.last_wbits, s.abits, s.in_bits) == (2, 2, 2, 3, 3)
