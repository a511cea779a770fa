"""Graphs of 1,000,000 nodes: backward, repr, statistics and deallocation never recurse.

Each graph is built with the cyclic garbage collector paused: values make no reference cycles,
and with it running, a million new objects set off full collections over every live node
(building the chain takes 2-3x longer). The peak memory of each run is printed, and listed
after pytest's summary.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Iterator

import pytest
from _memory_report import MemoryReport, memory_report, peak_memory

from gradengine import Value, total
from gradengine.engine import topological_order

N = 1_000_000
RATE = 1.000001  # the chain multiplies by this N times: x * RATE^N = x * e^(1 - 5e-7)


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> MemoryReport:
    return memory_report(request.config)


@pytest.fixture
def paused_gc() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture(scope="module")
def chain(report: MemoryReport) -> tuple[Value, Value, Value]:
    """(x, a, y) with y = x * a * a * ... * a: 1,000,000 multiplications deep, a used N times."""
    x, a = Value(1.0, label="x"), Value(RATE, label="a")
    gc.disable()
    try:
        with peak_memory() as peak:
            y = x
            for _ in range(N):
                y = y * a
            y.backward()
    finally:
        gc.enable()
    report.add("a 1,000,000-node chain y = x * a * ... * a (build and backward)", peak)
    return x, a, y


@pytest.fixture(scope="module")
def terms() -> list[Value]:
    """1,000,000 leaves holding 0, 1, 2, ...: their sum is exact in floating point."""
    return [Value(float(i)) for i in range(N)]


def test_million_node_chain_backpropagates(chain: tuple[Value, Value, Value]) -> None:
    x, a, y = chain
    # y = x a^N: dy/dx = a^N, dy/da = N x a^(N-1); rounding over N products stays below 1e-9
    assert y.data == pytest.approx(math.pow(RATE, N), rel=1e-9)
    assert x.grad == pytest.approx(math.pow(RATE, N), rel=1e-9)
    assert a.grad == pytest.approx(N * math.pow(RATE, N - 1), rel=1e-9)


def test_repr_of_a_million_node_chain_does_not_walk_it(chain: tuple[Value, Value, Value]) -> None:
    y = chain[2]
    text = repr(y)
    assert len(text) < 200 and repr(y.data) in text
    assert len(str(y)) < 200


def test_topological_order_of_a_million_node_chain(
    chain: tuple[Value, Value, Value], paused_gc: None
) -> None:
    x, a, y = chain
    order = topological_order(y)
    assert len(order) == N + 2
    assert order[-1] is y and {id(order[0]), id(order[1])} == {id(x), id(a)}


def test_graph_stats_of_a_million_node_chain(chain: tuple[Value, Value, Value]) -> None:
    viz = pytest.importorskip("gradengine.viz")
    stats = viz.graph_stats(chain[2])
    assert (stats.nodes, stats.leaves, stats.depth) == (N + 2, 2, N)
    assert stats.ops == {"*": N}
    assert [id(v) for v in stats.shared] == [id(chain[1])]  # a, used N times


def test_explain_of_a_million_node_chain(chain: tuple[Value, Value, Value]) -> None:
    viz = pytest.importorskip("gradengine.viz")
    text = viz.explain(chain[2], max_steps=3)
    assert isinstance(text, str) and len(text) < 10_000
    assert f"{N - 3:,}" in text  # the steps left out are counted, not walked recursively


def test_million_term_chain_of_additions(terms: list[Value], report: MemoryReport) -> None:
    for t in terms:
        t.grad = 0.0
    gc.disable()
    try:
        with peak_memory() as peak:
            s = terms[0]
            for t in terms[1:]:
                s = s + t
            s.backward()
    finally:
        gc.enable()
    report.add("a 1,000,000-term chain of additions (build and backward)", peak)
    assert s.data == N * (N - 1) / 2
    assert all(t.grad == 1.0 for t in terms)


def test_million_term_fused_total(terms: list[Value], report: MemoryReport) -> None:
    for t in terms:
        t.grad = 0.0
    with peak_memory() as peak:
        s = total(terms)
        s.backward()
    report.add("a 1,000,000-term total() (build and backward)", peak)
    assert s.data == N * (N - 1) / 2
    assert len(s._parents) == N
    assert all(t.grad == 1.0 for t in terms)


def test_dropping_a_million_deep_chain_frees_it_without_the_cyclic_collector(
    paused_gc: None, report: MemoryReport
) -> None:
    leaf = Value(1.0)
    bottom = weakref.ref(leaf)
    with peak_memory() as peak:
        y = leaf
        for _ in range(N):
            y = -y
        y.backward()
        top = weakref.ref(y)
        assert leaf.grad == 1.0  # (-1)^N
        del leaf, y  # the deallocation is as deep as the chain: it must not recurse
    report.add("a 1,000,000-deep chain of negations (build, backward, drop)", peak)
    # Reference counting alone freed every node: the collector is off, and the leaf at the
    # bottom is only reachable through all N nodes above it.
    assert top() is None and bottom() is None
