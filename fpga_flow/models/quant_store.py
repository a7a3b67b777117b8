"""Quantized row checkpoints in the store: ``<row>.quant.pt`` (+ ``<row>.quant.provenance.json``) beside the
row's pruned float checkpoint ``<row>.pt``, in the same folders and looked up in the same order.

A stored quantized checkpoint is one build's QAT result (``quant/model.quant.pt``, at the design size). Its
provenance records, besides what every provenance records (sha256, commands, seeds, data, wall time,
metrics), ``source_sha256``: the sha256 of the pruned float checkpoint it was trained from, and ``qat``: the
settings of that QAT (bits, epochs, rate, input side, seed, data). The quantize stage uses it instead of QAT
when both are this build's (``fpga_flow.flow.quant_reuse``).

Checks, each a FlowError naming the file: the sha256 its provenance records (a swapped file), its bit widths
(the checkpoint's QuantSpec and its provenance: the row's), its architecture (the row's base network,
pruned or not), and, when published, that it was trained from the pruned checkpoint published with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError
from fpga_flow.models.provenance import provenance_path, sha256_file, verify_provenance
from fpga_flow.models.registry import canonical
from fpga_flow.models.store import (check_quant_bits, check_row, checked_source, install, needs_copy, row_checkpoint,
                                    store_places, stored_path)

SUFFIX = ".quant.pt"


def quant_row_checkpoint(name: str) -> Path | None:
    """The first stored quantized checkpoint of row ``name``, or None."""
    return row_checkpoint(name, SUFFIX)


def quant_store_places(name: str) -> str:
    return " or ".join(map(str, store_places(name, SUFFIX)))


def check_quant_stored(name: str, path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta, provenance)`` of the quantized checkpoint ``path`` once it is row ``name``'s: its provenance's
    sha256, its bit widths and architecture (the model is not built)."""
    from fpga_flow.quant.checkpoint import read_quant_meta

    path = Path(path)
    record = verify_provenance(path)
    meta = read_quant_meta(path)
    check_quant_bits(name, path, meta["spec"])
    check_row(name, path, meta, record)
    missing = [k for k in ("source_sha256", "qat") if k not in record]
    if missing:
        raise FlowError(f"{provenance_path(path)}: no {' / '.join(missing)}: not the provenance of a quantized "
                        "checkpoint made by the flow's quantize stage")
    return meta, record


def source_mismatch(record: dict[str, Any], pruned: Path, shown: str | None = None) -> str | None:
    """How the pruned checkpoint a quantized one's provenance names differs from ``pruned`` (None: it is it);
    ``shown``: how the message names ``pruned`` (default its path)."""
    have = sha256_file(pruned)
    if record["source_sha256"] == have:
        return None
    return (f"trained from a pruned checkpoint with sha256 {record['source_sha256'][:12]}…, {shown or pruned} has "
            f"{have[:12]}…")


def check_trained_from(path: Path, record: dict[str, Any], pruned: Path) -> None:
    """FlowError naming ``path`` when its provenance says it was trained from another pruned checkpoint."""
    why = source_mismatch(record, pruned)
    if why:
        raise FlowError(f"{path}: {why} (re-run the quantize stage: it was made before the pruning)")


def publish_build(name: str, bdir: str | Path, *, committed: bool = False, force: bool = False) -> list[str]:
    """Put build folder ``bdir``'s row checkpoints into the store: ``checkpoints/pruned.pt`` as ``<row>.pt`` and
    (when the build quantized) ``quant/model.quant.pt`` as ``<row>.quant.pt``, each with its provenance.
    Everything is checked before anything is written; returns one line per file."""
    bdir = Path(bdir)
    pruned = checked_source(name, bdir / "checkpoints" / "pruned.pt")
    quant = bdir / "quant" / "model.quant.pt"
    pairs = [(pruned, stored_path(name, ".pt", committed))]
    if quant.is_file():
        if not provenance_path(quant).is_file():
            raise FlowError(f"{quant}: no provenance file {provenance_path(quant).name} beside it (its quantize stage "
                            "ran before the stage wrote one: re-run that stage, or `fpga-flow store --record-quant` "
                            "records it from the build's flow.json)")
        _, record = check_quant_stored(name, quant)
        check_trained_from(quant, record, pruned)
        pairs.append((quant, stored_path(name, SUFFIX, committed)))
    copy = [needs_copy(name, src, dst, force) for src, dst in pairs]
    lines = [f"{canonical(name)}: {'stored' if c else 'unchanged'} {dst} (+ provenance)"
             for (_, dst), c in zip(pairs, copy)]
    for (src, dst), c in zip(pairs, copy):
        if c:
            install(src, dst)
    if not quant.is_file():
        lines.append(f"{canonical(name)}: no quantized checkpoint {quant} (the build did not quantize): "
                     "only the float row stored")
    return lines
