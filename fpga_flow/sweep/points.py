"""One sweep point, as a Ray task runs it: prune + quantize (shared per row/level/bits), then
build (compile -> estimate), optionally rtlsim and Yosys, through the stages' public functions.

Every result lands in ``<root>/qonnx/<key>/`` or ``<root>/points/<key>/``: it is made in a
private staging folder and renamed into place when complete, so a folder under its key is
always whole. Two sweeps on the same root may both compute a point; the first rename wins and
the other's copy is dropped (both are identical by construction of the key).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

from fpga_flow.errors import FlowError
from fpga_flow.sweep.grid import Point, QuantPoint

POINT_FILE = "point.json"
QUANT_FILE = "qonnx.json"


def write_atomic(path: Path, text: str) -> None:
    """Temp file in the same folder + rename: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _staging(final: Path) -> Path:
    d = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
    d.mkdir(parents=True)
    return d


def _publish(staging: Path, final: Path) -> Path:
    """Rename the finished staging folder to its key; a folder already there (another sweep's) wins."""
    try:
        os.rename(staging, final)
    except OSError:
        if not (final / POINT_FILE).is_file() and not (final / QUANT_FILE).is_file():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _record_start(root: Path, key: str) -> Path:
    """``<root>/running/<key>.<pid>``: which worker process runs which point, while it runs (a
    worker killed mid-point leaves its file behind)."""
    d = root / "running"
    d.mkdir(parents=True, exist_ok=True)
    f = d / f"{key}.{os.getpid()}"
    f.write_text(f"{socket.gethostname()} {time.time():.3f}\n")
    return f


def quantize_point(qp: QuantPoint, root: str) -> str:
    """The QONNX export of one row/level/bits; returns its folder."""
    root_p = Path(root)
    final = root_p / "qonnx" / qp.key()
    if (final / QUANT_FILE).is_file():
        return str(final)
    import torch

    from fpga_flow.quant.pipeline import quantize_flow
    from fpga_flow.quant.spec import QuantSpec

    torch.set_num_threads(1)
    stage = _staging(final)
    try:
        float_ckpt, prune_info = _float_model(qp, stage)
        spec = QuantSpec(wbits=qp.wbits, abits=qp.abits)
        res = quantize_flow(str(float_ckpt), spec, stage, data=qp.data, log=lambda _m: None)
        summary = read_json(stage / "quant_summary.json") or {}
        rec = {"label": qp.label(), "prune": prune_info, "metrics": res.metrics,
               "trained": prune_info["trained"], "source": summary.get("source"), "data": qp.data}
        write_atomic(stage / QUANT_FILE, json.dumps(rec, indent=1, default=float))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return str(_publish(stage, final))


def _float_model(qp: QuantPoint, out: Path) -> tuple[Path, dict]:
    """The float model of the row, its channels pruned by magnitude to the level (one shot,
    channel granularity, physically removed by simplify), saved as a checkpoint."""
    import torch

    from fpga_flow.models import build, hidden_widths, load_checkpoint, save_checkpoint
    from fpga_flow.prune.loop import candidate
    from fpga_flow.prune.masks import Masks
    from fpga_flow.prune.simplify import fuse_bn, simplify

    row = qp.model
    if row.checkpoint is not None:
        model, meta = load_checkpoint(row.checkpoint)
        name, cfg, trained = meta["name"], dict(meta["config"]), True
    else:
        cfg = {k: v for k, v in (("in_size", row.image_size), ("width", row.width)) if v is not None}
        name, trained = row.name, False
        model = build(name, **cfg)
        cfg = {k: v for k, v in cfg.items() if k != "width"}
        cfg["channels"] = hidden_widths(model)
        if "in_size" not in cfg and getattr(model, "input_shape", None) is not None:
            cfg["in_size"] = int(model.input_shape[-1])
    before = hidden_widths(model)
    if qp.prune > 0:
        if not trained:  # fresh BN layers all have scale 1: rank untrained channels by their weights
            with torch.no_grad():
                fuse_bn(model)
        masks = candidate(model, Masks.ones(model), qp.prune, "channel", multiple_of=1)
        masks.apply(model)
        simple = simplify(model, name=name, config=cfg)
        model, cfg = simple.model, simple.config
    after = hidden_widths(model)
    path = save_checkpoint(out / "float.pt", model, name, cfg)
    info = {"level": qp.prune, "method": "one-shot channel magnitude (no fine-tuning)" if qp.prune else "none",
            "channels_before": before, "channels_after": after, "trained": trained}
    return path, info


def _ray_node() -> str | None:
    try:
        import ray
    except ImportError:
        return None
    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def build_point(point: Point, qonnx_dir: str, root: str) -> dict:
    """Build one point; return its record (status ``ok`` or ``failed`` with the error)."""
    root_p = Path(root)
    key = point.key()
    final = root_p / "points" / key
    if (rec := read_json(final / POINT_FILE)) is not None:
        return rec
    running = _record_start(root_p, key)
    t0 = time.time()
    stage = _staging(final)
    rec = {"key": key, "label": point.label(), **point.settings(), "host": socket.gethostname(), "pid": os.getpid(),
           "ray_node": _ray_node()}
    try:
        rec.update(_build(point, Path(qonnx_dir), stage))
        rec["status"] = "ok"
    except FlowError as err:  # a property of the point (e.g. target out of reach): recorded, not retried
        rec.update(status="failed", error=str(err))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        running.unlink(missing_ok=True)
        raise
    rec["seconds"] = round(time.time() - t0, 2)
    rec["build_dir"] = str(final)
    write_atomic(stage / POINT_FILE, json.dumps(rec, indent=1, default=float))
    _publish(stage, final)
    running.unlink(missing_ok=True)
    return read_json(final / POINT_FILE) or rec


def _build(point: Point, qdir: Path, out: Path) -> dict:
    from fpga_flow.boards import load_board
    from fpga_flow.compiler.build import build_dataflow

    board = load_board(point.board)
    q = read_json(qdir / QUANT_FILE) or {}
    r = build_dataflow(qdir / "model.qonnx.onnx", board, out, target_fps=point.target_fps,
                       budget_fraction=point.budget_fraction, quiet=True)
    t = r.estimates["total"]
    rec: dict = {
        "fps": t["fps"], "fps_source": "estimate", "latency_ms": t["latency_ms"],
        "cycles_per_frame": t["cycles_per_frame"], "clock_mhz": board.clock_mhz,
        "resources": {k: t["resources"][k] for k in ("lut", "dsp", "bram18")},
        "utilization": {k: t["utilization"][k] for k in ("lut", "dsp", "bram18")},
        "resources_source": "estimate", "fits": t["fits"],
        "estimate": {"fps": t["fps"], "resources": {k: t["resources"][k] for k in ("lut", "dsp", "bram18")}},
        "pruning": q.get("prune"),
    }
    rec.update(_accuracy(q))
    if point.rtlsim:
        from fpga_flow.sim.cli import run_sim

        s = run_sim(out, frames=2)
        rec["rtlsim"] = {k: s.get(k) for k in ("cycles_per_frame", "fps", "latency_ms", "bit_exact")}
        if s.get("fps"):
            rec.update(fps=s["fps"], fps_source="rtlsim", latency_ms=s["latency_ms"],
                       cycles_per_frame=s["cycles_per_frame"])
    if point.yosys:
        from fpga_flow.synth.run import synthesize

        rep = synthesize(out, board, top=point.rtlsim, check=False)
        tot = rep["total"]
        rec["resources"] = {k: tot.get(k, 0) for k in ("lut", "dsp", "bram18")}
        rec["utilization"] = {k: rep["utilization"][k] for k in ("lut", "dsp", "bram18")}
        rec["resources_source"] = "yosys"
    return rec


def _accuracy(q: dict) -> dict:
    """The quantized model's metric on the data's eval split; none without data or trained weights."""
    if not q.get("trained"):
        return {"accuracy": None, "accuracy_note": "random weights: no accuracy"}
    metrics = q.get("metrics") or {}
    calibrated = [v for k, v in metrics.items() if k.endswith("calibrated")]
    if not calibrated:
        return {"accuracy": None, "accuracy_note": "no --data: accuracy not measured"}
    m = calibrated[0]
    name = next((k for k in ("balanced_accuracy", "accuracy", "iou") if k in m), None)
    if name is None:
        return {"accuracy": None, "accuracy_note": "no classification/segmentation metric"}
    return {"accuracy": float(m[name]), "accuracy_metric": name,
            "accuracy_note": f"{name} of the quantized model (calibrated, trained weights) on {q.get('data')}"}
