"""The hardware graph as a DAG of streams: topological order, producers/consumers, and the rule
that a tensor feeds at most one node (a fork is an explicit DuplicateStreams)."""

from __future__ import annotations

from fpga_flow.errors import FlowError


def consumers_of(model) -> dict[str, list]:
    out: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            if i:
                out.setdefault(i, []).append(n)
    return out


def topo_nodes(model, *, single_consumer: bool = True) -> list:
    """Nodes in stream order (graph order among the ready ones). Raises ``FlowError`` for a tensor
    feeding several nodes (with ``single_consumer``), a node not reachable from the input or a
    dangling output."""
    g = model.graph
    if not g.node:
        raise FlowError("dataflow graph has no nodes")
    gin, gout = g.input[0].name, g.output[0].name
    inits = {i.name for i in g.initializer}
    cons = consumers_of(model)
    if single_consumer:
        for t, cs in cons.items():
            if len(cs) > 1 and t not in inits:
                raise FlowError(f"tensor '{t}' feeds {len(cs)} nodes ({', '.join(c.name for c in cs)}); "
                                "a branch needs a DuplicateStreams fork in front of it")
    ready, order, rest = {gin} | inits, [], list(g.node)
    while rest:
        for k, n in enumerate(rest):
            if all(i in ready or not i for i in n.input):
                order.append(rest.pop(k))
                ready.update(n.output)
                break
        else:
            raise FlowError(f"dataflow graph: {len(rest)} of {len(g.node)} nodes are not reachable from the "
                            f"input '{gin}' (first: {rest[0].name})")
    if gout not in ready:
        raise FlowError(f"dataflow graph: output '{gout}' is not produced from the input")
    for n in order:
        for o in n.output:
            if o != gout and o not in cons:
                raise FlowError(f"node {n.name}: output '{o}' is not consumed (a branch that ends nowhere)")
    return order
