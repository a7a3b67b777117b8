"""boards/*.yaml: the real part figures, case-insensitive lookup, validation of bad files."""

from __future__ import annotations

import pytest
import yaml

from fpga_flow.boards import BOARDS_DIR, Board, all_boards, known_boards, load_board
from fpga_flow.errors import FlowError

# name: (part, ps, family, MHz, HP width, LUT, FF, DSP, BRAM36, URAM) from the Xilinx/AMD data sheets
EXPECTED = {
    "Pynq-Z1": ("xc7z020clg400-1", "zynq7", "xc7", 100, 64, 53200, 106400, 220, 140, 0),
    "Pynq-Z2": ("xc7z020clg400-1", "zynq7", "xc7", 100, 64, 53200, 106400, 220, 140, 0),
    "Ultra96-V2": ("xczu3eg-sbva484-1-i", "zynq_us+", "xcup", 200, 128, 70560, 141120, 360, 216, 0),
    "ZCU104": ("xczu7ev-ffvc1156-2-e", "zynq_us+", "xcup", 200, 128, 230400, 460800, 1728, 312, 96),
    "KV260": ("xck26-sfvc784-2LV-c", "zynq_us+", "xcup", 200, 128, 117120, 234240, 1248, 144, 64),
}


def test_known_boards():
    assert sorted(known_boards()) == sorted(EXPECTED)
    assert len(all_boards()) == 5


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_board_figures(name):
    part, ps, family, mhz, hp, lut, ff, dsp, bram36, uram = EXPECTED[name]
    b = load_board(name)
    assert isinstance(b, Board)
    assert (b.name, b.part, b.ps, b.family, b.clock_mhz, b.axi_hp_width) == (name, part, ps, family, mhz, hp)
    r = b.resources
    assert (r.lut, r.ff, r.dsp, r.bram36, r.bram18, r.uram) == (lut, ff, dsp, bram36, 2 * bram36, uram)
    assert b.budget() == {"lut": lut, "ff": ff, "dsp": dsp, "bram18": 2 * bram36, "uram": uram}
    assert b.clock_period_ns == pytest.approx(1000 / mhz)


def test_case_insensitive_and_path():
    assert load_board("pynq-z2").name == "Pynq-Z2"
    assert load_board("zcu104").part == "xczu7ev-ffvc1156-2-e"
    assert load_board("KV260").resources.uram == 64
    assert load_board(BOARDS_DIR / "Ultra96-V2.yaml").resources.dsp == 360


def test_unknown_board_lists_known():
    with pytest.raises(FlowError, match=r"unknown board 'Pynq-Z3': known boards are KV260, Pynq-Z1, Pynq-Z2, Ultra96-V2, ZCU104"):
        load_board("Pynq-Z3")


def _write(tmp_path, data, name="Test.yaml"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def _good():
    return yaml.safe_load((BOARDS_DIR / "Pynq-Z2.yaml").read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(colour="red"), r"unknown key\(s\) colour"),
    (lambda d: d.pop("part"), r"missing key\(s\) part"),
    (lambda d: d["resources"].update(lut=-5), r"resources.lut must be >= 0, got -5"),
    (lambda d: d["resources"].update(dsp=1.5), r"resources.dsp must be an integer"),
    (lambda d: d["resources"].update(bram18=100), r"bram18 \(100\) must be 2 x bram36 \(140\)"),
    (lambda d: d["resources"].update(carry=5), r"unknown resource\(s\) carry"),
    (lambda d: d["resources"].pop("uram"), r"missing resource\(s\) uram"),
    (lambda d: d.update(family="xc9"), r"family must be one of xc7, xcup"),
    (lambda d: d.update(ps="versal"), r"ps must be one of"),
    (lambda d: d.update(clock_mhz=-100), r"clock_mhz must be a positive number"),
    (lambda d: d.update(axi_hp_width=96), r"axi_hp_width must be 32, 64 or 128"),
    (lambda d: d["resources"].update(uram=4), r"7-series parts have no URAM"),
])
def test_bad_board_files(tmp_path, mutate, message):
    d = _good()
    mutate(d)
    p = _write(tmp_path, d)
    with pytest.raises(FlowError, match=message) as err:
        load_board(p)
    assert str(err.value).startswith(str(p))  # names the YAML file


def test_invalid_yaml_and_name_mismatch(tmp_path):
    p = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(FlowError, match=r"Test.yaml: invalid YAML"):
        load_board(p)
    d = _good()
    _write(tmp_path, d, "Other.yaml")
    with pytest.raises(FlowError, match=r"Other.yaml: name 'Pynq-Z2' does not match the file name"):
        load_board("other", boards_dir=tmp_path)
    with pytest.raises(FlowError, match="cannot read board file"):
        load_board(tmp_path / "missing.yaml")
