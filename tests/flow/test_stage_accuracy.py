"""Accuracy through the stages: the ledger, its warnings (stage named), and the flow's row resolution."""

from __future__ import annotations

import json

import pytest

from fpga_flow import stage_accuracy as sa
from fpga_flow.errors import FlowError
from fpga_flow.flow import FlowConfig


def _s(stage: str, value: float, bound: float | None = 1.0) -> sa.StageScore:
    return sa.StageScore(stage, "balanced_accuracy", value, "test", 120, 32, bound)


def test_a_stage_past_its_bound_is_a_warning_naming_it(tmp_path) -> None:
    assert sa.record(tmp_path, "vgg16-hcr", _s("float", 0.942, None)) is None
    assert sa.record(tmp_path, "vgg16-hcr", _s("pruned", 0.967, 2.0)) is None  # a gain
    warn = sa.record(tmp_path, "vgg16-hcr", _s("quantized", 0.800))
    assert warn == ("stage quantized lost 16.70 points of test balanced_accuracy (pruned 96.70 % -> quantized "
                    "80.00 %, 120 test images; bound 1 points for vgg16-hcr)")
    data = json.loads((tmp_path / sa.LEDGER).read_text())
    assert [s["stage"] for s in data["stages"]] == ["float", "pruned", "quantized"] and data["warnings"] == [warn]
    # within the bound (0.83 points = one image of 120): no warning; re-running a stage drops the later ones
    assert sa.record(tmp_path, "vgg16-hcr", _s("quantized", 0.9587)) is None
    assert sa.record(tmp_path, "vgg16-hcr", _s("pruned", 0.90, 2.0)).startswith("stage pruned lost 4.20 points")
    data = sa.read(tmp_path)
    assert [s["stage"] for s in data["stages"]] == ["float", "pruned"] and len(data["warnings"]) == 1


def test_flow_rows_resolve_bits_and_architecture() -> None:
    c = FlowConfig(model="vgg16-pruned")
    assert (c.row_name, c.base, c.task, c.image_size, c.low_size) == ("vgg16-hcr", "vgg16", "cls", 224, 32)
    q = c.quant_spec()
    assert (q.wbits, q.abits, q.first_wbits, q.last_wbits) == (4, 4, 8, 8)
    q = FlowConfig(model="segnet").quant_spec()
    assert (q.wbits, q.abits) == (8, 8)
    assert FlowConfig(model="vgg16-quantized").base == "vgg16" and not FlowConfig(model="vgg16-quantized").row.pruned
    assert FlowConfig(model="vgg16", wbits=6).quant_spec().wbits == 6
    with pytest.raises(FlowError, match="lenet5 is not a Table 4 row; the flow builds: vgg16, vgg16-quantized"):
        FlowConfig(model="lenet5").task
    with pytest.raises(FlowError, match="unknown model 'vgg11'; Table 4 rows: vgg16"):
        FlowConfig(model="vgg11").task
