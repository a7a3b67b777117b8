"""Simulate one hls/ module on its own (unit tests, cycle checks of single layers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from fpga_flow.sim import verilator as vl

# modules that instantiate others
_DEPS = {"mvau": ["mvau_ctrl", "thresh_core", "add_tree", "dsp_pack"],
         "mvau_binary": ["mvau_ctrl", "thresh_core", "add_tree"],
         "thresholding": ["thresh_core"]}


def hls_sources(modules) -> list[Path]:
    """Verilog files (in hls/) needed by the given module names, dependencies included."""
    if isinstance(modules, str):
        modules = [modules]
    names: list[str] = []
    for m in modules:
        for n in [m, *_DEPS.get(m, [])]:
            if n not in names:
                names.append(n)
    return [vl.HLS_DIR / f"{n}.v" for n in names]


def simulate(module: str, params: dict, words: np.ndarray, *, in_width: int, out_width: int,
             frames: int, in_per_frame: int, out_per_frame: int, memories: dict | None = None,
             backpressure: float = 0.0, gaps: float = 0.0, seed: int = 1,
             stall_limit: int = 20_000) -> vl.SimResult:
    """Build ``module`` with ``params`` and stream packed ``words`` through it.

    ``memories`` maps a file parameter (``WEIGHT_FILE``) to its ``$readmemh`` lines; the files
    are written to a run directory and the parameter is set to their relative name, so the
    build cache does not depend on the memory contents.
    """
    memories = memories or {}
    p = dict(params)
    for k in memories:
        p[k] = f"{k.lower()}.mem"
    spec = vl.TbSpec(top=module, in_width=in_width, out_width=out_width)
    binary = vl.build(hls_sources(module), spec, p)
    with tempfile.TemporaryDirectory(prefix=f"{module}-") as tmp:
        for k, lines in memories.items():
            (Path(tmp) / p[k]).write_text("\n".join(lines) + "\n")
        return vl.run(binary, words, frames=frames, in_per_frame=in_per_frame, out_per_frame=out_per_frame,
                      out_width=out_width, cwd=Path(tmp), backpressure=backpressure, gaps=gaps, seed=seed,
                      stall_limit=stall_limit, name=module)


def simulate_op(op, x: np.ndarray, *, backpressure: float = 0.0, gaps: float = 0.0, seed: int = 1,
                stall_limit: int = 20_000):
    """Run frames ``x`` (shape ``(frames,) + normal_input_shape()[1:]``) through the RTL module
    of the hardware layer ``op`` (a ``fpga_flow.compiler.hw`` CustomOp instance).

    Returns ``(y, SimResult)`` with ``y`` of shape ``(frames,) + normal_output_shape()[1:]``.
    """
    from fpga_flow.sim.packing import pack, unpack

    ishape = tuple(op.normal_input_shape())
    oshape = tuple(op.normal_output_shape())
    x = np.asarray(x).reshape((-1,) + ishape[1:])
    frames = x.shape[0]
    idt, odt = op.input_datatype(), op.output_datatype()
    fi, fo = op.in_fold(), op.out_fold()
    in_pf = int(np.prod(ishape)) // fi
    out_pf = int(np.prod(oshape)) // fo
    words = pack(x, idt.bitwidth(), fi, signed=idt.signed())
    res = simulate(op.rtl_module, op.rtl_parameters(), words, in_width=op.instream_width(),
                   out_width=op.outstream_width(), frames=frames, in_per_frame=in_pf,
                   out_per_frame=out_pf, memories=op.rtl_memories(), backpressure=backpressure,
                   gaps=gaps, seed=seed, stall_limit=stall_limit)
    y = unpack(res.outputs, odt.bitwidth(), fo, odt.signed()).reshape((frames,) + oshape[1:])
    return y, res
