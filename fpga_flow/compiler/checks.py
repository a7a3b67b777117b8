"""What a build refuses before it prints an estimate: a design over the board, a graph that codegen
and the layer library in hls/ cannot turn into RTL. No estimate for hardware that cannot exist."""

from __future__ import annotations

from fpga_flow.errors import FlowError


def over_board(est: dict, board, best_effort: bool) -> str | None:
    """FlowError naming each board resource the estimate needs above 100 % of the board, unless
    ``best_effort`` (then the same sentence, as a note)."""
    t = est["total"]
    over = [(k, u) for k, u in t["utilization"].items() if u is None or u > 1.0]
    if not over:
        return None
    over.sort(key=lambda kv: -(kv[1] if kv[1] is not None else float("inf")))
    parts = [f"{k} {t['resources'][k]:.0f} of {t['budget'].get(k, 0):g} "
             + (f"({u:.0%})" if u is not None else "(the board has none)") for k, u in over]
    msg = (f"the design exceeds board {board.name}: {', '.join(parts)} [estimate]"
           + ("" if best_effort else "; fold for a lower FPS, choose a larger board, or pass --best-effort"))
    if not best_effort:
        raise FlowError(msg)
    return msg


def generatable(model) -> None:
    """The checks codegen makes (hls/ module per layer, legal folding, RTL parameters and memories,
    matching stream widths), without writing anything."""
    from fpga_flow.codegen.stages import build_chain
    from fpga_flow.sim.unit import hls_sources

    try:
        chain = build_chain(model)
    except FlowError as err:
        raise FlowError(f"codegen cannot generate this design: {err}") from None
    except Exception as err:  # noqa: BLE001 - a layer class that cannot produce its RTL parameters
        raise FlowError(f"codegen cannot generate this design ({type(err).__name__}: {err})") from None
    for st in chain.stages:
        for src in hls_sources(st.module):
            if not src.is_file():
                raise FlowError(f"layer {st.node or st.name} ({st.op_type}): RTL module {src} not in the layer library")
