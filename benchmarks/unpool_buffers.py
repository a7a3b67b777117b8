"""Buffer memory of SegNet's max-unpool option (pooling indices carried from each encoder pool to
its decoder unpool) at 224x224, from the resource model (estimate; no build, no weights).

    PYTHONPATH=. python benchmarks/unpool_buffers.py [--size 224] [--width 1.0]

Writes benchmarks/results/segnet-unpool-index-buffers-<size>-w<width>.json and prints a table.
Each level's index FIFO is sized for one frame of 2x2 indices (2 bits each; the bound, see
fpga_flow/compiler/hw/unpool.py) at PE = 1 and priced by StreamingFIFO.resource_estimate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fpga_flow.compiler.hw.unpool import index_buffer_bits, index_fifo_estimate
from fpga_flow.models.vgg import VGG16_CFG, scaled


def levels(size: int, width: float):
    """(input side, channels) of each of SegNet's five 2x2 pools (VGG16 encoder widths × width)."""
    convs = scaled([c for c in VGG16_CFG if isinstance(c, int)], width)
    out, i, side = [], 0, size
    for c in VGG16_CFG:
        if c == "M":
            out.append((side, convs[i - 1]))
            side //= 2
        else:
            i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--width", type=float, default=1.0)
    a = ap.parse_args()
    rows = []
    for side, c in levels(a.size, a.width):
        depth, r = index_fifo_estimate(side, side, c, 2)
        rows.append({"pool_input": [side, side, c], "index_bits": index_buffer_bits(side, side, c, 2),
                     "fifo_depth_words": depth, "bram18": r.bram18, "lut": r.lut})
    total = {"index_bits": sum(r["index_bits"] for r in rows), "bram18": sum(r["bram18"] for r in rows)}
    res = {"source": "estimate (resource model, StreamingFIFO; one frame of indices per level)",
           "model": f"segnet width {a.width}, {a.size}x{a.size}, 2x2 pools", "levels": rows, "total": total}
    out = Path(__file__).parent / "results" / f"segnet-unpool-index-buffers-{a.size}-w{a.width:g}.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    print("| pool input | index bits | FIFO words | BRAM18 |\n|---|---|---|---|")
    for r in rows:
        print(f"| {'x'.join(map(str, r['pool_input']))} | {r['index_bits']:,} | {r['fifo_depth_words']:,} | {r['bram18']} |")
    print(f"| total | {total['index_bits']:,} | | {total['bram18']} |")


if __name__ == "__main__":
    main()
