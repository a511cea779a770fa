"""graph_stats(root): how big a graph is and what it is made of, without drawing it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gradengine.engine import Value
from gradengine.fast import paused_gc
from gradengine.viz.graph import Graph, build_graph, check_root


@dataclass(frozen=True)
class GraphStats:
    """Node, leaf and operation counts, depth, and the values used more than once."""

    nodes: int
    leaves: int
    depth: int
    ops: dict[str, int]
    shared: list[Value]

    def __str__(self) -> str:
        ops = ", ".join(f"{op} ×{count:,}" for op, count in self.ops.items()) or "none"
        return (
            f"{self.nodes:,} nodes ({self.leaves:,} leaves, {self.nodes - self.leaves:,} "
            f"operations), depth {self.depth:,}\n"
            f"operations: {ops}\n"
            f"values used more than once: {len(self.shared):,}"
        )


def graph_stats(root: Value) -> GraphStats:
    """Counts over the graph of root; depth = operations on the longest leaf-to-root path."""
    graph = build_graph(check_root(root, "graph_stats()"))
    with paused_gc():
        return _count(graph)


def _count(graph: Graph) -> GraphStats:
    """graph_stats on a built graph."""
    nodes, index = graph.nodes, graph.index
    depth = [0] * len(nodes)
    uses = [0] * len(nodes)
    ops: Counter[str] = Counter()
    leaves = 0
    for i, node in enumerate(nodes):
        if not node._parents:
            leaves += 1
            continue
        ops[node._op] += 1
        deepest = 0
        for parent in node._parents:
            p = index[id(parent)]
            uses[p] += 1  # a + a uses a twice: its grad is a sum of two terms
            deepest = max(deepest, depth[p])
        depth[i] = deepest + 1
    shared = [node for node, count in zip(nodes, uses, strict=True) if count > 1]
    return GraphStats(
        nodes=len(nodes),
        leaves=leaves,
        depth=depth[-1],
        ops=dict(sorted(ops.items(), key=lambda item: (-item[1], item[0]))),
        shared=shared,
    )
