"""A left-to-right layered layout in pure Python: columns by depth, rows that keep edges short."""

from __future__ import annotations

from dataclasses import dataclass

from gradengine.viz.graph import Graph

CARD_WIDTH = 128
CARD_HEIGHT = 64
OP_HEIGHT = 26
OP_MARGIN = 12  # between an operation's pill and the value it computes
EDGE_ROOM = 56  # horizontal room for the edges into an operation
ROW_GAP = 22
MARGIN = 20
SWEEPS = 8


@dataclass(frozen=True)
class Layout:
    """Top-left corner of each value's card, the gap between columns, and the drawing's size."""

    x: list[float]
    y: list[float]
    column_gap: float
    width: float
    height: float


def op_width(symbol: str) -> float:
    """Width of the pill that shows an operation's symbol (about 7.5 px a character)."""
    return max(30.0, 16 + 7.5 * len(symbol))


def columns(graph: Graph) -> list[int]:
    """Column of each node: one past its deepest parent; a leaf sits just before its first use."""
    n = len(graph.nodes)
    column = [0] * n
    parents = [graph.parents_of(i) for i in range(n)]
    for i in range(n):
        if parents[i]:
            column[i] = 1 + max(column[p] for p in parents[i])
    first_use = [n] * n
    for i in range(n):
        for p in parents[i]:
            first_use[p] = min(first_use[p], column[i])
    for i in range(n):
        if not parents[i] and first_use[i] < n:
            column[i] = first_use[i] - 1
    return column


def layout(graph: Graph, symbols: list[str]) -> Layout:
    """Place every value: order each column by its neighbours' average row, then space them."""
    n = len(graph.nodes)
    widest = max(
        (op_width(s) for s, v in zip(symbols, graph.nodes, strict=True) if v._parents), default=0
    )
    gap = OP_MARGIN + widest + EDGE_ROOM
    column = columns(graph)
    parents = [graph.parents_of(i) for i in range(n)]
    consumers: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for p in parents[i]:
            consumers[p].append(i)
    layers: list[list[int]] = [[] for _ in range(max(column) + 1)]
    for i in range(n):
        layers[column[i]].append(i)

    pitch = CARD_HEIGHT + ROW_GAP
    y = [0.0] * n
    for layer in layers:
        for row, i in enumerate(layer):
            y[i] = row * pitch
    # Alternate sweeps: pull each node towards the mean height of its neighbours on one side,
    # keep the column's order and spacing, so edges run as straight as the spacing allows.
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        order = layers if forward else layers[::-1]
        for layer in order:
            wanted = {}
            for i in layer:
                neighbours = parents[i] if forward else consumers[i]
                wanted[i] = sum(y[j] for j in neighbours) / len(neighbours) if neighbours else y[i]
            layer.sort(key=lambda i: (wanted[i], y[i]))
            placed: list[float] = []
            for i in layer:
                placed.append(wanted[i] if not placed else max(wanted[i], placed[-1] + pitch))
            shift = sum(wanted[i] for i in layer) / len(layer) - sum(placed) / len(placed)
            for i, top in zip(layer, placed, strict=True):
                y[i] = top + shift
    top = min(y)
    x = [MARGIN + column[i] * (CARD_WIDTH + gap) + gap - EDGE_ROOM / 2 for i in range(n)]
    ys = [MARGIN + value - top for value in y]
    width = max(x) + CARD_WIDTH + MARGIN
    height = max(ys) + CARD_HEIGHT + MARGIN
    return Layout(x=x, y=ys, column_gap=gap, width=width, height=height)
