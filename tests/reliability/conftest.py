"""Fixtures of the reliability catalogue: a tiny QONNX model, one build of it, in-process CLI runs,
and file hashes to prove that inputs and earlier outputs are untouched."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from .nets import tiny_qonnx

warnings.filterwarnings("ignore")


def snapshot(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (files or folders); absent paths map to 'absent'."""
    out = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif p.is_file():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p)] = "absent"
    return out


def committed(snap: dict[str, str]) -> dict[str, str]:
    """A snapshot without the staging folder (where a failed build keeps its steps for the rerun)."""
    return {k: v for k, v in snap.items() if "/.staging/" not in k and not k.endswith("/.staging")}


@dataclass
class CliResult:
    code: int
    message: str   # the FlowError's message, else everything the command printed
    output: str


def cli(*args) -> CliResult:
    """Run ``fpga-flow ARGS`` in-process as ``fpga_flow.cli.main`` would: a FlowError becomes its
    exit code and one line; any other exception fails the test (it would be a traceback)."""
    from typer.testing import CliRunner

    from fpga_flow.cli import app
    from fpga_flow.errors import FlowError

    r = CliRunner().invoke(app, [str(a) for a in args])
    err = r.exception
    if isinstance(err, FlowError):
        return CliResult(err.exit_code, str(err), r.output)
    if err is not None and not isinstance(err, SystemExit):
        raise AssertionError(f"fpga-flow {' '.join(map(str, args))}: traceback instead of one line") from err
    return CliResult(r.exit_code, r.output, r.output)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    return tiny_qonnx(tmp_path_factory.mktemp("tiny") / "tiny.qonnx.onnx")


@pytest.fixture(scope="session")
def tiny_build(tiny, tmp_path_factory) -> Path:
    from fpga_flow.compiler import build_dataflow

    out = tmp_path_factory.mktemp("built") / "tiny-Pynq-Z2"
    build_dataflow(tiny, "Pynq-Z2", out, quiet=True)
    return out


@pytest.fixture
def build_copy(tiny_build, tmp_path) -> Path:
    """A private copy of the tiny build (tests may break it)."""
    dst = tmp_path / "tiny-Pynq-Z2"
    shutil.copytree(tiny_build, dst)
    return dst
