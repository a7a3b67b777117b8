"""The CLI spine: every stage's command is listed, and errors are one line with an exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = ["data", "train", "prune", "quantize", "build", "sim", "synth", "bench", "report", "bitstream", "demo"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from fpga_flow.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )


def test_help_lists_every_stage_command():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f" {command} " in result.stdout, f"`{command}` missing from --help"


def test_unknown_command_is_a_usage_error():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


@pytest.mark.parametrize("exc_name, code", [("FlowError", 1), ("ToolMissing", 2), ("BitstreamSkipped", 3), ("NotBuiltYet", 4)])
def test_flow_errors_carry_distinct_exit_codes(exc_name, code):
    import fpga_flow.errors as errors

    assert getattr(errors, exc_name)("x").exit_code == code
