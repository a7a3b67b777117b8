"""Catalogue of bad inputs, faults and interruptions across the commands.

Each case sets up one bad input in a fresh folder, runs the command in-process, and asserts:
the exit code, one line naming the file/node/board/option at fault (no traceback: ``cli`` fails the
test on any exception that is not a FlowError), and that the inputs and the earlier outputs it
lists are byte-for-byte unchanged (hashed before and after).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from .conftest import cli, committed, snapshot
from .nets import tiny_qonnx

BOARD_YAML = ("name: {name}\npart: xc7z020clg400-1\nfamily: xc7\nps: zynq7\nclock_mhz: {clk}\naxi_hp_width: 64\n"
              "resources: {{lut: {lut}, ff: 106400, dsp: 220, bram36: 140, bram18: 280, uram: 0, lutram: 500}}\n")


@dataclass
class Ctx:
    tmp: Path
    tiny: Path
    build: Path      # a finished build of ``tiny`` (the earlier outputs to protect)
    protect: list[Path] = field(default_factory=list)

    def file(self, name: str, data: bytes | str) -> Path:
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        self.protect.append(p)
        return p

    def build_with(self, *extra) -> list:
        self.protect += [self.tiny, self.build]
        return ["build", "--model", self.tiny, "--out", self.build, *extra]

    def folding(self, cfg) -> list:
        text = cfg if isinstance(cfg, (str, bytes)) else json.dumps(cfg)
        return self.build_with("--folding-config", self.file("fold.json", text))


def _qonnx(ctx: Ctx, body, inits=(), in_shape=(1, 3, 8, 8)) -> Path:
    c = [numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in
         [("s", 0.05), ("z", 0.0), ("b8", 8.0)]] + list(inits)
    q = helper.make_node("Quant", ["x", "s", "z", "b8"], ["xq"], domain="qonnx.custom_op.general", signed=1,
                         narrow=0, rounding_mode="ROUND")
    g = helper.make_graph([q] + body, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], c)
    return ctx.file("bad.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())


def _seg_dataset(ctx: Ctx, mask_size=None) -> Path:
    from fpga_flow.data.synth import generate

    root = ctx.tmp / "seg"
    generate(root, task="seg", n=6, seed=0, size=32)
    if mask_size:
        from PIL import Image
        m = sorted((root / "ISIC2018_Task1_Training_GroundTruth").glob("*.png"))[0]
        Image.new("L", mask_size, 255).save(m)
    ctx.protect.append(root)
    return root


def _board(ctx: Ctx, name="Small-Board", clk=100, lut=2000) -> Path:
    return ctx.file(f"{name}.yaml", BOARD_YAML.format(name=name, clk=clk, lut=lut))


def _interrupt_fold(ctx: Ctx, monkeypatch) -> list:
    from fpga_flow.compiler.transforms.streams import InsertStreams

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(InsertStreams, "apply", stop)
    other = tiny_qonnx(ctx.tmp / "other.onnx", seed=3)
    ctx.protect.append(other)
    return ctx.build_with()[:2] + [other] + ctx.build_with()[3:]


def _damaged_step(ctx: Ctx) -> list:
    (ctx.build / "steps" / "03_to_hw.onnx").write_bytes(b"\0" * 64)  # the stamp still matches its key
    ctx.protect.append(ctx.tiny)
    return ["build", "--model", ctx.tiny, "--out", ctx.build]


def _corrupt_dataflow(ctx: Ctx) -> list:
    (ctx.build / "dataflow.onnx").write_bytes(os.urandom(200))
    ctx.protect.append(ctx.build)
    return ["sim", "--build", ctx.build]


def _corrupt_manifest(ctx: Ctx) -> list:
    (ctx.build / "rtl").mkdir()
    (ctx.build / "rtl" / "manifest.json").write_text("{not json")
    ctx.protect.append(ctx.build)
    return ["synth", "--build", ctx.build, "--board", "Pynq-Z2"]


def _half_written_root(ctx: Ctx) -> list:
    root = ctx.tmp / "root"
    (root / "m-Pynq-Z2" / ".staging" / "steps").mkdir(parents=True)
    (root / "report").mkdir()
    (root / "report" / "report.md").write_text("an earlier report\n")
    ctx.protect.append(root)
    return ["report", "--build-root", root]


def _truncated_zip_checkpoint(ctx: Ctx) -> list:
    import io

    import torch
    buf = io.BytesIO()
    torch.save({"name": "lenet5", "config": {}, "state_dict": {}}, buf)
    return ["quantize", "--model", ctx.file("m.pt", buf.getvalue()[:60]), "--out", ctx.tmp / "q"]


# (id, setup(ctx[, monkeypatch]) -> argv, exit code, regex the message must match)
CASES: list[tuple[str, Callable, int, str]] = [
    # --- ONNX model files given to build
    ("onnx-random-bytes", lambda c: c.build_with()[:2] + [c.file("m.onnx", os.urandom(300))] + c.build_with()[3:],
     1, r"m\.onnx: not an ONNX model, truncated or of another format \(expected a QONNX protobuf"),
    ("onnx-truncated", lambda c: c.build_with()[:2] + [c.file("t.onnx", c.tiny.read_bytes()[:400])] + c.build_with()[3:],
     1, r"t\.onnx: not an ONNX model, truncated"),
    ("onnx-empty", lambda c: c.build_with()[:2] + [c.file("e.onnx", b"")] + c.build_with()[3:],
     1, r"e\.onnx: empty file, expected a QONNX model"),
    ("onnx-is-json-text", lambda c: c.build_with()[:2] + [c.file("j.onnx", '{"a": 1}')] + c.build_with()[3:],
     1, r"j\.onnx: not an ONNX model"),
    ("onnx-is-png", lambda c: c.build_with()[:2] + [c.file("img.png", b"\x89PNG\r\n\x1a\n" + os.urandom(64))]
     + c.build_with()[3:], 1, r"img\.png: not an ONNX model"),
    ("onnx-missing", lambda c: c.build_with()[:2] + [c.tmp / "nope.onnx"] + c.build_with()[3:],
     1, r"nope\.onnx: QONNX file not found"),
    ("onnx-folder", lambda c: c.build_with()[:2] + [c.tmp] + c.build_with()[3:],
     1, r"a folder without model\.qonnx\.onnx"),
    ("onnx-no-nodes", lambda c: c.build_with()[:2] + [c.file("n.onnx", helper.make_model(helper.make_graph(
        [], "g", [], [])).SerializeToString())] + c.build_with()[3:], 1, r"n\.onnx: ONNX model without nodes"),
    ("onnx-unsupported-op", lambda c: c.build_with()[:2] + [_qonnx(c, [helper.make_node("Sigmoid", ["xq"], ["y"],
                                                                                          name="sig")])]
     + c.build_with()[3:], 1, r"\(Sigmoid\): op type not supported"),
    ("onnx-dynamic-shape", lambda c: c.build_with()[:2] + [_qonnx(c, [helper.make_node("Relu", ["xq"], ["y"])],
                                                                   in_shape=("N", 3, 8, 8))] + c.build_with()[3:],
     1, r"tensor 'x' has a dynamic dimension 0 \('N'\)"),
    ("onnx-float-weights", lambda c: c.build_with()[:2] + [_qonnx(c, [helper.make_node(
        "Conv", ["xq", "W"], ["y"], name="conv_float", kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [numpy_helper.from_array(
            np.ones((4, 3, 3, 3), np.float32), "W")])] + c.build_with()[3:], 1, r"\(Conv\): weight .*float tensor"),
    # --- folding JSON
    ("fold-invalid-json", lambda c: c.folding('{"MVAU_0": {"PE": 2,}'), 1, r"fold\.json: invalid JSON"),
    ("fold-top-level-list", lambda c: c.folding([{"PE": 2}]), 1, r"fold\.json: expected a JSON object"),
    ("fold-binary", lambda c: c.folding(b"\xff\xfe\x00\x81" * 8), 1, r"fold\.json: not a text file"),
    ("fold-missing", lambda c: c.build_with("--folding-config", c.tmp / "none.json"), 2, r"--folding-config.*none\.json: file not found"),
    ("fold-folder", lambda c: c.build_with("--folding-config", c.tmp), 2, r"--folding-config.*: is a folder, expected a file"),
    ("fold-entry-not-object", lambda c: c.folding({"MVAU_0": 4}), 1, r"entry 'MVAU_0' must be an object"),
    ("fold-pe-zero", lambda c: c.folding({"MVAU_0": {"PE": 0}}), 1, r"layer MVAU_0: 'PE' must be an integer >= 1, got 0"),
    ("fold-pe-negative", lambda c: c.folding({"MVAU_0": {"PE": -2}}), 1, r"layer MVAU_0: 'PE' must be an integer >= 1"),
    ("fold-simd-fraction", lambda c: c.folding({"MVAU_0": {"SIMD": 2.5}}), 1, r"'SIMD' must be an integer >= 1, got 2\.5"),
    ("fold-pe-string", lambda c: c.folding({"MVAU_0": {"PE": "4"}}), 1, r"'PE' must be an integer >= 1, got \"4\""),
    ("fold-pe-bool", lambda c: c.folding({"MVAU_0": {"PE": True}}), 1, r"'PE' must be an integer >= 1, got true"),
    ("fold-pe-null", lambda c: c.folding({"MVAU_0": {"PE": None}}), 1, r"layer MVAU_0: 'PE' must be a number"),
    ("fold-bad-mem-mode", lambda c: c.folding({"MVAU_0": {"mem_mode": "sram"}}), 1, r"'mem_mode' must be one of"),
    ("fold-bad-ram-style", lambda c: c.folding({"MVAU_0": {"ram_style": "huge"}}), 1, r"'ram_style' must be one of"),
    ("fold-parallel-window-2", lambda c: c.folding({"ConvolutionInputGenerator_0": {"parallel_window": 2}}),
     1, r"'parallel_window' must be 0 or 1"),
    ("fold-defaults-bad-spec", lambda c: c.folding({"Defaults": {"PE": [2, 5]}}), 1,
     r"Defaults 'PE' must be \[value, \[op types\] or \"all\"\]"),
    ("fold-attr-of-other-layer", lambda c: c.folding({"StreamingMaxPool_0": {"SIMD": 2}}), 1,
     r"layer StreamingMaxPool_0 \(StreamingMaxPool\) has no attribute 'SIMD'"),
    ("fold-indivisible-pe", lambda c: c.folding({"MVAU_0": {"PE": 3}}), 1,
     r"layer MVAU_0: MH=4 not divisible by PE=3 \(set by entry MVAU_0\)"),
    ("fold-illegal-defaults", lambda c: c.folding({"Defaults": {"PE": [3, ["MVAU"]]}}), 1,
     r"layer MVAU_0: MH=4 not divisible by PE=3 \(set by the Defaults\)"),
    ("fold-matches-nothing", lambda c: c.folding({"MVAU_hls_9": {"PE": 1}}), 1,
     r"fold\.json: none of its 1 entries matches a layer"),
    ("fold-over-board", lambda c: c.build_with("--folding-config", c.build / "folding.json", "--board", _board(c)),
     1, r"the design exceeds board Small-Board: lut \d+ of 2000 \(\d+%\)"),
    # --- board YAML
    ("board-unknown", lambda c: c.build_with("--board", "Pynq-Z9"), 2, r"unknown board 'Pynq-Z9': known boards are"),
    ("board-invalid-yaml", lambda c: c.build_with("--board", c.file("b.yaml", "name: [x\n")), 2,
     r"b\.yaml: invalid YAML"),
    ("board-missing-keys", lambda c: c.build_with("--board", c.file("b.yaml", "name: B\npart: x\n")), 2,
     r"b\.yaml: missing key\(s\) family, ps, clock_mhz"),
    ("board-negative-clock", lambda c: c.build_with("--board", _board(c, "Neg", clk=-5)), 2,
     r"Neg\.yaml: clock_mhz must be a positive number, got -5"),
    ("board-file-missing", lambda c: c.build_with("--board", c.tmp / "none.yaml"), 2,
     r"none\.yaml: cannot read board file"),
    # --- paths
    ("out-under-a-file", lambda c: ["build", "--model", c.tiny, "--out", c.file("f", "x") / "sub"], 2,
     r"--out.*f/sub: .*/f is a file, not a folder"),
    ("out-is-a-file", lambda c: ["build", "--model", c.tiny, "--out", c.file("o", "x")], 1,
     r"o: exists and is not a folder"),
    ("sim-no-build", lambda c: ["sim", "--build", c.tmp / "nob"], 2, r"--build.*nob: folder not found"),
    ("sim-corrupt-dataflow", _corrupt_dataflow, 1, r"dataflow\.onnx: cannot be read as ONNX"),
    ("sim-zero-frames", lambda c: ["sim", "--build", c.build, "--frames", "0"], 2, r"--frames"),
    ("synth-no-build", lambda c: ["synth", "--build", c.tmp / "nob"], 2, r"--build.*nob: folder not found"),
    ("synth-corrupt-manifest", _corrupt_manifest, 1, r"rtl/manifest\.json: unreadable JSON"),
    ("report-missing-root", lambda c: ["report", "--build-root", c.tmp / "nothing"], 1,
     r"build root .*nothing not found"),
    ("report-root-is-file", lambda c: ["report", "--build-root", c.file("r", "x")], 1, r"build root .*r is not a folder"),
    ("report-only-half-written", _half_written_root, 1,
     r"nothing to report: m-Pynq-Z2: missing an unfinished `fpga-flow build` \(\.staging/\)"),
    ("bench-no-build", lambda c: ["bench", "--model", "nomodel", "--build-root", c.tmp], 1,
     r"nomodel-Pynq-Z2: build folder not found"),
    ("bench-unknown-backend", lambda c: ["bench", "--model", "x", "--backend", "gpu"], 2, r"--backend.*'gpu' is not one of cpu-torch"),
    ("data-info-missing-root", lambda c: ["data", "info", "--root", c.tmp / "nodata"], 1,
     r"nodata: dataset root is not a directory"),
    ("data-synth-bad-size", lambda c: ["data", "synth", "--out", c.tmp / "ds", "--size", "5"], 2,
     r"--image-size.*greater than or equal to 16"),
    ("quantize-onnx-as-checkpoint", lambda c: ["quantize", "--model", c.file("m.onnx", c.tiny.read_bytes()),
                                               "--out", c.tmp / "q"], 1,
     r"m\.onnx: not a readable checkpoint: an ONNX model file, not a checkpoint; expected a PyTorch checkpoint"),
    ("quantize-truncated-checkpoint", _truncated_zip_checkpoint, 1,
     r"m\.pt: not a readable checkpoint: not a torch\.save archive \(truncated, or another format\)"),
    # --- interruptions and damaged state
    ("build-interrupted-in-fold", _interrupt_fold, 130, r"\[4/5\] fold \.\.\.$"),  # Ctrl-C: 128 + SIGINT
    ("build-damaged-step-file", _damaged_step, 0, r"estimate\]"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, tiny, tiny_build, tmp_path, monkeypatch):
    name, setup, code, pattern = case
    build = tmp_path / "tiny-Pynq-Z2"
    shutil.copytree(tiny_build, build)
    ctx = Ctx(tmp_path / "in", tiny, build)
    ctx.tmp.mkdir()
    argv = setup(ctx, monkeypatch) if setup.__code__.co_argcount == 2 else setup(ctx)
    before = snapshot(*ctx.protect)
    r = cli(*argv)
    assert r.code == code, f"{name}: exit {r.code}: {r.message}"
    assert re.search(pattern, " ".join(r.message.split())), f"{name}: {r.message!r}"
    if code == 1 and not name.startswith("build-interrupted"):
        assert "\n" not in r.message.strip(), f"{name}: more than one line: {r.message!r}"
        assert "Traceback" not in r.output
    after = committed(snapshot(*ctx.protect))
    if name == "build-damaged-step-file":  # the damaged step is redone: the build is whole again
        assert after == before and committed(snapshot(build)) == {
            k.replace(str(tiny_build), str(build)): v for k, v in snapshot(tiny_build).items()}
    else:
        assert after == before, f"{name}: inputs or earlier outputs changed"


def test_catalogue_size():
    assert len(CASES) >= 40


def test_mask_of_another_aspect_ratio_is_named(tmp_path, caplog):
    from fpga_flow.data.layouts import index_dataset
    from fpga_flow.errors import FlowError

    ctx = Ctx(tmp_path, Path(), Path())
    root = _seg_dataset(ctx, mask_size=(32, 16))
    before = snapshot(root)
    with caplog.at_level("WARNING"):
        idx = index_dataset(root, "seg")
    bad = sorted((root / "ISIC2018_Task1_Training_GroundTruth").glob("*.png"))[0]
    assert [m for m, _, _ in idx.mask_mismatch] == [bad] and idx.mask_mismatch[0][1:] == ((32, 16), (32, 32))
    assert str(bad) in caplog.text and "another aspect ratio" in caplog.text
    with pytest.raises(FlowError, match=rf"{bad.name}: mask is 32x16, its image .* is 32x32"):
        index_dataset(root, "seg", strict_masks=True)
    # same aspect ratio at another resolution is fine (nearest resize, no stretch)
    from PIL import Image
    Image.new("L", (64, 64), 0).save(bad)
    assert index_dataset(root, "seg").mask_mismatch == []
    assert snapshot(root) != before  # (the test itself rewrote the mask)


def test_unreadable_image_is_skipped_and_named(tmp_path):
    from fpga_flow.data.layouts import index_dataset

    ctx = Ctx(tmp_path, Path(), Path())
    root = _seg_dataset(ctx)
    img = sorted((root / "ISIC2018_Task1-2_Training_Input").glob("*.jpg"))[0]
    img.write_bytes(img.read_bytes()[:50])
    before = snapshot(root)
    idx = index_dataset(root, "seg")
    assert [p for p, _ in idx.skipped] == [img] and len(idx.images) == 5
    assert snapshot(root) == before
