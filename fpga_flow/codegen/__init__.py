"""RTL generation: ``generate(build_dir)`` turns ``build_dir/dataflow.onnx`` into ``build_dir/rtl/``.

``rtl/`` holds ``top.v`` (module ``top``), the hls/ modules it instantiates, ``mem/*.mem``
(weights/thresholds, ``$readmemh``), ``tb.cpp`` (the Verilator testbench) and
``manifest.json`` (sources in read order, top, stream widths, stages). Tools must run with
``rtl/`` as working directory: memory files are referenced relative to it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from fpga_flow.codegen.stages import Chain, Stage, build_chain, vname  # noqa: F401
from fpga_flow.codegen.verilog import TOP, pad8, write_top
from fpga_flow.errors import FlowError

__all__ = ["generate", "generate_from_model", "RtlDesign", "load_design", "build_chain", "Chain", "Stage"]

FIFO_FILE = "fifo_depths.json"


@dataclass
class RtlDesign:
    rtl_dir: Path
    chain: Chain
    sources: list[Path]          # in read order (dependencies first, top last)
    manifest: dict

    @property
    def top(self) -> str:
        return TOP


def _load_model(path: Path):
    from qonnx.core.modelwrapper import ModelWrapper

    if not path.exists():
        raise FlowError(f"{path}: not found (run `fpga-flow build` first)")
    try:
        return ModelWrapper(str(path))
    except Exception as err:  # noqa: BLE001
        raise FlowError(f"{path}: cannot be read as ONNX ({err})") from err


def model_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def saved_fifo_depths(build_dir: Path) -> dict | None:
    """FIFO depths of a sizing run, if they belong to the current dataflow.onnx."""
    f = Path(build_dir) / "rtl" / FIFO_FILE
    if not f.exists():
        return None
    d = json.loads(f.read_text())
    if d.get("dataflow_sha") != model_hash(Path(build_dir) / "dataflow.onnx"):
        return None
    return d.get("depths")


def generate(build_dir, fifo_depths: dict | None = None, *, default_depth: int | None = None) -> RtlDesign:
    """Write ``build_dir/rtl/`` from ``build_dir/dataflow.onnx``.

    FIFO depths: ``fifo_depths`` (stage name -> words) if given, else those of an earlier
    sizing run (``rtl/fifo_depths.json``) of the same graph, else the graph's own.
    """
    build_dir = Path(build_dir)
    model = _load_model(build_dir / "dataflow.onnx")
    if fifo_depths is None:
        fifo_depths = saved_fifo_depths(build_dir)
    return generate_from_model(model, build_dir / "rtl", fifo_depths, default_depth=default_depth)


def generate_from_model(model, rtl_dir, fifo_depths: dict | None = None, *,
                        default_depth: int | None = None) -> RtlDesign:
    from fpga_flow.sim import verilator as vl
    from fpga_flow.sim.unit import hls_sources

    rtl_dir = Path(rtl_dir)
    kw = {} if default_depth is None else {"default_depth": default_depth}
    chain = build_chain(model, fifo_depths, **kw)
    if rtl_dir.exists():
        for p in list(rtl_dir.glob("*.v")) + list((rtl_dir / "mem").glob("*.mem")):
            p.unlink()
    (rtl_dir / "mem").mkdir(parents=True, exist_ok=True)
    for s in chain.stages:
        for k, lines in s.memories.items():
            (rtl_dir / s.params[k]).write_text("\n".join(lines) + "\n")
    modules = ["axilite_ctrl"]
    for s in chain.stages:
        if s.module not in modules:
            modules.append(s.module)
    if any(s.ext_weights for s in chain.stages):
        modules.append("memstream")
    srcs = []
    for src in hls_sources(modules):
        dst = rtl_dir / src.name
        shutil.copyfile(src, dst)
        srcs.append(dst)
    # dependencies (mvau_ctrl, thresh_core, add_tree, dsp_pack) first
    srcs.sort(key=lambda p: 0 if p.stem in ("mvau_ctrl", "thresh_core", "add_tree", "dsp_pack") else 1)
    top = rtl_dir / "top.v"
    top.write_text(write_top(chain))
    srcs.append(top)
    spec = tb_spec(chain)
    (rtl_dir / "tb.cpp").write_text(vl.generate_tb(spec))
    manifest = {
        "top": TOP,
        "sources": [p.name for p in srcs],
        "workdir_note": "memory files are relative to this directory",
        "in_width": chain.in_width, "out_width": chain.out_width,
        "in_port_width": pad8(chain.in_width), "out_port_width": pad8(chain.out_width),
        "in_dtype": chain.in_dtype.name, "out_dtype": chain.out_dtype.name,
        "in_shape": list(chain.in_shape), "out_shape": list(chain.out_shape),
        "in_fold": chain.in_fold, "out_fold": chain.out_fold,
        "external_weight_streams": [{"port": f"s_axis_{s.name}_w", "node": s.node, **s.ext_weights,
                                     "port_width": pad8(s.ext_weights["width"])}
                                    for s in chain.stages if s.ext_weights],
        "stages": [{"name": s.name, "node": s.node, "op_type": s.op_type, "module": s.module,
                    "params": s.params, "in_width": s.in_width, "out_width": s.out_width,
                    "in_words": s.in_words, "out_words": s.out_words, "exp_cycles": s.exp_cycles,
                    "in_streams": s.ins, "out_streams": s.outs}
                   for s in chain.stages],
        "branches": [{"fork": b.fork, "join": b.join, "port": b.port, "path": b.path, "fifo": b.fifo,
                      "need": b.need, "depth": int(chain.stage(b.fifo).params["DEPTH"]) if b.fifo else None}
                     for b in chain.branches],
    }
    (rtl_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return RtlDesign(rtl_dir, chain, srcs, manifest)


def tb_spec(chain: Chain):
    from fpga_flow.sim import verilator as vl

    mons = [vl.Port(f"dbg_cnt_{k}", 32) for k, _ in enumerate(chain.fifos())]
    return vl.TbSpec(top=TOP, in_width=pad8(chain.in_width), out_width=pad8(chain.out_width), monitors=mons,
                     dbg=vl.Port("dbg_hs", 2 * chain.n_streams), progress="dbg_fire",
                     axilite="s_axi_control")


def load_design(build_dir) -> RtlDesign:
    """Regenerate (cheap) the design of a build; used by rtlsim."""
    return generate(build_dir)
