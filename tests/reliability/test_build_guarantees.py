"""A rebuild is staged and swapped in only on success; outputs of an older graph never stay beside a
new one; builds are byte-identical, also when resumed after an interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fpga_flow.compiler import build_dataflow
from fpga_flow.errors import FlowError

from .conftest import committed, snapshot
from .nets import tiny_qonnx

DERIVED = {"rtl/top.v": "module top; endmodule\n", "sim/rtlsim.json": '{"frames": 2}\n',
           "synth/report.json": "{}\n", "synth/layers/MVAU_0/result.json": '{"key": "k"}\n',
           "bench/rtlsim.json": "{}\n", "bench/cpu-torch.json": "{}\n"}


def _rel(snap: dict[str, str], root: Path) -> dict[str, str]:
    return {str(Path(k).relative_to(root)): v for k, v in snap.items()}


def _add_derived(build: Path) -> None:
    for rel, text in DERIVED.items():
        (build / rel).parent.mkdir(parents=True, exist_ok=True)
        (build / rel).write_text(text)


def test_failing_rebuild_keeps_every_earlier_output(build_copy, tmp_path):
    _add_derived(build_copy)
    other = tiny_qonnx(tmp_path / "other.onnx", seed=1, channels=8)
    before = snapshot(build_copy)
    with pytest.raises(FlowError, match=r"target 1e\+12 FPS not reachable on board Pynq-Z2"):
        build_dataflow(other, "Pynq-Z2", build_copy, target_fps=1e12, quiet=True)
    assert committed(snapshot(build_copy)) == before
    # the staged steps of the failed run are there for the next one
    assert (build_copy / ".staging" / "steps" / "03_to_hw.onnx").is_file()


def test_new_graph_moves_outputs_of_the_old_one_to_stale(build_copy, tmp_path):
    _add_derived(build_copy)
    old_sha = snapshot(build_copy / "dataflow.onnx")[str(build_copy / "dataflow.onnx")]
    other = tiny_qonnx(tmp_path / "other.onnx", seed=1, channels=8)
    r = build_dataflow(other, "Pynq-Z2", build_copy, quiet=True)
    assert r.estimates["layers"][1]["name"] == "StreamingFIFO_0"
    for rel in ("rtl/top.v", "sim/rtlsim.json", "synth/report.json", "bench/rtlsim.json"):
        assert not (build_copy / rel).exists() and (build_copy / "stale" / rel).read_text() == DERIVED[rel]
    # graph-independent caches and CPU benches stay
    for rel in ("synth/layers/MVAU_0/result.json", "bench/cpu-torch.json"):
        assert (build_copy / rel).read_text() == DERIVED[rel]
    assert json.loads((build_copy / "stale" / "STALE.json").read_text())["dataflow_sha256"] == old_sha
    assert not (build_copy / ".staging").exists()


def test_rebuild_of_the_same_graph_keeps_derived_outputs(build_copy, tiny):
    _add_derived(build_copy)
    before = snapshot(build_copy)
    r = build_dataflow(tiny, "Pynq-Z2", build_copy, quiet=True)
    assert all(skipped for _, _, skipped, _ in r.steps)
    assert snapshot(build_copy) == before


def test_two_clean_builds_are_byte_identical(tiny, tiny_build, tmp_path):
    """A second build in another process, under another hash seed (set iteration order differs)."""
    out = tmp_path / "again"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), PYTHONWARNINGS="ignore",
               PYTHONHASHSEED=str(int(os.environ.get("PYTHONHASHSEED") or "0") + 12345))
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "build", "--model", str(tiny),
                        "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    a, b = _rel(snapshot(tiny_build), tiny_build), _rel(snapshot(out), out)
    assert sorted(a) == sorted(b) and "dataflow.onnx" in a and "steps/04_fold.onnx" in a
    assert a == b


INTERRUPT_AT = {
    "tidy": ("fpga_flow.compiler.transforms.tidy", "Tidy", "apply"),
    "to_hw": ("fpga_flow.compiler.transforms.to_hw", "ToHW", "apply"),
    "fold": ("fpga_flow.compiler.transforms.streams", "InsertStreams", "apply"),
    "estimate": ("fpga_flow.compiler.checks", None, "generatable"),
    "commit": ("fpga_flow.compiler.staging", "Staging", "commit"),
}


@pytest.mark.parametrize("stage", list(INTERRUPT_AT))
def test_interrupted_build_resumes_byte_identical(stage, tiny, tiny_build, tmp_path, monkeypatch):
    """Ctrl-C in each step (and just before the swap): earlier outputs untouched, then the rerun
    gives the bytes of an uninterrupted build."""
    import importlib

    mod, cls, fn = INTERRUPT_AT[stage]
    target = importlib.import_module(mod)
    if cls:
        target = getattr(target, cls)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    out = tmp_path / "b"
    build_dataflow(tiny_qonnx(tmp_path / "prev.onnx", seed=2), "Pynq-Z2", out, quiet=True)  # an earlier build
    before = snapshot(out)
    with monkeypatch.context() as mp:
        mp.setattr(target, fn, interrupted)
        with pytest.raises(KeyboardInterrupt):
            build_dataflow(tiny, "Pynq-Z2", out, quiet=True)
    assert committed(snapshot(out)) == before
    build_dataflow(tiny, "Pynq-Z2", out, quiet=True)
    assert _rel(snapshot(out), out) == _rel(snapshot(tiny_build), tiny_build)
    assert not (out / ".staging").exists()


def _start_build(model: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), PYTHONWARNINGS="ignore")
    return subprocess.Popen([sys.executable, "-c", "from fpga_flow.cli import main; main()", "build",
                             "--model", str(model), "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("after", ["01_tidy.json", "03_to_hw.json"])
def test_signalled_build_resumes_byte_identical(sig, after, tiny, tiny_build, tmp_path):
    out = tmp_path / "b"
    p = _start_build(tiny, out)
    stamp = out / ".staging" / "steps" / after
    t0 = time.time()
    while not stamp.exists() and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.005)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0, "the build finished before the signal: nothing was interrupted"
    assert "Traceback" not in err
    assert not (out / "dataflow.onnx").exists()  # nothing committed
    p = _start_build(tiny, out)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "up to date, skipped" in err  # it resumed
    assert _rel(snapshot(out), out) == _rel(snapshot(tiny_build), tiny_build)
