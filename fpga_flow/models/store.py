"""The checkpoint store: one trained checkpoint per Table 4 row, each with its provenance beside it.

Lookup order for row ``<row>`` (its canonical name: ``vgg16-pruned`` -> ``vgg16-hcr``):
``$FPGA_FLOW_CHECKPOINTS/<row>.pt`` (default ``build/checkpoints``: regenerated, large rows), then the
committed ``fpga_flow/models/checkpoints/<row>.pt`` (small rows: pruned). A stored checkpoint is
used only after three checks, each failing with one error naming the file: its provenance's sha256
matches the file, it holds the row's architecture (a pruned row: a channel-pruned one; an unpruned
row: the full base widths), and its provenance names the row and the row's bit widths.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.checkpoint import load_checkpoint
from fpga_flow.models.provenance import verify_provenance
from fpga_flow.models.registry import build, canonical, checkpoint_dir, hidden_widths, spec

COMMITTED = Path(__file__).parent / "checkpoints"


def store_dirs() -> list[Path]:
    return [checkpoint_dir(), COMMITTED]


def row_checkpoint(name: str) -> Path | None:
    """The first stored checkpoint of row ``name``, or None."""
    row = canonical(name)
    return next((d / f"{row}.pt" for d in store_dirs() if (d / f"{row}.pt").is_file()), None)


def check_row(name: str, path: str | Path, meta: dict[str, Any], record: dict[str, Any] | None) -> None:
    """FlowError naming ``path`` when the checkpoint is not row ``name``'s architecture or bit widths."""
    row, s = canonical(name), spec(name)
    arch = spec(meta["name"]).arch
    if arch != s.arch:
        raise FlowError(f"{path}: holds a {arch} ({meta['name']}), row {row} is a {s.arch}")
    config = {k: v for k, v in meta["config"].items() if k not in ("channels", "bn")}
    full = hidden_widths(build(s.arch, **config))
    channels = meta["config"].get("channels")
    pruned = channels is not None and [int(c) for c in channels] != full
    if s.pruned and not pruned:
        raise FlowError(f"{path}: holds the unpruned {s.arch}, row {row} is SeReNe-pruned")
    if not s.pruned and pruned:
        raise FlowError(f"{path}: holds a pruned {s.arch} ({channels}), row {row} is unpruned")
    if record is None:
        return
    if record.get("row") not in (None, row):
        raise FlowError(f"{path}: its provenance is for row {record['row']}, not {row}")
    bits = record.get("bits")
    if bits is not None and s.bits is not None and dict(bits) != asdict(s.bits):
        raise FlowError(f"{path}: bit widths {bits} recorded, row {row} is {asdict(s.bits)}")


def load_row(name: str, path: str | Path | None = None) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """``(model, meta, provenance)`` of row ``name`` from ``path`` or the store, all checks passed."""
    path = Path(path) if path is not None else row_checkpoint(name)
    if path is None:
        where = " or ".join(str(d / f"{canonical(name)}.pt") for d in store_dirs())
        raise FlowError(f"row {canonical(name)}: no stored checkpoint ({where})")
    record = verify_provenance(path)
    model, meta = load_checkpoint(path)
    check_row(name, path, meta, record)
    return model, meta, record or {}


def publish(name: str, source: str | Path, *, committed: bool = False, force: bool = False) -> Path:
    """Copy ``source`` and its provenance into the store as row ``name``'s checkpoint, after every check
    ``load_row`` makes; an existing stored checkpoint is replaced only with ``force``."""
    import shutil

    from fpga_flow.models.provenance import provenance_path

    source = Path(source)
    if not source.is_file():
        raise FlowError(f"{source}: checkpoint not found (run `fpga-flow bitstream --model {name}` first)")
    load_row(name, source)
    dest_dir = COMMITTED if committed else checkpoint_dir()
    dest = dest_dir / f"{canonical(name)}.pt"
    if dest.exists() and not force:
        raise FlowError(f"{dest}: a stored checkpoint of row {canonical(name)} exists (pass --force to replace it)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    for src, dst in ((source, dest), (provenance_path(source), provenance_path(dest))):
        tmp = dst.with_name(f".{dst.name}.tmp")
        shutil.copy2(src, tmp)
        tmp.replace(dst)
    return dest
