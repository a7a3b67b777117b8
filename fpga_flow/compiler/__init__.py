"""QONNX -> folded hardware layers + estimates (FINN-style dataflow compiler).

Public API::

    build_dataflow(qonnx_path, board, out_dir, target_fps=None, folding_config=None) -> BuildResult
    fpga_flow.compiler.hw            hardware layer classes (qonnx CustomOps), make_single_node_model
    execute_hw(model, x_int)         run a hardware graph with the layers' numpy semantics
    host_input(x, io) / host_output(y, io)   float <-> integer frames per io.json
    extract_folding_config / ApplyConfig     FINN folding JSON
"""

from __future__ import annotations

# largest SIMD·W_BITS of an MVAU (FINN's mvau_wwidth_max, default 36 there)
MVAU_WWIDTH_MAX = 36


def __getattr__(name):
    import importlib

    where = {
        "build_dataflow": "build", "BuildResult": "build", "execute_hw": "execute",
        "host_input": "hostio", "host_output": "hostio", "ApplyConfig": "folding_config",
        "extract_folding_config": "folding_config", "estimate": "estimate",
    }
    if name in where:
        return getattr(importlib.import_module(f"fpga_flow.compiler.{where[name]}"), name)
    raise AttributeError(f"module 'fpga_flow.compiler' has no attribute {name!r}")
