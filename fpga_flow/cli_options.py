"""The CLI's shared vocabulary and its parse-time checks.

One option name per concept across every command (``VOCABULARY``); older names keep working as
hidden aliases (``ALIASES``, rewritten before parsing). Every check here runs while click parses
the command line, so a bad board, model, range, path or device is a usage error (exit 2, one
line naming the option) before any data is generated or any model trained.
"""

from __future__ import annotations

import os
from pathlib import Path

from typer import _click as click  # typer vendors its own click
import typer
from typer.core import TyperCommand

from fpga_flow.errors import FlowError

# concept -> the one option name every command uses for it (tests/test_cli.py walks the commands)
VOCABULARY = {
    "image side in pixels": "--image-size",
    "dataset root (ISIC layout) or 'digits'": "--data",
    "an existing build folder": "--build",
    "folder holding <model>-<board>/ build folders": "--build-root",
    "output file or folder": "--out",
    "number of images to write": "--n-images",
}
# old name -> the vocabulary's name; a command that declares the old name itself keeps it
ALIASES = {"--in-size": "--image-size", "--size": "--image-size", "--root": "--data", "--n": "--n-images"}


class FlowCommand(TyperCommand):
    """A command with the vocabulary's hidden aliases and click's plain help (flags read as flags)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rich_markup_mode = None  # rich help prints `--best-effort <bool>`; click prints `--best-effort`
        for p in self.params:
            if is_positive(p):
                show_open_bound(p)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        own = {o for p in self.params for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
        out = []
        for a in args:
            name, eq, value = a.partition("=")
            new = ALIASES.get(name)
            if new and name not in own and new in own:
                a = new + eq + value
            out.append(a)
        return super().parse_args(ctx, out)


# ---- callbacks: typer calls them with the parsed value --------------------------------------------
def positive(value):
    """An open bound at 0 (typer's min/max are closed): learning rates, widths, frame rates."""
    if value is not None and value <= 0:
        raise typer.BadParameter(f"{value} is not > 0")
    return value


def is_positive(param) -> bool:
    """Whether a typer parameter is checked by ``positive`` (declared ``min=0, callback=positive``)."""
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    return info is not None and info.callback is positive


def show_open_bound(param) -> None:
    """Help shows ``x>0`` / ``0<x<=16`` for a ``positive`` option, not typer's closed ``x>=0`` that 0 fails.

    typer has no open bounds: its ``min=0`` keeps rejecting negatives, ``positive`` rejects 0, and this
    replaces the range text typer's help record asks the parameter for (``_get_number_range_help_str``).
    A larger ``min`` already excludes 0 and keeps typer's text."""
    if param.min is not None and param.min > 0:
        return
    param._get_number_range_help_str = lambda: "x>0" if param.max is None else f"0<x<={param.max}"


def board_name(value):
    """A board of boards/*.yaml (or a YAML path) that loads and validates."""
    if value is None:
        return value
    from fpga_flow.boards import load_board

    try:
        load_board(value)
    except FlowError as err:
        raise typer.BadParameter(str(err)) from None
    return value


def zoo_model(value):
    """A model of the zoo (fpga_flow.models.registry)."""
    if value is None:
        return value
    from fpga_flow.models.registry import known_models

    if value not in known_models():
        raise typer.BadParameter(f"unknown model {value!r}; known models: {', '.join(known_models())}")
    return value


def existing_dir(value):
    if value is not None and not Path(value).is_dir():
        raise typer.BadParameter(f"{value}: " + ("is a file, expected a folder" if Path(value).exists()
                                                 else "folder not found"))
    return value


def existing_file(value):
    if value is not None and not Path(value).is_file():
        raise typer.BadParameter(f"{value}: " + ("is a folder, expected a file" if Path(value).is_dir()
                                                 else "file not found"))
    return value


def data_root(value):
    """'digits' or an existing dataset folder ($ISIC_ROOT when not given is checked by the loaders)."""
    if value is None or str(value) == "digits":
        return value
    return existing_dir(value)


def writable(value):
    """An output path that can be written: checked now, not after the training that fills it."""
    if value is None:
        return value
    p = Path(value).absolute()
    probe = p
    while not probe.exists():
        probe = probe.parent
    if probe == p and not p.is_dir() and not os.access(p, os.W_OK):
        raise typer.BadParameter(f"{value}: not writable")
    if probe != p and not probe.is_dir():
        raise typer.BadParameter(f"{value}: {probe} is a file, not a folder")
    if probe.is_dir() and not _can_create_in(probe):
        raise typer.BadParameter(f"{value}: folder {probe} is not writable")
    return value


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder``: tried, since os.access says yes to root everywhere
    (/proc, read-only mounts) and the flow would fail at its first mkdir instead."""
    import tempfile

    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".fpga-flow-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def device(value):
    """cpu, cuda or cuda:N; cuda only where torch sees a GPU."""
    if value is None:
        return value
    kind, _, index = value.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise typer.BadParameter(f"{value!r}: expected cpu, cuda or cuda:N")
    if kind == "cuda":
        import torch

        n = torch.cuda.device_count()
        if n == 0:
            raise typer.BadParameter(f"{value!r}: no CUDA GPU visible to torch (use --device cpu)")
        if index and int(index) >= n:
            raise typer.BadParameter(f"{value!r}: only {n} CUDA device(s)")
    return value


def choice(*allowed: str):
    """A callback accepting one of ``allowed`` (typer's enums would change the value's type)."""
    def check(value):
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return value
    return check
