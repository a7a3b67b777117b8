"""ShareDramBandwidth: streamed weights (``mem_mode=external``) share the board's DRAM bandwidth.

All streamed MVAUs read their weights over the same DRAM link (``Board.dram``: HP port width × clock,
capped by the DDR peak, times a stated derating). Each gets a share proportional to the bytes it
reads per frame, so that every streamed layer needs the same ``total bytes / bytes per cycle``
cycles: the link is the bound, and no share sits idle while another layer starves. The share is a
ratio ``ext_bw_num / ext_bw_den`` bytes per cycle that the cycle model (``MVAU.exp_cycles``) and the
rtlsim weight source (``hls/memstream.v``'s credit counter) both use, so estimate and rtlsim agree.
"""

from __future__ import annotations

from fpga_flow.compiler.transforms.fold import hw_ops

RATE_DEN = 1 << 12  # shares in 1/4096 byte per cycle


def streamed_mvaus(ops):
    return [op for n, op in ops if n.op_type == "MVAU" and op.get_nodeattr("mem_mode") == "external"]


def share_dram_bandwidth(ops, board) -> bool:
    """Set every MVAU's share (0 = ideal stream, for layers on chip or a board without a ``dram``
    figure). Returns whether any attribute changed."""
    bpc = board.weight_bytes_per_cycle() if board is not None else None
    streamed = streamed_mvaus(ops) if bpc else []
    total = sum(op.weight_stream_bytes() for op in streamed)
    shares = {id(op): max(1, int(bpc * RATE_DEN * op.weight_stream_bytes() / total)) for op in streamed}
    changed = False
    for n, op in ops:
        if n.op_type != "MVAU":
            continue
        num, den = shares.get(id(op), 0), RATE_DEN if id(op) in shares else 1
        if (op.get_nodeattr("ext_bw_num"), op.get_nodeattr("ext_bw_den")) != (num, den):
            op.set_nodeattr("ext_bw_num", num)
            op.set_nodeattr("ext_bw_den", den)
            changed = True
    return changed


def dram_bound_cycles(ops, board) -> int:
    """Cycles per frame the DRAM link needs for all streamed weights (0 when none stream)."""
    bpc = board.weight_bytes_per_cycle() if board is not None else None
    total = sum(op.weight_stream_bytes() for op in streamed_mvaus(ops))
    return int(-(-total // bpc)) if bpc and total else 0


class ShareDramBandwidth:
    """Transformation form of :func:`share_dram_bandwidth` (one pass; Fold applies it itself)."""

    def __init__(self, board):
        self.board = board

    def apply(self, model):
        share_dram_bandwidth(hw_ops(model), self.board)
        return model, False
