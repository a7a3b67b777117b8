"""FIFO memory style in the stitched design: the rule after sizing, unless the node sets one."""

from __future__ import annotations

from fpga_flow.codegen.stages import build_chain
from fpga_flow.compiler.hw import make_hw_node

from ..compiler.chains import chain_model


def _two_fifos(style_b: str):
    nodes = [make_hw_node("StreamingFIFO", "x", "t", "StreamingFIFO_0", shape=[1, 4, 4, 96], fold=96, depth=2,
                          dataType="UINT4"),
             make_hw_node("StreamingFIFO", "t", "y", "StreamingFIFO_1", shape=[1, 4, 4, 96], fold=96, depth=2,
                          dataType="UINT4", ram_style=style_b)]
    return chain_model(nodes, "fifos", [1, 4, 4, 96], [1, 4, 4, 96])


def test_sized_fifo_gets_the_rule_and_explicit_style_stays():
    depths = {"StreamingFIFO_0": 141, "StreamingFIFO_1": 4096}  # 384 bits wide
    chain = build_chain(_two_fifos("auto"), depths)
    styles = {s.name: s.params["RAM_STYLE"] for s in chain.fifos()}
    assert styles == {"StreamingFIFO_0": "distributed", "StreamingFIFO_1": "auto"}
    chain = build_chain(_two_fifos("distributed"), depths)
    assert {s.name: s.params["RAM_STYLE"] for s in chain.fifos()}["StreamingFIFO_1"] == "distributed"
