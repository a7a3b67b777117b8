"""`synthesize(build_dir, board)`: Yosys per hardware layer (out-of-context) and for the stitched
top, then ``synth/report.json`` and the budget check. Re-runs reuse unchanged layers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from fpga_flow.boards import Board, known_boards, load_board
from fpga_flow.errors import FlowError
from fpga_flow.synth.layers import (HLS_DIR, LayerJob, layers_from_dataflow, layers_from_manifest, module_library,
                                    read_manifest, top_candidates)
from fpga_flow.synth.report import build_report, check_budget, read_estimates
from fpga_flow.synth.yosys import run_yosys, sources_for, yosys_exe, yosys_version

log = logging.getLogger(__name__)
REPORT = Path("synth") / "report.json"


def board_of_build(build_dir: Path, board: str | Board | None) -> Board:
    """The board given, else the one named by ``flow.json``/``io.json``/``estimates.json`` or the folder name."""
    if not Path(build_dir).is_dir():
        raise FlowError(f"{build_dir}: build folder not found (run `fpga-flow build` first)")
    if board is not None:
        return load_board(board)
    for fname in ("flow.json", "io.json", "estimates.json"):
        p = build_dir / fname
        if p.is_file():
            try:
                d = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            b = d.get("board") if isinstance(d, dict) else None
            if isinstance(b, dict):
                b = b.get("name")
            if isinstance(b, str) and b:
                return load_board(b)
    name = build_dir.resolve().name.lower()
    for b in sorted(known_boards(), key=len, reverse=True):
        if name.endswith("-" + b.lower()):
            return load_board(b)
    raise FlowError(f"{build_dir}: cannot tell the board; pass --board (known: {', '.join(known_boards())})")


def _write_atomic(path: Path, text: str) -> None:
    """An interrupted run leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _cached(out: Path, key: str) -> dict | None:
    result_file = out / "result.json"
    if result_file.is_file():
        try:
            cached = json.loads(result_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if cached.get("key") == key:
            return cached
    return None


def _synth_layer(job: LayerJob, lib: dict, family: str, out: Path, version: str, ltp: bool, timeout: float) -> dict:
    sources = sources_for(job.module, lib)
    key = job.key(sources, family, version)
    if (hit := _cached(out, key)) is not None:
        return hit
    out.mkdir(parents=True, exist_ok=True)
    params = dict(job.params)
    for pname, lines in job.memories.items():
        fname = f"{pname.lower()}.mem"
        (out / fname).write_text("\n".join(lines) + "\n")
        params[pname] = fname
    res = run_yosys(job.name, job.module, sources, family, out, params, ltp=ltp, dsp=job.dsp, timeout=timeout,
                    cwd=job.cwd)
    d = {"op_type": job.op_type, "node": job.node, "module": job.module, "params": job.params, "dsp": job.dsp,
         **res.as_dict(), "key": key}
    _write_atomic(out / "result.json", json.dumps(d, indent=2) + "\n")
    return d


def _synth_top(top_name: str, lib: dict, rtl_dir: Path, family: str, out: Path, version: str, ltp: bool,
               timeout: float, manifest: dict | None = None, dsp: bool = True) -> dict:
    if manifest and manifest.get("sources") and manifest["top"] == top_name:
        sources = [rtl_dir / s for s in manifest["sources"]]
        missing = [str(p) for p in sources if not p.is_file()]
        if missing:
            raise FlowError(f"{rtl_dir / 'manifest.json'}: source {missing[0]} not found")
    else:
        sources = sources_for(top_name, lib)
    mems = sorted(p for p in rtl_dir.rglob("*") if p.is_file() and p.suffix in (".mem", ".dat", ".hex"))
    key = LayerJob("top", "top", top_name, {}, dsp=dsp).key(sources + mems, family, version)
    if (hit := _cached(out, key)) is not None:
        return hit
    res = run_yosys("top", top_name, sources, family, out, ltp=ltp, dsp=dsp, timeout=timeout, cwd=rtl_dir.resolve())
    d = {**res.as_dict(), "dsp": dsp, "key": key}
    _write_atomic(out / "result.json", json.dumps(d, indent=2) + "\n")
    return d


def _jobs_or_empty(build_dir: Path, manifest: dict | None) -> list[LayerJob]:
    try:
        return layers_from_manifest(build_dir, manifest) if manifest else layers_from_dataflow(build_dir)
    except FlowError:
        return []


def synthesize(build_dir: str | os.PathLike, board: str | Board | None = None, *, layers: bool = True,
               top: bool | str = True, ltp: bool = True, jobs: int = 1, timeout: float = 1800,
               check: bool = True) -> dict:
    """Synthesize a build with Yosys and write ``build_dir/synth/report.json``; return the report.

    ``layers``: each node of ``dataflow.onnx`` out-of-context; ``top``: the stitched top in
    ``rtl/`` (True = auto-detect, a string = that module). ``check`` raises FlowError when over
    budget (after the report is written).
    """
    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise FlowError(f"{build_dir}: build folder not found")
    yosys_exe()  # ToolMissing before any work
    b = board_of_build(build_dir, board)
    version = yosys_version()
    rtl_dir = build_dir / "rtl"
    lib = module_library([rtl_dir, HLS_DIR])
    manifest = read_manifest(build_dir)
    synth_dir = build_dir / "synth"
    results: dict[str, dict] = {}
    if layers:
        layer_jobs = layers_from_manifest(build_dir, manifest) if manifest else layers_from_dataflow(build_dir)

        def one(job: LayerJob) -> tuple[str, dict]:
            return job.name, _synth_layer(job, lib, b.family, synth_dir / "layers" / job.name, version, ltp, timeout)

        from fpga_flow.sweep.cluster import fan_out  # Ray tasks when Ray is running, else `jobs` threads

        for name, d in fan_out(one, layer_jobs, jobs=jobs):
            results[name] = d
    top_res = None
    if top:
        if not rtl_dir.is_dir():
            if not layers:
                raise FlowError(f"{rtl_dir}: not found (run codegen first)")
            log.warning("%s: no rtl/ yet, stitched top not synthesized", build_dir)
        else:
            top_name = top if isinstance(top, str) else (manifest or {}).get("top")
            if top_name is None:
                cands = top_candidates(rtl_dir.resolve(), {k: v.resolve() for k, v in lib.items()})
                if len(cands) != 1:
                    raise FlowError(f"{rtl_dir}: cannot tell the top module (candidates: {', '.join(cands) or 'none'}); pass --top")
                top_name = cands[0]
            # one synth_xilinx run cannot mix: DSPs unless every MVAU asks for LUT multipliers (resType=lut)
            mvaus = [j for j in (layer_jobs if layers else _jobs_or_empty(build_dir, manifest)) if j.module == "mvau"]
            top_dsp = not (mvaus and all(not j.dsp for j in mvaus))
            top_res = _synth_top(top_name, lib, rtl_dir, b.family, synth_dir / "top", version, ltp, timeout, manifest,
                                 top_dsp)
    if not results and top_res is None:
        raise FlowError(f"{build_dir}: nothing to synthesize")
    report = build_report(b, results, top_res, read_estimates(build_dir), version)
    path = build_dir / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(report, indent=2) + "\n")
    if check:
        check_budget(report, path)
    return report
