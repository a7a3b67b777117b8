"""The build stage's FIFO fit (flow/fifo_fit.py): a design whose weights fit the fold's BRAM budget but
whose sized FIFOs push it over is folded again with the layers' budget lowered by the FIFOs' BRAM."""

from __future__ import annotations

import dataclasses
import json

import pytest
from qonnx.core.modelwrapper import ModelWrapper

from fpga_flow.boards import load_board
from fpga_flow.codegen import build_chain
from fpga_flow.compiler.build import build_dataflow
from fpga_flow.errors import FlowError
from fpga_flow.flow.fifo_fit import fit_fifos, layer_bram, sized_fifo_bram

from . import nets


@pytest.fixture(scope="module")
def wide_conv(tmp_path_factory):
    """conv 3->32 -> conv 32->128 at 16x16, W4A4: at 2,000 FPS [estimate] MVAU_1's 288-kbit ROM takes 11 BRAM18."""
    path = tmp_path_factory.mktemp("fit") / "c.onnx"
    return nets.export(nets.randomize(nets.conv_net(po2=True, ch=(32, 128))), path, (1, 3, 16, 16))


def deep_fifos(bdir):
    """4,096 words in every FIFO, as rtlsim sizes a FIFO behind a producer faster than its consumer."""
    chain = build_chain(ModelWrapper(str(bdir / "dataflow.onnx")))
    return {s.name: 4096 for s in chain.fifos()}


def test_fifo_fit_refolds_until_layers_and_fifos_fit(wide_conv, tmp_path):
    pz2 = load_board("Pynq-Z2")
    board = dataclasses.replace(pz2, resources=dataclasses.replace(pz2.resources, bram18=36, bram36=18))
    out = tmp_path / "b"
    lines, folds = [], []

    def build(bram):
        folds.append(bram)
        return build_dataflow(wide_conv, board, out, target_fps=2000.0, quiet=True, bram_budget=bram)

    r = fit_fifos(out, board, build, note=lines.append, size=deep_fifos, key="k")
    # the cycle model's FIFOs at 16x16 (a row is a few dozen words) take no BRAM: no refold before sizing
    assert lines.pop(0).startswith("FIFO reserve 1: layers 11 + FIFOs by the cycle model 0 = 11 BRAM18 of 34")
    # [estimate] round 1: the fold's 85 % (30.6 BRAM18) holds MVAU_1's 11-BRAM18 ROM, the 4,096-word FIFOs
    # take 26 (12 in StreamingFIFO_3): 37 > 0.95 * 36; round 2 folds within 34.2 - 26 = 8.2 BRAM18 for the
    # layers: MVAU_1's weights go to LUTRAM at the same 49,152 cycles/frame
    assert folds == [None, pytest.approx(8.2)]
    assert [ln.split(":")[1].split(" BRAM18")[0] for ln in lines] == [" layers 11 + sized FIFOs 26 = 37",
                                                                       " layers 0 + sized FIFOs 26 = 26"]
    assert "largest FIFO StreamingFIFO_3 12 BRAM18 (depth 4096)" in lines[0]
    est = json.loads((out / "estimates.json").read_text())
    t = est["total"]
    assert layer_bram(est) == 0 and t["cycles_per_frame"] == 49152
    assert t["fifo_bram18"] == sum(sized_fifo_bram(out, deep_fifos(out)).values()) == 26
    assert t["resources"]["bram18"] == 26 == r.estimates["total"]["resources"]["bram18"]
    assert t["utilization"]["bram18"] == round(26 / 36, 4)
    assert json.loads((out / "fifo_fit.json").read_text())["sized"] is True

    # a re-run resumes at the lowered budget: one fold, which fits
    lines.clear(), folds.clear()
    fit_fifos(out, board, build, note=lines.append, size=deep_fifos, key="k")
    assert folds == [pytest.approx(8.2)] and len(lines) == 1


def test_fifo_fit_names_the_board_when_fifos_alone_overflow(wide_conv, tmp_path):
    pz2 = load_board("Pynq-Z2")
    board = dataclasses.replace(pz2, resources=dataclasses.replace(pz2.resources, bram18=24, bram36=12))
    out = tmp_path / "b"

    def build(bram):
        return build_dataflow(wide_conv, board, out, target_fps=2000.0, quiet=True, bram_budget=bram)

    with pytest.raises(FlowError, match=r"board Pynq-Z2: layers \+ sized FIFOs do not fit 23 BRAM18.*"
                                        r"layers 11 \+ sized FIFOs 26 = 37"):
        fit_fifos(out, board, build, note=lambda s: None, size=deep_fifos, key="k")
    assert not (out / "fifo_fit.json").exists()


def test_fifo_reserve_refolds_before_the_sizing_simulation(wide_conv, tmp_path, monkeypatch):
    """The cycle model's FIFO estimate reserves BRAM before any simulation: when layers + estimated FIFOs
    exceed the cap the fold is redone at once, and one sizing (here returning those depths) confirms."""
    from fpga_flow.flow import fifo_reserve

    # 16 rows per FIFO (instead of about half a row) puts each FIFO at the 1,024-word cap: 5 BRAM18 in all
    monkeypatch.setattr(fifo_reserve, "ROW_SHARES", (16.0,))
    pz2 = load_board("Pynq-Z2")
    board = dataclasses.replace(pz2, resources=dataclasses.replace(pz2.resources, bram18=16, bram36=8))
    out = tmp_path / "b"
    lines, folds, sized = [], [], []

    def build(bram):
        folds.append(bram)
        return build_dataflow(wide_conv, board, out, target_fps=2000.0, quiet=True, bram_budget=bram)

    def size(bdir):
        sized.append(1)
        return fifo_reserve.analytic_depths(ModelWrapper(str(bdir / "dataflow.onnx")), 16.0)

    fit_fifos(out, board, build, note=lines.append, size=size, key="k")
    # [estimate] MVAU_1's ROM (11) + the reserve (5 BRAM18 + 6 %: 6) = 17 > 0.95 * 16: refold within
    # 15.2 - 6 = 9.2, where its weights go to LUTRAM at the same 49,152 cycles/frame; one sizing, which fits
    assert folds == [None, pytest.approx(9.2)] and sized == [1]
    assert [ln.split(" BRAM18")[0] for ln in lines] == [
        "FIFO reserve 1: layers 11 + FIFOs by the cycle model 6 = 17",
        "FIFO reserve 2: layers 0 + FIFOs by the cycle model 6 = 6",
        "FIFO fit round 1: layers 0 + sized FIFOs 5 = 5"]
    assert json.loads((out / "estimates.json").read_text())["total"]["cycles_per_frame"] == 49152


def test_fifo_reserve_depths_are_a_share_of_a_row():
    from fpga_flow.flow.fifo_reserve import row_estimate

    # vgg16-hcr 224's FIFO in front of MVAU_5 (56,448 words in 56 rows, sized 1,024): at 0.45 of a row
    # 453 -> 512 words, at 0.65 655 -> 1,024; in front of MVAU_8 (12,544 words in 28 rows, sized 220):
    # 201 and 291 -> 201 and 512; 33 to 256 words stay as they are (round_depth); a vector stream: 2
    assert [row_estimate(56448, 56, k) for k in (0.45, 0.65)] == [512, 1024]
    assert [row_estimate(12544, 28, k) for k in (0.45, 0.65)] == [201, 512]
    assert row_estimate(1000, 5, 0.5) == 100
    assert row_estimate(176, 1, 0.5) == 2
    assert row_estimate(10 ** 7, 10, 0.5) == 1024
