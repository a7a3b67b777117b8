"""Pruning report: MACs, remaining parameters, compression, Table 1 rows."""

from __future__ import annotations

import pytest
import torch

from fpga_flow.models import build
from fpga_flow.prune.report import build_report, layer_macs, table1_markdown
from fpga_flow.prune.simplify import simplify


def test_lenet_macs() -> None:
    # conv1 20x24x24 x 25, conv2 50x8x8 x 500, fc1 800x500, fc2 500x10
    assert layer_macs(build("lenet5"), (1, 28, 28)) == [288000, 1600000, 400000, 5000]


def test_report_numbers() -> None:
    torch.manual_seed(0)
    original = build("lenet5")
    pruned = build("lenet5")
    pruned.load_state_dict(original.state_dict())
    with torch.no_grad():
        pruned.features[0].weight[10:] = 0          # conv1: 10 of 20 neurons gone
        pruned.features[0].bias[10:] = 0
        pruned.head[1].weight[:, ::2] = 0           # fc1: half the weights zero, no neuron gone
    simple = simplify(pruned, name="lenet5")
    rep = build_report("lenet5", "test", original, pruned, simple.model, (1, 28, 28), "accuracy", 98.0, 97.5)
    assert rep.neurons(after=False) == "[20]-[50]-[500]-[10]"
    assert rep.neurons() == "[10]-[50]-[500]-[10]"
    r0, r1, r2, r3 = rep.rows
    assert (r0.params_before, r0.params_nonzero, r0.params_simplified) == (520, 260, 260)
    assert r1.params_simplified == 50 * 10 * 25 + 50 and r1.macs_after == 800000
    assert r2.params_nonzero == 200000 + 500 and r2.remaining_pct == 100 * 200500 / 400500
    assert rep.params_before == 431080
    # conv2's weights reading the removed conv1 neurons no longer count
    assert r1.params_nonzero == 12550
    assert rep.compression == 431080 / (260 + 12550 + 200500 + 5010)
    assert rep.structural_compression == 431080 / (260 + 12550 + 400500 + 5010)
    assert rep.channels_pruned_pct == pytest.approx(100 * 10 / 570)
    md = table1_markdown([("ours", rep)])
    assert "| SeReNe (seed) | 33.75 | 3.25 | 0.27 | 10.22 | 177.05x | [11]-[26]-[113]-[10] |" in md
    assert "| ours | 50.00 | 50.10 | 50.06 | 100.00 | 1.97x | [10]-[50]-[500]-[10] | 1.03x | 2.50 |" in md
    assert "| total |" in rep.layers_markdown()
    assert rep.to_dict()["compression"] == rep.compression
