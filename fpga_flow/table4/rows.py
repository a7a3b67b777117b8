"""The rows of Table 4 and how to get each one's models: a row name is a zoo model name.

A row knows its task and the paper's label for it; whether it can be built now is asked of the model
zoo and the flow, so rows another stage adds later (``vgg16-ha``...) plug in without changes here.
``FlowSource`` gets a row's build folder (float ``model.onnx``, ``model.qonnx.onnx``, rtlsim figures,
test images, ``metrics.json``) by running the flow; tests may pass another source with ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fpga_flow.errors import FlowError


@dataclass(frozen=True)
class Table4Row:
    name: str  # zoo model name, also the build folder's prefix
    task: str  # cls | seg
    paper_label: str  # the reference table's Model column
    flow_overrides: dict = field(default_factory=dict, hash=False)  # settings this row needs beyond the common ones

    def unavailable(self) -> str | None:
        """Why this row cannot be built with the code as it is, or None."""
        from fpga_flow.flow import TASK

        return None if self.name in TASK else f"the flow has no stages for {self.name} yet"


def row(name: str) -> Table4Row:
    """The row a zoo name means (``fpga_flow.models.registry``: architecture, recipe, bits, reference label);
    an unknown name, or a zoo model that is no Table 4 row, is a FlowError listing the rows."""
    from fpga_flow.models.registry import rows, spec

    s = spec(name)
    if s.bits is None:
        raise FlowError(f"unknown Table 4 row {name!r}; rows: {', '.join(rows())}")
    return Table4Row(name, s.task, s.reference)


def all_rows() -> list[Table4Row]:
    """Every row of the reference table, in its order, from the zoo registry."""
    from fpga_flow.models.registry import rows

    return [row(n) for n in rows()]


def select_rows(names: list[str] | None) -> tuple[list[Table4Row], list[Table4Row]]:
    """(rows to build, rows of the table that cannot be built yet). Names given must all be known and buildable."""
    if names:
        chosen = [row(n) for n in names]
        for r in chosen:
            why = r.unavailable()
            if why:
                raise FlowError(f"row {r.name}: {why}")
        return chosen, []
    every = all_rows()
    return [r for r in every if not r.unavailable()], [r for r in every if r.unavailable()]


class RowSource(Protocol):
    def build(self, row: Table4Row, board: str, log) -> Path:
        """Build folder of ``row`` on ``board`` with the flow's artefacts; FlowError when it cannot be built."""


@dataclass
class FlowSource:
    """The real thing: the flow's stages (no Vivado; Yosys when ``synth``) with common ``settings``."""

    build_root: Path
    settings: dict = field(default_factory=dict)
    synth: bool = True

    def config(self, row: Table4Row, board: str):
        from fpga_flow.flow import resolve_config

        given = {**self.settings, **row.flow_overrides}
        return resolve_config(row.name, board, self.build_root, **given)

    def build(self, row: Table4Row, board: str, log) -> Path:
        from fpga_flow.flow import STAGES, Flow

        skip = {"vivado"} | (set() if self.synth else {"synth"})
        cfg = self.config(row, board)
        Flow(cfg).run([s for s in STAGES if s.name not in skip])
        return cfg.bdir
