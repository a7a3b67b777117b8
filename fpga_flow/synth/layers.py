"""What to synthesize in a build folder: one job per hardware layer of ``dataflow.onnx``,
plus the stitched top in ``rtl/`` when codegen has written it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fpga_flow.errors import FlowError
from fpga_flow.synth.yosys import COMMENT_RE, IDENT_RE, MODULE_RE
from fpga_flow.sim.verilator import HLS_DIR  # one place knows where hls/ lives

SKIP_DIRS = {"test", "tests", "tb", "sim", "obj_dir"}


@dataclass
class LayerJob:
    """One out-of-context synthesis: a library module with its parameters and memory files."""

    name: str
    op_type: str
    module: str
    params: dict[str, Any]
    memories: dict[str, list[str]] = field(default_factory=dict)
    dsp: bool = True  # False for FINN's resType="lut": multipliers in LUTs (yosys -nodsp)
    node: str = ""  # dataflow.onnx node name ("" for stages inserted by codegen)
    cwd: Path | None = None  # where relative memory-file parameters resolve (codegen's rtl/)
    files: list[Path] = field(default_factory=list)  # memory files the parameters name

    def key(self, sources: list[Path], family: str, version: str) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([self.module, self.params, family, version, self.dsp], sort_keys=True, default=str).encode())
        for k in sorted(self.memories):
            h.update(k.encode())
            h.update("\n".join(self.memories[k]).encode())
        # content in a fixed order (by file name), so that the key never depends on discovery order
        for s in sorted(set(map(Path, sources)), key=lambda p: (p.name, str(p))) + list(self.files):
            h.update(s.name.encode())
            h.update(s.read_bytes())
        return h.hexdigest()


def verilog_files(dirs: list[Path]) -> list[Path]:
    out = []
    for d in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            rel = p.relative_to(d).parts
            if p.suffix not in (".v", ".sv") or any(part in SKIP_DIRS for part in rel[:-1]):
                continue
            if p.stem.endswith("_tb") or p.stem.startswith("tb_"):
                continue
            out.append(p)
    return out


def module_library(dirs: list[Path]) -> dict[str, Path]:
    """``{module: file}`` over ``dirs`` (earlier directories win: build ``rtl/`` before ``hls/``)."""
    lib: dict[str, Path] = {}
    for p in verilog_files(dirs):
        text = COMMENT_RE.sub("", p.read_text(errors="replace"))
        for m in MODULE_RE.finditer(text):
            lib.setdefault(m.group(1), p)
    return lib


def top_candidates(rtl_dir: Path, lib: dict[str, Path]) -> list[str]:
    """Modules defined in ``rtl_dir`` that no other library file instantiates."""
    used: set[str] = set()
    defined_in: dict[Path, set[str]] = {}
    for mod, f in lib.items():
        defined_in.setdefault(f, set()).add(mod)
    for f, mods in defined_in.items():
        text = COMMENT_RE.sub("", f.read_text(errors="replace"))
        used |= (set(IDENT_RE.findall(text)) & set(lib)) - mods
    return sorted(m for m, f in lib.items() if f.parent == rtl_dir and m not in used)


def read_manifest(build_dir: Path) -> dict | None:
    """``rtl/manifest.json`` written by codegen (top, sources, port widths, stages), or None."""
    path = build_dir / "rtl" / "manifest.json"
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise FlowError(f"{path}: unreadable JSON ({err})") from err
    if not isinstance(d, dict) or not isinstance(d.get("stages"), list) or "top" not in d:
        raise FlowError(f"{path}: expected keys 'top' and 'stages'")
    return d


def _res_types(build_dir: Path) -> dict[str, bool]:
    """node name -> use DSPs (resType != "lut"), from dataflow.onnx when readable."""
    try:
        return {j.node: j.dsp for j in layers_from_dataflow(build_dir)}
    except FlowError:
        return {}


def layers_from_manifest(build_dir: Path, manifest: dict) -> list[LayerJob]:
    """One job per stage of codegen's manifest (layers plus the FIFOs/DWCs codegen inserted)."""
    rtl_dir = (build_dir / "rtl").resolve()
    dsp = _res_types(build_dir)
    jobs = []
    for i, st in enumerate(manifest["stages"]):
        try:
            name, module, params = str(st["name"]), str(st["module"]), dict(st["params"])
        except (KeyError, TypeError) as err:
            raise FlowError(f"{rtl_dir / 'manifest.json'}: stage {i} lacks {err}") from err
        files = [rtl_dir / v for v in params.values() if isinstance(v, str) and v and (rtl_dir / v).is_file()]
        node = str(st.get("node") or "")
        jobs.append(LayerJob(name=_safe(name), op_type=str(st.get("op_type", "")), module=module, params=params,
                             dsp=dsp.get(node, True), node=node, cwd=rtl_dir, files=files))
    if not jobs:
        raise FlowError(f"{rtl_dir / 'manifest.json'}: no stages")
    return jobs


def layers_from_dataflow(build_dir: Path) -> list[LayerJob]:
    """One :class:`LayerJob` per node of ``build_dir/dataflow.onnx`` (via the hardware layer classes)."""
    path = build_dir / "dataflow.onnx"
    if not path.is_file():
        raise FlowError(f"{path}: not found (run `fpga-flow build` first)")
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.custom_op.registry import getCustomOp

        from fpga_flow.compiler.hw import DOMAIN
    except ImportError as err:  # pragma: no cover - spine dependency
        raise FlowError(f"cannot read {path}: {err}") from err
    try:
        model = ModelWrapper(str(path))
    except Exception as err:
        raise FlowError(f"{path}: unreadable ONNX ({err})") from err
    jobs = []
    for i, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        if node.domain != DOMAIN:
            raise FlowError(f"{path}: node {name} ({node.op_type}) is not a hardware layer (domain {node.domain!r})")
        try:
            op = getCustomOp(node)
            params = dict(op.rtl_parameters())
            mems = {k: list(v) for k, v in op.rtl_memories().items()}
            module = op.rtl_module
            try:
                dsp = str(op.get_nodeattr("resType")).lower() != "lut"
            except Exception:  # layer without resType
                dsp = True
        except Exception as err:
            raise FlowError(f"{path}: layer {name} ({node.op_type}): cannot get its RTL parameters ({err})") from err
        if not module:
            raise FlowError(f"{path}: layer {name} ({node.op_type}) has no RTL module")
        jobs.append(LayerJob(name=_safe(name), op_type=node.op_type, module=module, params=params, memories=mems,
                             dsp=dsp, node=name))
    if not jobs:
        raise FlowError(f"{path}: no hardware layers")
    return jobs


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
