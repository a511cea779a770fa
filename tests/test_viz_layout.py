"""The page's layout: no edge passes through a box, checked point by point along every route."""

from __future__ import annotations

import itertools

import pytest
from graph_strategies import EngineBackend, graphs, run
from hypothesis import given, settings

from gradengine import MLP
from gradengine.cli.examples import EXAMPLES
from gradengine.engine import Value
from gradengine.viz.dot import op_symbol
from gradengine.viz.graph import build_graph
from gradengine.viz.html import PageNames, constant_text, page_data, with_page_names
from gradengine.viz.layout import (
    CARD_HEIGHT,
    CARD_WIDTH,
    OP_HEIGHT,
    OP_MARGIN,
    Layout,
    layout,
    op_width,
    spaced,
)

Box = tuple[float, float, float, float]  # left, top, right, bottom


def boxes(graph, place: Layout) -> list[tuple[str, Box]]:
    """Every card and every operation pill, named for the failure message."""
    out = []
    for i, node in enumerate(graph.nodes):
        x, y = place.x[i], place.y[i]
        out.append((f"card {graph.names[i]}", (x, y, x + CARD_WIDTH, y + CARD_HEIGHT)))
        if node._parents:
            right = x - OP_MARGIN
            left = right - op_width(op_symbol(node._op))
            top = y + CARD_HEIGHT / 2 - OP_HEIGHT / 2
            out.append((f"pill of {graph.names[i]}", (left, top, right, top + OP_HEIGHT)))
    return out


def route_points(points, per_curve: int = 40):
    """Points along a route, drawn as the page draws it (curve, line, curve, line, ...)."""
    out = [points[0]]
    for j in range(1, len(points)):
        (sx, sy), (ex, ey) = points[j - 1], points[j]
        if j % 2 == 1:  # cubic Bézier with both control points at mid-x, level with each end
            mx = (sx + ex) / 2
            for k in range(1, per_curve + 1):
                t = k / per_curve
                a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
                out.append((a * sx + (b + c) * mx + d * ex, a * sy + b * sy + c * ey + d * ey))
        else:
            for k in range(1, 11):
                out.append((sx + (ex - sx) * k / 10, sy + (ey - sy) * k / 10))
    return out


def crossings(root: Value) -> list[str]:
    """'edge a -> b enters card c at (x, y)' for every edge point strictly inside a box."""
    graph = build_graph(root)
    symbols = [op_symbol(node._op) for node in graph.nodes]
    place = layout(graph, symbols)
    found = []
    shapes = boxes(graph, place)
    for i in range(len(graph.nodes)):
        for k, p in enumerate(graph.parents_of(i)):
            for x, y in route_points(place.routes[i][k]):
                for what, (left, top, right, bottom) in shapes:
                    if left + 0.5 < x < right - 0.5 and top + 0.5 < y < bottom - 0.5:
                        found.append(
                            f"edge {graph.names[p]} -> {graph.names[i]} enters {what} "
                            f"at ({x:.0f}, {y:.0f})"
                        )
                        break
    return found


def test_routes_start_at_the_parent_card_and_end_at_the_pill():
    graph = build_graph(EXAMPLES["expression"].build())
    place = layout(graph, [op_symbol(node._op) for node in graph.nodes])
    for i, node in enumerate(graph.nodes):
        assert len(place.routes[i]) == len(node._parents)
        for k, p in enumerate(graph.parents_of(i)):
            points = place.routes[i][k]
            assert len(points) % 2 == 1  # start, then (curve to, line to) pairs
            assert points[0] == (place.x[p] + CARD_WIDTH, place.y[p] + CARD_HEIGHT / 2)
            assert points[-1][0] < place.x[i] - OP_MARGIN  # the pill's left edge
            assert abs(points[-1][1] - (place.y[i] + CARD_HEIGHT / 2)) < OP_HEIGHT / 2


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_no_edge_of_an_example_passes_through_a_box(name):
    assert crossings(EXAMPLES[name].build()) == []


def test_the_edge_from_s_into_the_product_goes_around_e():
    # The case the issue reported: s (column 1) feeds e*s (column 3), past e in column 2.
    assert crossings(EXAMPLES["expression"].build()) == []
    graph = build_graph(EXAMPLES["expression"].build())
    place = layout(graph, [op_symbol(node._op) for node in graph.nodes])
    es = [graph.names[i] for i in range(len(graph.nodes))].index("es")
    assert any(len(points) > 2 for points in place.routes[es])  # it has a waypoint


def test_cards_in_a_column_never_overlap():
    graph = build_graph(EXAMPLES["expression"].build())
    place = layout(graph, [op_symbol(node._op) for node in graph.nodes])
    cards = sorted(zip(place.x, place.y))
    for (x1, y1), (x2, y2) in itertools.pairwise(cards):
        if x1 == x2:
            assert y2 - y1 >= CARD_HEIGHT


@settings(max_examples=150, deadline=None)
@given(graph=graphs(max_leaves=4, max_steps=14))
def test_no_edge_of_a_random_graph_passes_through_a_box(graph):
    root = run(graph, [Value(x) for x in graph.leaves], EngineBackend())[-1]
    assert crossings(root) == []


def test_a_wide_fan_in_and_a_long_skip_stay_clear():
    x = Value(1.0, label="x")
    chain = x
    for _ in range(6):
        chain = (chain * 1.5).tanh()
    many = [Value(float(k), label=f"w{k}") for k in range(7)]
    out = chain + x + sum(w * x for w in many)  # x reaches the end from every column
    assert crossings(out) == []


def test_the_edges_out_of_one_value_share_one_lane():
    x = Value(2.0, label="x")
    y = x
    for _ in range(30):
        y = (y * x).tanh()  # x feeds every other column: one lane through all of them
    graph = build_graph(y)
    place = layout(graph, [op_symbol(node._op) for node in graph.nodes])
    assert crossings(y) == []
    # every edge out of x runs along the longest one's waypoints, then turns off to its pill
    leaving_x = [
        place.routes[i][k][:-2]
        for i in range(len(graph.nodes))
        for k, p in enumerate(graph.parents_of(i))
        if graph.names[p] == "x"
    ]
    longest = max(leaving_x, key=len)
    # x * x, then 29 more products; the last product sits in column 59, so 58 columns are passed
    assert len(leaving_x) == 2 + 29 and len(longest) == 1 + 2 * 58
    assert all(route == longest[: len(route)] for route in leaving_x)


def test_a_long_bus_does_not_push_the_cards_into_a_staircase():
    x = Value(2.0, label="x")
    y = x
    for _ in range(30):
        y = (y * x).tanh()
    graph = build_graph(y)
    place = layout(graph, [op_symbol(node._op) for node in graph.nodes])
    assert max(place.y) - min(place.y) < CARD_HEIGHT  # the chain stays on one row


PITCH = CARD_HEIGHT + 22  # two cards' centres, at the least (ROW_GAP = 22)
HALF = [PITCH / 2, PITCH / 2, 8.0]  # items 0 and 1 are cards, item 2 a lane (n = 2)
SPACED = [
    ("apart already", [0, 1], {0: 0.0, 1: 200.0}, [0.0, 200.0]),
    (
        "two cards on one spot share it",
        [0, 1],
        {0: 100.0, 1: 100.0},
        [100 - PITCH / 2, 100 + PITCH / 2],
    ),
    (
        "a lane yields to a card",
        [0, 2],
        {0: 100.0, 2: 100.0},
        [100 - 0.05 / 1.05 * (PITCH / 2 + 8), 100 + 1 / 1.05 * (PITCH / 2 + 8)],
    ),
]


@pytest.mark.parametrize(("what", "layer", "wanted", "centres"), SPACED, ids=[s[0] for s in SPACED])
def test_spaced_places_a_column_as_near_its_wanted_centres_as_room_allows(
    what, layer, wanted, centres
):
    assert spaced(layer, wanted, HALF, 2) == pytest.approx(centres)


CONSTANTS = [(2.0, "2"), (-1.0, "-1"), (0.5, "0.5"), (1e20, "1e+20"), (1 / 3, "0.333333")]


@pytest.mark.parametrize(("value", "name"), CONSTANTS, ids=[c[1] for c in CONSTANTS])
def test_a_constant_is_named_by_its_value(value, name):
    assert constant_text(value) == name


def test_constants_on_the_page_show_their_value_not_a_position():
    x = Value(3.0, label="x")
    root = x * 2 + 1
    graph = with_page_names(build_graph(root))
    data = page_data(graph)
    assert [n["name"] for n in data["nodes"] if not n["parents"]] == ["x", "2", "1"]
    assert [n["name"] for n in data["nodes"] if n["parents"]] == ["v2", "v4"]  # as before
    assert data["steps"][1]["lines"] == ["v2 = x * 2 = 3.0 * 2.0 = 6.0"]  # the panel says 2 too
    assert data["steps"][-1]["lines"][-1].strip() == "grad 1 = 1.0, received from v4"


def test_parameters_are_named_by_their_neuron_not_as_constants():
    # The leaves of a neuron (weights, biases at 0) are no constants: they are named by role.
    model = MLP(2, [2, 1], seed=0)
    out = model([Value(0.5, label="x1"), Value(-1.0, label="x2")]) * 2 + Value(0.123456789)
    graph = with_page_names(build_graph(out))
    leaves = [graph.names[i] for i, node in enumerate(graph.nodes) if not node._parents]
    assert "2" in leaves  # the constant of * 2
    assert {"x1", "x2"} <= set(leaves)
    parameters = {f"L1N{k}.{p}" for k in (1, 2) for p in ("b", "w1", "w2")}
    parameters |= {"L2N1.b", "L2N1.w1", "L2N1.w2"}
    others = [name for name in leaves if name not in ("2", "x1", "x2")]
    assert set(others) - parameters == {f"v{len(graph.nodes) - 2}"}  # the random 0.123456789
    assert parameters <= set(others)


def test_a_constant_that_reads_like_a_label_gets_its_position():
    two = Value(5.0, label="2")
    graph = build_graph(two * 2)
    names = PageNames(graph.nodes)
    assert sorted(names[i] for i in range(2)) == ["2", "2#1"]
