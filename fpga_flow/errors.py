"""One exception type for every user-facing failure: the CLI prints its message on one line."""

from __future__ import annotations


class FlowError(Exception):
    """A clear, user-facing error. ``exit_code`` lets callers tell failure kinds apart."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ToolMissing(FlowError):
    """An external tool (verilator, yosys, vivado) is not on PATH."""

    exit_code = 2


class BitstreamSkipped(FlowError):
    """Everything but the bitstream was built because vivado is not on PATH."""

    exit_code = 3


class NotBuiltYet(FlowError):
    """A command whose stage has not been implemented yet: never a fake success."""

    exit_code = 4
