"""The CLI spine: every stage's command is listed, and errors are one line with an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# ---- one vocabulary, help lines, flags, ranges: walked over every command by click introspection ----------
def _commands():
    import typer  # typer 0.29 vendors click: its classes are not the click package's, so duck typing here

    from fpga_flow.cli import app

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield path, cmd

    root = typer.main.get_command(app)
    return root, list(walk(root, []))


def _options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]


def _number_kind(opt):
    """int or float for a numeric option (typer 0.29's own parameter objects: annotation, min, max)."""
    import typing

    ann = opt.type_descriptor.annotation
    kinds = [a for a in (typing.get_args(ann) or (ann,)) if a in (int, float)]
    return kinds[0] if kinds and not opt.is_flag else None


def test_every_command_speaks_one_vocabulary_with_a_help_line_per_option():
    from fpga_flow.cli_options import ALIASES, VOCABULARY

    _, commands = _commands()
    assert len(commands) >= 12
    for path, cmd in commands:
        for opt in _options(cmd):
            where = f"fpga-flow {' '.join(path)} {opt.opts[0]}"
            if opt.hidden:
                continue
            assert opt.help and opt.help.strip(), f"{where}: no help line"
            assert not set(opt.opts) & set(ALIASES), f"{where}: an old name is visible ({opt.opts})"
            if opt.is_bool_flag:  # and click's plain help: rich help prints flags as `--flag <bool>`
                assert opt.is_flag and cmd.rich_markup_mode is None, f"{where}: not a plain flag"
    canonical = set(VOCABULARY.values())
    names = {o for _, cmd in commands for p in _options(cmd) if not p.hidden for o in p.opts}
    assert canonical <= names, canonical - names
    for old, new in ALIASES.items():
        assert new in canonical and old not in names


def test_help_shows_flags_as_flags():
    from click.testing import CliRunner

    for args in (["build", "--help"], ["bitstream", "--help"], ["bench", "--help"]):
        r = CliRunner().invoke(_commands()[0], args)
        assert r.exit_code == 0 and "<bool>" not in r.output, r.output
    assert "--best-effort " in r.output or "--quantized " in r.output


def test_old_option_names_still_work_as_hidden_aliases(tmp_path):
    root, _ = _commands()
    train = root.commands["train"]
    ctx = train.make_context("train", ["--model", "vgg16", "--data", "digits", "--out", str(tmp_path / "m.pt"),
                                       "--in-size", "32"])
    assert ctx.params["in_size"] == 32
    synth = root.commands["data"].commands["synth"]
    ctx = synth.make_context("synth", ["--out", str(tmp_path / "d"), "--size=48", "--n", "7"])
    assert (ctx.params["size"], ctx.params["n"]) == (48, 7)
    info = root.commands["data"].commands["info"]
    assert info.make_context("info", ["--root", str(tmp_path)]).params["root"] == tmp_path


def _out_of_range(opt):
    step = 1 if _number_kind(opt) is int else 1.0
    return str(opt.min - step) if opt.min is not None else str(opt.max + step)


def test_every_numeric_option_has_a_range_checked_before_any_work():
    """Out of range: exit 2 naming the option, and the command body never runs."""
    from click.testing import CliRunner  # calls root.main(), typer's own

    root, commands = _commands()
    checked = 0
    for path, cmd in commands:
        cmd.callback = lambda **kw: pytest.fail(f"fpga-flow {' '.join(path)} ran with an out-of-range value")
        for opt in _options(cmd):
            if opt.is_flag or opt.hidden or opt.multiple:
                continue
            if _number_kind(opt):
                where = f"fpga-flow {' '.join(path)} {opt.opts[0]}"
                assert opt.min is not None or opt.max is not None, f"{where}: no range"
                flag = max(opt.opts, key=len)
                r = CliRunner().invoke(root, [*path, flag, _out_of_range(opt)])
                assert r.exit_code == 2, f"{where}: exit {r.exit_code}: {r.output}"
                assert "Invalid value for" in r.output and f"'{flag}'" in r.output, r.output
                checked += 1
    assert checked >= 40


@pytest.mark.parametrize("args, message", [
    (["build", "--model", "m", "--budget-fraction", "5"], "'--budget-fraction': Input should be less than or equal to 1"),
    (["build", "--model", "m", "--mvau-wwidth-max", "0"], "'--mvau-wwidth-max': Input should be greater than or equal to 1"),
    (["build", "--model", "m", "--target-fps", "0"], "'--target-fps': 0.0 is not > 0"),
    (["train", "--lr", "0"], "'--lr': 0.0 is not > 0"),
    (["train", "--lr", "-1"], "'--lr': Input should be greater than or equal to 0"),
    (["train", "--width", "0"], "'--width': 0.0 is not > 0"),
    (["train", "--epochs", "-3"], "'--epochs': Input should be greater than or equal to 1"),
    (["train", "--batch-size", "0"], "'--batch-size': Input should be greater than or equal to 1"),
    (["prune", "--bound", "-1"], "'--bound': Input should be greater than or equal to 0"),
    (["prune", "--target", "1.5"], "'--target': Input should be less than or equal to 1"),
    (["bitstream", "--board", "Pynq-Z9"], "'--board': unknown board 'Pynq-Z9': known boards are"),
    (["bitstream", "--image-size", "48"], "'--image-size': 48 is not a multiple of 32"),
    (["build", "--model", "m", "--board", "Pynq-Z9"], "unknown board 'Pynq-Z9'"),
    (["train", "--model", "resnet"], "'--model': unknown model 'resnet'"),
    (["sim", "--build", "/nonexistent/b"], "'--build': /nonexistent/b: folder not found"),
    (["bench", "--backend", "gpu"], "'--backend': 'gpu' is not one of"),
])
def test_bad_values_are_one_line_usage_errors_before_any_work(args, message, tmp_path):
    r = _invoke_without_work(args)
    assert r.exit_code == 2 and message in r.output, r.output


def _invoke_without_work(args):
    """In-process (seconds, not a subprocess each); every command body replaced by a failure."""
    from click.testing import CliRunner

    root, commands = _commands()
    for path, cmd in commands:
        cmd.callback = lambda **kw: pytest.fail(f"a command ran with {args}")
    return CliRunner().invoke(root, args)


def test_unusable_out_and_missing_gpu_are_caught_before_training(tmp_path):
    (tmp_path / "file").write_text("x")
    r = _invoke_without_work(["train", "--out", str(tmp_path / "file" / "m.pt")])
    assert r.exit_code == 2 and "is a file, not a folder" in r.output
    import torch

    if not torch.cuda.is_available():
        r = _invoke_without_work(["train", "--device", "cuda"])
        assert r.exit_code == 2 and "no CUDA GPU visible to torch" in r.output


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_folder_that_cannot_take_files_is_caught_even_for_root():
    # os.access says /proc is writable to root; the build folder's mkdir failed after the flow had started
    r = _invoke_without_work(["bitstream", "--build-root", "/proc/fpga-flow-x"])
    assert r.exit_code == 2 and "folder /proc is not writable" in r.output, r.output


def test_bitstream_rejects_a_bad_board_before_writing_anything(tmp_path):
    import time

    t0 = time.perf_counter()
    r = run_cli("bitstream", "--board", "Pynq-Z9", "--build-root", str(tmp_path / "b"))
    assert r.returncode == 2 and "unknown board 'Pynq-Z9'" in r.stderr
    assert not (tmp_path / "b").exists() and time.perf_counter() - t0 < 60


# ---- issue 16: help and usage errors come back without importing torch ------------------------------------
_NO_TORCH = r"""
import sys, time
t0 = time.perf_counter()
import typer
from typer.testing import CliRunner
from fpga_flow.cli import app
root = typer.main.get_command(app)
def walk(cmd, path):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from walk(sub, path + [name])
    else:
        yield path
runner = CliRunner()
helps = [["--help"], *(p + ["--help"] for p in walk(root, []))]
for args in helps:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, (args, r.output)
usage = [["bitstream", "--board", "Pynq-Z9"], ["train", "--model", "resnet"], ["build", "--target-fps", "0"],
         ["bitstream", "--width", "0"], ["prune", "--model", "nope"], ["bench", "--backend", "gpu"]]
for args in usage:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, (args, r.output)
heavy = sorted(m for m in ("torch", "brevitas", "onnx", "qonnx", "onnxruntime", "openvino") if m in sys.modules)
print(len(helps), len(usage), heavy, round(time.perf_counter() - t0, 2))
"""


def test_help_and_usage_errors_do_not_import_torch():
    """`fpga-flow --help`, every command's --help and the parse-time checks (board, model, ranges) answer
    without torch, brevitas or onnx: importing torch alone took ~2 s of the old 3.6 s per invocation."""
    r = subprocess.run([sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).parents[1])  # this checkout's fpga_flow, not the editable install's
    assert r.returncode == 0, r.stderr
    helps, usage, rest = r.stdout.strip().split(" ", 2)
    assert int(helps) >= 13 and int(usage) == 6
    assert rest.startswith("[]"), f"imported while parsing the command line: {rest}"


# ---- issue 16: an option checked > 0 shows an open bound and rejects 0 by name ------------------------------
def test_positive_options_show_the_open_bound_they_check():
    """`--width`, `--target-fps`, `--lr`, ...: help showed typer's closed `x>=0` while 0 is rejected."""
    from click.testing import CliRunner

    from fpga_flow.cli_options import is_positive

    root, commands = _commands()
    checked = []
    for path, cmd in commands:
        ctx = cmd.make_context(path[-1], [], resilient_parsing=True)
        for opt in _options(cmd):
            where = f"fpga-flow {' '.join(path)} {opt.opts[0]}"
            if not is_positive(opt):
                assert "> 0" not in (opt.help or "") and "0 <" not in (opt.help or ""), \
                    f"{where}: help says > 0 but 0 is accepted"
                continue
            _, extra = opt.get_help_record(ctx)
            shown = "x>0" if opt.max is None else f"0<x<={opt.max}"
            assert shown in extra and "x>=0" not in extra and "0<=x" not in extra, f"{where}: {extra}"
            flag = max(opt.opts, key=len)
            for zero in ("0", "0.0"):
                r = _invoke_without_work([*path, flag, zero])
                assert r.exit_code == 2, f"{where} {zero}: exit {r.exit_code}: {r.output}"
                assert f"Invalid value for '{flag}': 0.0 is not > 0" in r.output, r.output
            checked.append(where)
    for where in ("train --width", "bitstream --width", "bitstream --target-fps", "build --target-fps",
                  "table4 --width", "sweep --width", "prune --target"):
        assert f"fpga-flow {where}" in checked, f"{where} is not checked > 0"
    assert len(checked) >= 12, checked
