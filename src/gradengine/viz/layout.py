"""A left-to-right layered layout in pure Python: columns by depth, rows that keep edges short.

Every edge is routed so that it never crosses a box. The drawing is a row of columns; each column
is a strip of operation pills (``OP_ZONE`` wide) followed by a strip of cards, and between one
column's cards and the next column's pills lies a strip that holds nothing but edges. An edge
curves only inside such an empty strip and runs horizontally everywhere else. An edge that spans
several columns gets a waypoint in each column it passes (a "dummy" node, as in Sugiyama's
method): a row slot of its own, kept clear of the cards, so its horizontal run misses them. The
edges out of one value share its waypoints, as a bus that each consumer leaves in the column
before its own: a leaf used in every column takes one lane, not one per use.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from gradengine.viz.graph import Graph

CARD_WIDTH = 132
CARD_HEIGHT = 66
OP_HEIGHT = 28
OP_MARGIN = 8  # between an operation's pill and the value it computes
EDGE_ROOM = 40  # horizontal room in which edges curve between two columns
ROW_GAP = 22  # between two cards in a column
LANE = 16  # the room an edge passing through a column takes
MARGIN = 16
SWEEPS = 12
LANE_WEIGHT = 0.05  # a lane gives way to the cards around it when they compete for a spot

Point = tuple[float, float]


@dataclass(frozen=True)
class Layout:
    """Top-left corner of each card, each edge's route, and the drawing's size.

    ``routes[i][k]`` is the route of the edge from node i's k-th parent into node i's pill: an
    odd number of points, where points 2j -> 2j+1 are joined by a curve (a cubic Bézier whose
    control points lie halfway, level with each end) and 2j+1 -> 2j+2 by a straight line.
    """

    x: list[float]
    y: list[float]
    routes: list[list[list[Point]]]
    column_gap: float
    width: float
    height: float


def op_width(symbol: str) -> float:
    """Width of the pill that shows an operation's symbol (about 8 px a character)."""
    return max(32.0, 18 + 8 * len(symbol))


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


def edge_spread(k: int, count: int) -> float:
    """Vertical offset at the pill of the k-th of `count` edges into one operation."""
    return (k - (count - 1) / 2) * min(7.0, (OP_HEIGHT - 8) / count)


def spaced(layer: list[int], wanted: dict[int, float], half: list[float], n: int) -> list[float]:
    """Centres for the items of a column, in order, each at least half + half below the one
    above, as near their wanted centres as can be (least squares; lanes weigh LANE_WEIGHT).

    With offsets o (the room the items above need), z = centre - o must not decrease: an
    isotonic regression of wanted - o, solved by pooling adjacent violators.
    """
    offsets = [0.0]
    for above, below in itertools.pairwise(layer):
        offsets.append(offsets[-1] + half[above] + half[below])
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for i, offset in zip(layer, offsets, strict=True):
        weight = 1.0 if i < n else LANE_WEIGHT
        blocks.append([weight * (wanted[i] - offset), weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, weight, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += weight
            blocks[-1][2] += count
    out = []
    for total, weight, count in blocks:
        out += [total / weight] * int(count)
    return [z + offset for z, offset in zip(out, offsets, strict=True)]


def layout(graph: Graph, symbols: list[str]) -> Layout:
    """Place every value and route every edge (see the module docstring)."""
    n = len(graph.nodes)
    widest = max(
        (op_width(s) for s, v in zip(symbols, graph.nodes, strict=True) if v._parents), default=0
    )
    op_zone = OP_MARGIN + widest
    gap = op_zone + EDGE_ROOM
    column = columns(graph)
    parents = [graph.parents_of(i) for i in range(n)]

    # Items are the nodes 0..n-1, then the dummies: one per value and column its edges pass.
    item_column = list(column)
    item_parents: list[list[int]] = [[] for _ in range(n)]
    reach = [column[p] for p in range(n)]  # the last column before a value's farthest consumer
    for i in range(n):
        for p in parents[i]:
            reach[p] = max(reach[p], column[i] - 1)
    lanes: list[list[int]] = []  # lanes[p]: p's dummies, column by column after its own
    for p in range(n):
        lane: list[int] = []
        previous = p
        for c in range(column[p] + 1, reach[p] + 1):
            item_column.append(c)
            item_parents.append([previous])
            previous = len(item_column) - 1
            lane.append(previous)
        lanes.append(lane)

    def passed(p: int, i: int) -> list[int]:
        """The dummies of the edge p -> i: p's lane up to the column before i's."""
        return lanes[p][: column[i] - column[p] - 1]

    for i in range(n):
        for p in parents[i]:
            through = passed(p, i)
            item_parents[i].append(through[-1] if through else p)
    items = len(item_column)
    consumers: list[list[int]] = [[] for _ in range(items)]
    for i in range(items):
        for p in item_parents[i]:
            consumers[p].append(i)
    half = [(CARD_HEIGHT + ROW_GAP) / 2 if i < n else LANE / 2 for i in range(items)]
    layers: list[list[int]] = [[] for _ in range(max(column) + 1)]
    for i in range(items):
        layers[item_column[i]].append(i)

    middle = [0.0] * items  # the vertical centre of each item
    for layer in layers:
        below = 0.0
        for i in layer:
            middle[i] = below + half[i]
            below += 2 * half[i]
    # Alternate sweeps: pull each item towards the mean height of its neighbours on one side,
    # order the column by it, and space the column as near those heights as the room allows
    # (spaced), so edges run as straight as they can; a lane yields to a card.
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for layer in layers if forward else layers[::-1]:
            wanted = {}
            for i in layer:
                neighbours = item_parents[i] if forward else consumers[i]
                wanted[i] = (
                    sum(middle[j] for j in neighbours) / len(neighbours)
                    if neighbours
                    else middle[i]
                )
            layer.sort(key=lambda i: (wanted[i], middle[i]))
            for i, spot in zip(layer, spaced(layer, wanted, half, n), strict=True):
                middle[i] = spot

    top = min(middle[i] - CARD_HEIGHT / 2 if i < n else middle[i] - LANE / 2 for i in range(items))
    centre = [MARGIN + m - top for m in middle]

    # Column 0 holds only leaves, so it needs no pill zone before its cards.
    card_left = [MARGIN + c * (CARD_WIDTH + gap) for c in range(len(layers))]

    def entry(c: int) -> float:
        """Where edges into column c stop curving: the left edge of its pill zone."""
        return card_left[c] - op_zone

    routes: list[list[list[Point]]] = []
    for i in range(n):
        node_routes: list[list[Point]] = []
        pill_left = card_left[column[i]] - OP_MARGIN - op_width(symbols[i])
        for k, p in enumerate(parents[i]):
            points: list[Point] = [(card_left[column[p]] + CARD_WIDTH, centre[p])]
            for d in passed(p, i):
                c = item_column[d]
                points += [(entry(c), centre[d]), (card_left[c] + CARD_WIDTH, centre[d])]
            end_y = centre[i] + edge_spread(k, len(parents[i]))
            points += [(entry(column[i]), end_y), (pill_left, end_y)]
            node_routes.append(points)
        routes.append(node_routes)

    x = [card_left[column[i]] for i in range(n)]
    y = [centre[i] - CARD_HEIGHT / 2 for i in range(n)]
    width = max(x) + CARD_WIDTH + MARGIN
    height = max(max(y) + CARD_HEIGHT, max(centre[n:], default=0.0) + LANE / 2) + MARGIN
    return Layout(x=x, y=y, routes=routes, column_gap=gap, width=width, height=height)
