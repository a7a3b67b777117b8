"""build_dataflow: QONNX file -> folded hardware graph + estimates, step by step, resumable.

``out_dir`` receives ``model.qonnx.onnx`` (copy of the input), ``steps/NN_<step>.onnx`` with a
``steps/NN_<step>.json`` stamp each, ``dataflow.onnx``, ``folding.json``, ``estimates.json``,
``io.json``. A step whose stamp key (hash of its inputs and settings) matches is skipped.
Work happens in ``out_dir/.staging/`` and is swapped in only on success (staging.py): a failing or
interrupted build leaves the earlier outputs as they were, and a rerun resumes from the staged steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from qonnx.core.modelwrapper import ModelWrapper
from rich.console import Console

from fpga_flow.compiler import MVAU_WWIDTH_MAX
from fpga_flow.errors import FlowError

STEPS = ("tidy", "streamline", "to_hw", "fold", "estimate")
FINAL_FILES = ("dataflow.onnx", "folding.json", "estimates.json", "io.json")


@dataclass
class BuildResult:
    out_dir: Path
    dataflow: Path
    estimates: dict
    folding: dict
    io: dict
    fold: dict
    steps: list = field(default_factory=list)  # (name, path, skipped, seconds)

    @property
    def fps(self) -> float:
        return self.estimates["total"]["fps"]


def _code_hash() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def canonical(model: ModelWrapper) -> ModelWrapper:
    """Order the graph's unordered lists (quantization annotations, value infos) by tensor name,
    so that the same graph always serialises to the same bytes."""
    g = model.graph
    for field_name, key in (("quantization_annotation", "tensor_name"), ("value_info", "name")):
        items = sorted(getattr(g, field_name), key=lambda x: getattr(x, key))
        del getattr(g, field_name)[:]
        getattr(g, field_name).extend(items)
    return model


def _atomic_save(model: ModelWrapper, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp.onnx")
    canonical(model).save(str(tmp))
    os.replace(tmp, path)


def _check_onnx(path: Path) -> None:
    """One line naming the file when it is not an ONNX model (before any work)."""
    import onnx

    if path.stat().st_size == 0:
        raise FlowError(f"{path}: empty file, expected a QONNX model (.onnx)")
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types for garbage
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise FlowError(f"{path}: not an ONNX model, truncated or of another format "
                        f"(expected a QONNX protobuf; the parser said: {first})") from None
    if not m.graph.node:
        raise FlowError(f"{path}: ONNX model without nodes (expected a QONNX graph)")


def _load_model(path: Path) -> ModelWrapper:
    if not path.is_file():
        raise FlowError(f"{path}: QONNX file not found")
    try:
        return ModelWrapper(str(path))
    except Exception as e:  # noqa: BLE001
        raise FlowError(f"{path}: not a readable ONNX model ({type(e).__name__})")


def build_dataflow(qonnx_path, board, out_dir, target_fps: float | None = None, folding_config=None, *,
                   best_effort: bool = False, budget_fraction: float = 0.85, mvau_wwidth_max: int = MVAU_WWIDTH_MAX,
                   fifo_depth: int = 32, quiet: bool = False, bram_budget: float | None = None) -> BuildResult:
    """Build into ``out_dir/.staging/`` and swap the result in only on success (staging.py).

    Refuses (FlowError, nothing committed) a folding config that matches no layer, a design above
    100 % of any board resource (unless ``best_effort``), and a graph codegen cannot generate.
    ``bram_budget``: BRAM18 the folded layers may use (default ``budget_fraction`` of the board's)."""
    from fpga_flow.boards import load_board
    from fpga_flow.compiler import checks
    from fpga_flow.compiler.estimate import estimate, io_spec
    from fpga_flow.compiler.folding_config import (ApplyConfig, extract_folding_config, load_folding_config,
                                                   unmatched_report)
    from fpga_flow.compiler.staging import Staging
    from fpga_flow.compiler.transforms.fold import Fold, FoldResult, hw_ops, over_budget, totals
    from fpga_flow.compiler.transforms.dram import ShareDramBandwidth
    from fpga_flow.compiler.transforms.streamline import Streamline
    from fpga_flow.compiler.transforms.streams import InsertStreams
    from fpga_flow.compiler.transforms.tidy import Tidy
    from fpga_flow.compiler.transforms.to_hw import ToHW

    con = Console(stderr=True, quiet=quiet)
    board = load_board(board)
    if target_fps is not None and not target_fps > 0:
        raise FlowError(f"target FPS must be > 0 (got {target_fps})")
    src = Path(qonnx_path).resolve()
    out = Path(out_dir).resolve()
    if src.is_dir():
        raise FlowError(f"{src}: is a folder, expected a QONNX file (.onnx)")
    if not src.is_file():
        raise FlowError(f"{src}: QONNX file not found")
    if src.parent == out and src.name in FINAL_FILES:
        raise FlowError(f"{src}: the input would be overwritten by the build; choose another --out")
    if out.exists() and not out.is_dir():
        raise FlowError(f"{out}: exists and is not a folder; choose another --out")
    fcfg = load_folding_config(folding_config) if folding_config is not None else None
    fcfg_name = f"folding config {folding_config}" if isinstance(folding_config, (str, Path)) else "folding config"
    _check_onnx(src)
    try:
        stage = Staging(out)
        stage_dir = stage.open()
    except OSError as e:
        raise FlowError(f"{out}: cannot write the build folder ({e.strerror})") from None
    steps_dir = stage.steps
    shutil.copyfile(src, stage_dir / "model.qonnx.onnx.tmp")
    os.replace(stage_dir / "model.qonnx.onnx.tmp", stage_dir / "model.qonnx.onnx")

    key = _key(hashlib.sha256(src.read_bytes()).hexdigest(), _code_hash())
    settings = {
        "fold": [board.as_dict(), target_fps, fcfg, best_effort, budget_fraction, mvau_wwidth_max, fifo_depth]
        + ([bram_budget] if bram_budget is not None else []),
        "estimate": [board.as_dict(), best_effort],
    }
    done_steps = []
    model = None
    extra: dict = {}
    recomputed = False
    io: dict = {}
    fold_info: dict = {}

    for i, name in enumerate(STEPS, start=1):
        key = _key(key, name, settings.get(name))
        onnx_path = steps_dir / f"{i:02d}_{name}.onnx"
        stamp_path = steps_dir / f"{i:02d}_{name}.json"
        stamp = None
        if not recomputed and onnx_path.is_file() and stamp_path.is_file():
            try:
                stamp = json.loads(stamp_path.read_text())
            except json.JSONDecodeError:
                stamp = None
        if stamp is not None and stamp.get("key") == key and stamp.get("onnx_sha256") != _sha(onnx_path):
            stamp = None  # the step's file was changed or damaged after its stamp: redo it
        if stamp is not None and stamp.get("key") == key:
            model = None  # loaded lazily
            extra = stamp.get("extra", {})
            done_steps.append((name, onnx_path, True, 0.0))
            con.print(f"[dim][{i}/{len(STEPS)}] {name}: up to date, skipped[/]")
            if name == "streamline":
                io = extra["io"]
            if name == "fold":
                fold_info = extra["fold"]
            continue
        if not recomputed:
            # everything from here on is stale (in the staging folder only)
            for j, later in enumerate(STEPS[i - 1:], start=i):
                for suffix in (".onnx", ".json"):
                    (steps_dir / f"{j:02d}_{later}{suffix}").unlink(missing_ok=True)
            recomputed = True
        if model is None:
            model = _load_model(src) if i == 1 else ModelWrapper(str(steps_dir / f"{i - 1:02d}_{STEPS[i - 2]}.onnx"))
        t0 = time.perf_counter()
        con.print(f"[{i}/{len(STEPS)}] {name} ...", end=" ")
        try:
            extra = {}
            if name == "tidy":
                model, _ = Tidy().apply(model)
            elif name == "streamline":
                s = Streamline()
                model, _ = s.apply(model)
                io = s.io
                extra = {"io": io, "tensor_map": s.tensor_map}
            elif name == "to_hw":
                model, _ = ToHW().apply(model)
            elif name == "fold":
                if fcfg is not None:
                    layers_pass = ApplyConfig(fcfg)
                    model, _ = layers_pass.apply(model)
                    model, _ = ShareDramBandwidth(board).apply(model)
                    ops = hw_ops(model)
                    r, mc, slow = totals(ops)
                    clk = board.clock_mhz * 1e6
                    ob = over_budget(r, board.budget(), 1.0)
                    met = target_fps is None or clk / mc >= target_fps
                    fr = FoldResult(clk / target_fps if target_fps else None, mc, clk / mc, slow, r, board.budget(),
                                    not ob, met, f"layer {slow} (folding from config)",
                                    [n.name for n, op in ops if n.op_type == "MVAU" and op.get_nodeattr("mem_mode") == "external"])
                    if not met:
                        msg = (f"target {target_fps:g} FPS not met by the folding config on board {board.name}: "
                               f"{clk / mc:.2f} FPS (slowest layer {slow}, {mc} cycles)")
                        if not best_effort:
                            raise FlowError(msg)
                        fr.notes.append(msg)
                    layer_names = [n.name for n, _ in ops]
                else:
                    f = Fold(board, target_fps, budget_fraction=budget_fraction,
                             mvau_wwidth_max=mvau_wwidth_max, best_effort=best_effort, bram_budget=bram_budget)
                    model, _ = f.apply(model)
                    fr = f.result
                model, _ = InsertStreams(fifo_depth).apply(model)
                if fcfg is not None:
                    fifo_pass = ApplyConfig(fcfg, only_op_types=("StreamingFIFO",))
                    model, _ = fifo_pass.apply(model)
                    fr.notes += unmatched_report(fcfg_name, [layers_pass, fifo_pass], layer_names)
                    no_entry = [n for n in layers_pass.missing
                                if model.get_node_from_name(n).op_type not in ("StreamingMaxPool",)]
                    if no_entry and len(fcfg) > 1:
                        fr.notes.append(f"{fcfg_name}: {len(no_entry)} layer(s) without an entry keep the "
                                        f"defaults (PE = SIMD = 1 unless Defaults say otherwise): {', '.join(no_entry)}")
                fold_info = fr.to_dict()
                extra = {"fold": fold_info}
            elif name == "estimate":
                checks.generatable(model)
        except FlowError:
            con.print("[red]failed[/]")
            raise
        dt = time.perf_counter() - t0
        _atomic_save(model, onnx_path)
        _atomic_write_text(stamp_path, json.dumps({"key": key, "onnx_sha256": _sha(onnx_path), "extra": extra},
                                                  default=float))
        done_steps.append((name, onnx_path, False, dt))
        con.print(f"done ({dt:.1f} s)")

    last = steps_dir / f"{len(STEPS):02d}_{STEPS[-1]}.onnx"
    final = ModelWrapper(str(last))
    est = estimate(final, board)
    est["fold"] = fold_info
    est["target_fps"] = target_fps
    over = checks.over_board(est, board, best_effort)
    if over and over not in fold_info.get("notes", []):
        fold_info.setdefault("notes", []).append(over)
    folding = extract_folding_config(final)
    iod = io_spec(final, io)
    shutil.copyfile(last, stage_dir / "dataflow.onnx.tmp")
    os.replace(stage_dir / "dataflow.onnx.tmp", stage_dir / "dataflow.onnx")
    _atomic_write_text(stage_dir / "folding.json", json.dumps(folding, indent=2) + "\n")
    _atomic_write_text(stage_dir / "estimates.json", json.dumps(est, indent=2, default=float) + "\n")
    _atomic_write_text(stage_dir / "io.json", json.dumps(iod, indent=2) + "\n")
    stale_notes = stage.commit(FINAL_FILES + ("model.qonnx.onnx",))
    t = est["total"]
    con.print(f"[bold]{board.name}[/] @ {board.clock_mhz:g} MHz: {t['cycles_per_frame']} cycles/frame "
              f"(slowest {t['slowest_layer']}), {t['fps']:.1f} FPS, latency {t['latency_ms']:.3f} ms \\[estimate]; "
              f"LUT {t['resources']['lut']:.0f} ({t['utilization']['lut']:.0%}), "
              f"BRAM18 {t['resources']['bram18']} ({t['utilization']['bram18']:.0%}), "
              f"DSP {t['resources']['dsp']}" + ("" if t["fits"] else " [red]— over budget[/]"))
    for note in fold_info.get("notes", []) + stale_notes:
        con.print(f"[yellow]note:[/] {note}", highlight=False)
    return BuildResult(out, out / "dataflow.onnx", est, folding, iod, fold_info, done_steps)
