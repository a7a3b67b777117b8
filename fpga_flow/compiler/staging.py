"""A rebuild writes into ``out/.staging/`` and is swapped in only on success.

A failing or interrupted build therefore leaves the previous ``dataflow.onnx``, ``folding.json``,
``estimates.json``, ``io.json``, ``model.qonnx.onnx`` and ``steps/`` as they were; the staged steps
stay for the next run to resume from (their stamps are content keys, so a stale one is never
reused). When the swapped-in ``dataflow.onnx`` differs from the one it replaces, the outputs made
from the old graph (``rtl/``, ``sim/``, ``synth/`` reports, ``deploy/``, hardware benches) move to
``stale/`` instead of staying beside the new graph.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

STAGING = ".staging"
STALE = "stale"
DERIVED = ("rtl", "sim", "deploy")           # made from dataflow.onnx, whole folders
DERIVED_SYNTH_KEEP = ("layers",)             # synth/layers/: per-layer cache keyed by content
DERIVED_BENCH = ("rtlsim.json", "pynq.json", "estimate.json")
STEP_FILE = re.compile(r"^\d\d_[a-z_]+\.(onnx|json)$")


def file_sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class Staging:
    def __init__(self, out: Path):
        self.out = out
        self.dir = out / STAGING
        self.steps = self.dir / "steps"

    def open(self) -> Path:
        """The staging folder, seeded with the committed steps it lacks (hard links: the committed
        files are never written through them, every write replaces)."""
        self.steps.mkdir(parents=True, exist_ok=True)
        for p in list(self.dir.rglob("*")):
            if p.is_file() and ".tmp" in p.name:  # left by a killed atomic write
                p.unlink()
        committed = self.out / "steps"
        if committed.is_dir():
            for onnx in sorted(committed.glob("*.onnx")):
                stamp = onnx.with_suffix(".json")
                dst = self.steps / onnx.name
                if STEP_FILE.match(onnx.name) and stamp.is_file() and not dst.exists() \
                        and not dst.with_suffix(".json").exists():
                    _link_or_copy(onnx, dst)
                    _link_or_copy(stamp, dst.with_suffix(".json"))
        return self.dir

    def commit(self, files: tuple[str, ...]) -> list[str]:
        """Move the staged ``files`` and ``steps/`` into ``out``; return notes on what went stale."""
        old_sha = file_sha(self.out / "dataflow.onnx")
        new_sha = file_sha(self.dir / "dataflow.onnx")
        for f in files:
            os.replace(self.dir / f, self.out / f)
        committed = self.out / "steps"
        old = self.dir / "steps.old"
        shutil.rmtree(old, ignore_errors=True)
        if committed.exists():
            os.replace(committed, old)
        os.replace(self.steps, committed)
        shutil.rmtree(self.dir, ignore_errors=True)
        if old_sha is None or old_sha == new_sha:
            return []
        return self.mark_stale(old_sha, new_sha)

    def mark_stale(self, old_sha: str, new_sha: str | None) -> list[str]:
        moves = [self.out / d for d in DERIVED]
        synth = self.out / "synth"
        if synth.is_dir():
            moves += [p for p in sorted(synth.iterdir()) if p.name not in DERIVED_SYNTH_KEEP]
        moves += [self.out / "bench" / b for b in DERIVED_BENCH]
        moves = [p for p in moves if p.exists()]
        if not moves:
            return []
        stale = self.out / STALE
        shutil.rmtree(stale, ignore_errors=True)
        for p in moves:
            dst = stale / p.relative_to(self.out)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(p, dst)
        (stale / "STALE.json").write_text(json.dumps(
            {"reason": "made from an earlier dataflow.onnx", "dataflow_sha256": old_sha,
             "replaced_by_sha256": new_sha}, indent=2) + "\n")
        names = ", ".join(str(p.relative_to(self.out)) for p in moves)
        return [f"the graph changed: outputs of the previous dataflow.onnx ({names}) moved to {stale}"]
