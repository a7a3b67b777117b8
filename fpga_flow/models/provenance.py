"""Provenance of a checkpoint: ``<checkpoint>.provenance.json`` beside it, written by the command that
made it (commands, seeds, data, wall times, metrics before/after, sha256 of the checkpoint file).

``verify_provenance`` refuses a checkpoint whose bytes are not the ones its provenance describes, so a
committed checkpoint cannot be swapped without its record.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError

FORMAT = "fpga_flow.provenance/1"


def provenance_path(checkpoint: str | Path) -> Path:
    p = Path(checkpoint)
    return p.with_name(p.name.removesuffix(".pt") + ".provenance.json")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (program name shortened to ``fpga-flow`` when it is our CLI)."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("fpga-flow", "__main__.py", "cli.py"):
        argv[0] = "fpga-flow"
    return shlex.join(argv)


def write_provenance(checkpoint: str | Path, *, row: str | None = None, commands: list[str] | None = None,
                     seeds: dict[str, int] | None = None, data: dict[str, Any] | None = None,
                     seconds: dict[str, float] | None = None, metrics: dict[str, Any] | None = None,
                     extra: dict[str, Any] | None = None, previous: dict[str, Any] | None = None) -> Path:
    """Record how ``checkpoint`` was made; ``previous`` (the provenance of its input checkpoint) is kept
    as ``parent`` so that a pruned/quantized row lists every command back to the float training."""
    ckpt = Path(checkpoint)
    record = {
        "format": FORMAT,
        "checkpoint": ckpt.name,
        "sha256": sha256_file(ckpt),
        "bytes": ckpt.stat().st_size,
        "row": row,
        "commands": list(commands if commands is not None else [command_line()]),
        "seeds": dict(seeds or {}),
        "data": dict(data or {}),
        "seconds": {k: round(float(v), 1) for k, v in (seconds or {}).items()},
        "metrics": dict(metrics or {}),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"torch_threads": _torch_threads(), "cpus": os.cpu_count()},
        **(extra or {}),
    }
    if previous:
        record["parent"] = previous
    out = provenance_path(ckpt)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(tmp, out)
    return out


def read_provenance(checkpoint: str | Path) -> dict[str, Any] | None:
    path = provenance_path(checkpoint)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise FlowError(f"{path}: unreadable provenance ({err})") from err
    if not isinstance(record, dict) or "sha256" not in record:
        raise FlowError(f"{path}: not a provenance file (no sha256)")
    return record


def verify_provenance(checkpoint: str | Path, *, required: bool = True) -> dict[str, Any] | None:
    """The provenance record of ``checkpoint`` after checking its sha256; FlowError naming the files
    when they disagree, or when ``required`` and there is none."""
    record = read_provenance(checkpoint)
    path = provenance_path(checkpoint)
    if record is None:
        if required:
            raise FlowError(f"{checkpoint}: no provenance file {path.name} beside it (every stored checkpoint "
                            "comes from a recorded command)")
        return None
    if not Path(checkpoint).is_file():
        raise FlowError(f"{checkpoint}: checkpoint not found (its provenance {path} exists)")
    actual = sha256_file(checkpoint)
    if actual != record["sha256"]:
        raise FlowError(f"{path}: records sha256 {record['sha256'][:12]}…, but {checkpoint} has {actual[:12]}…: "
                        "the checkpoint is not the one this provenance describes")
    return record


def _torch_threads() -> int | None:
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:  # pragma: no cover
        return None
