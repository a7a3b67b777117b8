"""The checkpoint store: one trained checkpoint per Table 4 row, each with its provenance beside it.

Lookup order for row ``<row>`` (its canonical name: ``vgg16-pruned`` -> ``vgg16-hcr``):
``$FPGA_FLOW_CHECKPOINTS/<row>.pt`` (default ``build/checkpoints``: regenerated, large rows), then the
committed ``fpga_flow/models/checkpoints/<row>.pt`` (small rows: pruned). A stored checkpoint is
used only after three checks, each failing with one error naming the file: its provenance's sha256
matches the file, it holds the row's architecture (a pruned row: a channel-pruned one; an unpruned
row: the full base widths), and its provenance names the row and the row's bit widths. A quantized
(QAT) checkpoint of a row is loaded the same way (``load_quant_row``): its recorded bit widths must be
the row's; the store keeps one as ``<row>.quant.pt`` (``fpga_flow.models.quant_store``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import nn

from fpga_flow.errors import FlowError
from fpga_flow.models.checkpoint import load_checkpoint
from fpga_flow.models.provenance import verify_provenance
from fpga_flow.models.registry import RowBits, build, canonical, checkpoint_dir, hidden_widths, spec

COMMITTED = Path(__file__).parent / "checkpoints"


def store_dirs() -> list[Path]:
    return [checkpoint_dir(), COMMITTED]


def row_checkpoint(name: str, suffix: str = ".pt") -> Path | None:
    """The first stored ``<row><suffix>`` of row ``name`` (``.quant.pt``: its quantized one), or None."""
    return next((p for p in store_places(name, suffix) if p.is_file()), None)


def store_places(name: str, suffix: str = ".pt") -> list[Path]:
    """Where ``<row><suffix>`` of row ``name`` is looked up, in order."""
    return [d / f"{canonical(name)}{suffix}" for d in store_dirs()]


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
        where = " or ".join(map(str, store_places(name)))
        raise FlowError(f"row {canonical(name)}: no stored checkpoint ({where})")
    record = verify_provenance(path)
    model, meta = load_checkpoint(path)
    check_row(name, path, meta, record)
    return model, meta, record or {}


def bits_label(bits: RowBits) -> str:
    return f"{bits.label()} (first/last layer W{bits.first_wbits}/W{bits.last_wbits})"


def check_quant_bits(name: str, path: str | Path, qspec: Any, expected: RowBits | None = None) -> None:
    """FlowError naming ``path`` when the quantized checkpoint's recorded bit widths (its ``QuantSpec``)
    are not row ``name``'s (``expected``: the bits a build asked for instead, e.g. ``--wbits``)."""
    row = canonical(name)
    want = expected or spec(name).bits
    if want is None:
        raise FlowError(f"{path}: {row} is not a Table 4 row (no bit widths to check against)")
    got = RowBits(qspec.wbits, qspec.abits, qspec.first_wbits, qspec.last_wbits)
    if got != want:
        which = "row" if expected is None or expected == spec(name).bits else "this build of row"
        raise FlowError(f"{path}: quantized {bits_label(got)}, {which} {row} is {bits_label(want)}")


def load_quant_row(name: str, path: str | Path, expected: RowBits | None = None,
                   in_size: int | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """``(brevitas model, meta)`` of a quantized checkpoint of row ``name``, once its architecture and
    recorded bit widths are the row's (checked before the model is built)."""
    from fpga_flow.quant.checkpoint import load_quant_checkpoint, read_quant_meta

    meta = read_quant_meta(path)
    check_quant_bits(name, path, meta["spec"], expected)
    check_row(name, path, meta, None)
    return load_quant_checkpoint(path, in_size=in_size)


def stored_path(name: str, suffix: str = ".pt", committed: bool = False) -> Path:
    """Where row ``name``'s ``<row><suffix>`` goes: the committed store or $FPGA_FLOW_CHECKPOINTS."""
    return (COMMITTED if committed else checkpoint_dir()) / f"{canonical(name)}{suffix}"


def needs_copy(name: str, source: Path, dest: Path, force: bool) -> bool:
    """False when ``dest`` already holds ``source``'s bytes; FlowError naming ``dest`` when it holds others
    and ``force`` is not given (checked before anything is written)."""
    from fpga_flow.models.provenance import sha256_file

    if not dest.exists():
        return True
    if sha256_file(dest) == sha256_file(source):
        return False
    if not force:
        raise FlowError(f"{dest}: a stored checkpoint of row {canonical(name)} exists (pass --force to replace it)")
    return True


def install(source: Path, dest: Path) -> Path:
    """Copy ``source`` and its provenance to ``dest`` (each through a temp file + rename)."""
    import shutil

    from fpga_flow.models.provenance import provenance_path

    dest.parent.mkdir(parents=True, exist_ok=True)
    for src, dst in ((source, dest), (provenance_path(source), provenance_path(dest))):
        tmp = dst.with_name(f".{dst.name}.tmp")
        shutil.copy2(src, tmp)
        tmp.replace(dst)
    return dest


def checked_source(name: str, source: str | Path) -> Path:
    """``source`` once it is a checkpoint of row ``name`` that ``load_row`` accepts."""
    source = Path(source)
    if not source.is_file():
        raise FlowError(f"{source}: checkpoint not found (run `fpga-flow bitstream --model {name}` first)")
    load_row(name, source)
    return source


def publish(name: str, source: str | Path, *, committed: bool = False, force: bool = False) -> Path:
    """Copy ``source`` and its provenance into the store as row ``name``'s checkpoint, after every check
    ``load_row`` makes; an existing stored checkpoint is replaced only with ``force`` (one with the same
    bytes is left as it is)."""
    source = checked_source(name, source)
    dest = stored_path(name, ".pt", committed)
    return install(source, dest) if needs_copy(name, source, dest, force) else dest
