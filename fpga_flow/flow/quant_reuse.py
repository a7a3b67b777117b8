"""The quantize stage and the checkpoint store: the QAT settings a quantized checkpoint is made with, the
provenance written beside ``quant/model.quant.pt``, and a stored ``<row>.quant.pt`` standing in for QAT.

A stored quantized checkpoint is used when it is the row's (provenance sha256, bits, architecture: an error
naming the file otherwise), this build quantizes to the row's bits, its recorded source is the pruned
checkpoint this build uses (same sha256) and its QAT settings are this build's. Then no QAT runs: the
checkpoint is copied into ``quant/`` byte for byte, evaluated on the test split at the design size and
exported to QONNX there, as after QAT.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError
from fpga_flow.flow.config import FlowConfig
from fpga_flow.flow.runner import Flow

QAT_BATCH = 16  # images per QAT step (the quantize step's default)


def data_record(c: FlowConfig) -> dict[str, Any]:
    """The data a QAT saw, as far as it decides the result (not where the folder happens to be)."""
    if c.data is None:
        return {"synthetic": True, "task": c.task, "n_images": c.n_images, "seed": c.seed,
                "size": max(c.image_size, 32)}
    return {"synthetic": False, "root": str(Path(c.data).resolve())}


def qat_settings(c: FlowConfig) -> dict[str, Any]:
    """What a QAT run depends on besides its input checkpoint."""
    return {"bits": asdict(c.bits), "weight_scaling": c.quant_spec().weight_scaling, "qat_epochs": c.qat_epochs,
            "qat_lr": c.qat_lr, "qat_side": c.qat_side, "image_size": c.image_size, "batch_size": QAT_BATCH,
            "seed": c.seed, "data": data_record(c)}


def write_quant_provenance(f: Flow, metrics: dict[str, Any], seconds: float) -> Path:
    """``quant/model.quant.provenance.json``: how this build's quantized checkpoint was made, from which
    pruned checkpoint (its sha256 and provenance)."""
    from fpga_flow.models.provenance import command_line

    return _write(f.cfg, metrics, seconds, [command_line()])


def _write(c: FlowConfig, metrics: dict[str, Any], seconds: float | None, commands: list[str],
           extra: dict[str, Any] | None = None) -> Path:
    from fpga_flow.models.provenance import read_provenance, sha256_file, write_provenance

    pruned = c.bdir / "checkpoints" / "pruned.pt"
    return write_provenance(
        c.bdir / "quant" / "model.quant.pt", row=c.row_name, commands=commands, seeds={"flow": c.seed},
        data=data_record(c) | {"root": str(c.data_root)},
        seconds={} if seconds is None else {"quantize": seconds},
        metrics={"before": metrics.get("float"), "after": {k: v for k, v in metrics.items() if k != "float"}},
        extra={"stage": "quantize", "bits": asdict(c.bits), "source_sha256": sha256_file(pruned),
               "qat": qat_settings(c)} | (extra or {}),
        previous=read_provenance(pruned))


def record_earlier_quant(model: str, board: str, build_root: Path) -> Path | None:
    """``quant/model.quant.provenance.json`` for a build whose quantize stage ran before the stage wrote one,
    from what its folder records (``flow.json``: the settings and the stage's status and wall time;
    ``quant/quant_summary.json``: the metrics); None when it has one. FlowError naming the file when the
    folder does not vouch for the checkpoint (stage not done, checkpoint older than the pruned one)."""
    from fpga_flow.flow.config import resolve_config
    from fpga_flow.models.provenance import command_line, provenance_path
    from fpga_flow.runtime.buildinfo import read_json

    c = resolve_config(model, board, build_root)
    quant, pruned = c.bdir / "quant" / "model.quant.pt", c.bdir / "checkpoints" / "pruned.pt"
    state = c.bdir / "flow.json"
    if provenance_path(quant).exists():
        return None
    for need in (quant, pruned, state):
        if not need.is_file():
            raise FlowError(f"{need}: not found (no quantize stage to record in {c.bdir})")
    stage = (read_json(state) or {}).get("stages", {}).get("quantize", {})
    if stage.get("status") != "done":
        raise FlowError(f"{state}: the quantize stage is {stage.get('status', 'not recorded')}, not done: "
                        f"{quant} is not its result")
    if quant.stat().st_mtime < pruned.stat().st_mtime:
        raise FlowError(f"{quant}: older than {pruned}, so not trained from it (re-run the quantize stage)")
    metrics = (read_json(c.bdir / "quant" / "quant_summary.json") or {}).get("metrics") or {}
    made = f"fpga-flow bitstream --model {model} --board {board} (its quantize stage)"
    return _write(c, metrics, stage.get("seconds"), [made],
                  {"recorded_from": f"{state} by {command_line()}, after the stage ran"})


def _differences(want: dict[str, Any], got: dict[str, Any], here: str = "here") -> str:
    keys = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    return ", ".join(f"{k} {got.get(k)!r} stored, {want.get(k)!r} {here}" for k in keys)


def _why_not(c: FlowConfig, meta: dict[str, Any], record: dict[str, Any], pruned: Path) -> str | None:
    """Why the stored quantized checkpoint is not this build's QAT result (None: it is)."""
    from fpga_flow.models.quant_store import source_mismatch
    from fpga_flow.models.store import bits_label

    if c.bits != c.row.bits:
        return f"this build quantizes to {bits_label(c.bits)}, the stored one is the row's {bits_label(c.row.bits)}"
    source = source_mismatch(record, pruned, f"this build's {pruned.name}")
    if source:
        return source
    diff = _differences(qat_settings(c), record["qat"])
    if diff:
        return f"QAT settings differ ({diff})"
    if meta["input_shape"][-1] != c.image_size:
        return f"it is for input {meta['input_shape'][-1]}, this build's is {c.image_size}"
    return None


def _check_same_network(path: Path, meta: dict[str, Any], pruned: Path) -> None:
    """FlowError naming ``path`` when it records ``pruned``'s sha256 but holds another network."""
    from fpga_flow.models import load_checkpoint

    _, pmeta = load_checkpoint(pruned)
    keys = ("channels", "width", "num_classes")
    got, want = ({k: m["config"].get(k) for k in keys} for m in (meta, pmeta))
    if got != want:
        raise FlowError(f"{path}: holds {_differences(want, got, f'in {pruned}')}, though its "
                        f"provenance names {pruned.name}'s sha256")


def stored_quant(f: Flow) -> Path | None:
    """The stored quantized checkpoint this build uses instead of QAT, or None; one line either way."""
    from fpga_flow.models.quant_store import check_quant_stored, quant_row_checkpoint, quant_store_places

    c = f.cfg
    path = quant_row_checkpoint(c.model)
    if path is None:
        f.note(f"no stored quantized checkpoint of row {c.row_name} ({quant_store_places(c.model)}): QAT runs")
        return None
    meta, record = check_quant_stored(c.model, path)
    pruned = f.path("checkpoints/pruned.pt")
    why = _why_not(c, meta, record, pruned)
    if why is not None:
        f.note(f"stored quantized checkpoint {path} not used: {why}; QAT runs")
        return None
    _check_same_network(path, meta, pruned)
    made = record["commands"][-1] if record.get("commands") else "?"
    f.note(f"stored quantized checkpoint {path} (sha256 {record['sha256'][:12]}…, trained from this build's "
           f"{pruned.name}, same QAT settings; made by: {made}): no QAT")
    return path


def reuse_quant(f: Flow, path: Path):
    """The quantize outputs from stored ``path``: copied to ``quant/`` (with its provenance), evaluated on the
    test split at the design size, exported to QONNX there (``QuantizeResult``)."""
    from fpga_flow.models.store import install
    from fpga_flow.models.train import evaluate
    from fpga_flow.quant.checkpoint import load_quant_checkpoint
    from fpga_flow.quant.pipeline import CHECKPOINT_NAME, export_quantized

    c = f.cfg
    out = f.path("quant")
    dest = install(path, out / CHECKPOINT_NAME)
    qmodel, meta = load_quant_checkpoint(dest, in_size=c.image_size)
    test = f.loaders()["test"]
    t0 = time.perf_counter()
    key = f"{meta['spec'].label()} stored ({path.name})"
    metrics = {key: {k: v for k, v in evaluate(qmodel, test, c.task).items() if k != "loss"}}
    f.note(f"test metrics: {key} {metrics[key]} ({len(test.dataset)} images, {time.perf_counter() - t0:.1f} s)")
    notes = [f"quantized checkpoint from the store: {path} (no QAT in this build)",
             f"metrics on the test split of {c.data_root}"]
    return export_quantized(qmodel, meta["name"], str(path), meta["config"], meta["spec"],
                            tuple(meta["input_shape"]), metrics, notes, next(iter(test))[0][:4], out, f.note,
                            saved=dest)
