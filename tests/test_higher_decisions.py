"""Decisions in derivatives as nodes: m.step, comparisons of m.real(x), & | ~, and m.where.

With m = VALUES (gradients of gradients) each decision a derivative makes is a node of the
gradient's graph, so that a compiled replay decides again; with m = floats the same derivative
functions give the very floats eager mode records. Oracles: Python's own comparisons and
conditional expressions, hand-derived derivatives, and the float formulas written out here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import pytest

from gradengine import Value, grad
from gradengine.engine import POW, RELU, floats
from gradengine.fast import weighted_sum
from gradengine.higher import STEP, WHERE, Condition
from gradengine.higher import VALUES as m
from gradengine.losses import hinge

NUMBERS = [-2.0, -0.0, 0.0, 0.5, 1.0, math.inf, -math.inf, math.nan]
COMPARISONS: list[tuple[str, Callable[[object, object], object]]] = [
    ("less", operator.lt),
    ("less_equal", operator.le),
    ("greater", operator.gt),
    ("greater_equal", operator.ge),
    ("equal", operator.eq),
    ("not_equal", operator.ne),
]


def same(a: float, b: float) -> bool:
    """a and b are the same float, sign of zero and nan included"""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)


@pytest.mark.parametrize("x", NUMBERS)
def test_step_of_a_value_is_a_node_with_no_slope(x: float) -> None:
    """1[x > 0], and 1 at nan (relu's slope); d step / dx = 0."""
    node = m.step(Value(x))
    assert isinstance(node, Value) and node._op == "step"
    assert node.data == (1.0 if x > 0 or x != x else 0.0)
    assert STEP.derivatives(floats, x, node.data) == (0.0,)  # what a compiled replay uses
    assert node._local_grads == ()  # eager mode: it passes nothing back (not even 0 * inf)
    assert m.step(x) == node.data  # a number stays a number


@pytest.mark.parametrize(("name", "compare"), COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_of_values_are_condition_nodes(
    name: str, compare: Callable[[object, object], object]
) -> None:
    for a in NUMBERS:
        for b in NUMBERS:
            want = 1.0 if compare(a, b) else 0.0  # Python's comparison of the floats
            for condition in (
                compare(m.real(Value(a)), b),  # with a number
                compare(m.real(Value(a)), m.real(Value(b))),  # with another Value
                compare(a, m.real(Value(b))),  # reflected
            ):
                assert isinstance(condition, Condition)
                assert condition.node.data == want, (name, a, b)
                assert condition.node._local_grads == ()  # passes nothing back
            assert compare(m.real(a), b) == compare(a, b)  # numbers compare as numbers
    assert compare(m.real(Value(1.0)), 2.0).node._op == name


def test_and_or_not_follow_pythons_truth_tables() -> None:
    for p in (False, True):
        for q in (False, True):
            cp = m.real(Value(1.0 if p else -1.0)) > 0
            cq = m.real(Value(1.0 if q else -1.0)) > 0
            assert (cp & cq).node.data == float(p and q)
            assert (cp | cq).node.data == float(p or q)
            assert (~cp).node.data == float(not p)
            for mixed in (cp & q, q & cp):  # a plain bool with a condition
                assert bool(mixed.node.data if isinstance(mixed, Condition) else mixed) == (p and q)
            for mixed in (cp | q, q | cp):
                assert bool(mixed.node.data if isinstance(mixed, Condition) else mixed) == (p or q)


@pytest.mark.parametrize("other", [math.inf, -math.inf, math.nan, -0.0, 3.0])
def test_where_picks_a_branch_bit_for_bit_and_sends_its_gradient_there(other: float) -> None:
    """where(c, a, b) is a or b itself (the other may be inf or nan: nothing is multiplied);
    d/da = 1[c], d/db = 1 - 1[c], d/dc = 0, and backward() sends the gradient, even inf, to
    the branch taken only: the other branch and the condition get nothing, not 0 * inf."""
    for c_data, taken in ((1.0, "a"), (-1.0, "b")):
        for upstream in (2.0, math.inf):
            c, a, b = Value(c_data), Value(-0.0), Value(other)
            where = m.where(m.real(c) > 0, a, b)
            want = a.data if taken == "a" else b.data
            assert where._op == "where" and same(where.data, want)
            (where * upstream).backward()
            grads = {"a": a.grad, "b": b.grad, "c": c.grad}
            assert grads.pop(taken) == upstream and set(grads.values()) == {0.0}
            assert WHERE.derivatives(floats, a.data, b.data, c_data, want) == (
                (1.0, 0.0, 0.0) if taken == "a" else (0.0, 1.0, 0.0)
            )
    assert m.where(True, 1.0, 2.0) == 1.0 and m.where(False, 1.0, 2.0) == 2.0


def test_derivatives_under_values_record_their_decisions() -> None:
    """relu's, a ReLU neuron's, the hinge's and x ** y's derivatives hold decision nodes."""

    def ops_under(g: Value) -> set[str]:
        seen, todo = set(), [g]
        while todo:
            node = todo.pop()
            seen.add(node._op)
            todo += node._parents
        return seen

    x, w, b, y = Value(0.5), Value(2.0), Value(0.1), Value(3.0)
    cases = [
        (x.relu(), x, {"step"}),
        (weighted_sum(b, [w], [x], relu=True), w, {"where", "less_equal"}),
        (hinge([w * x], [1]), w, {"where", "greater"}),
        (x**y, x, {"where", "equal"}),
        (x**y, y, {"where", "and", "equal", "greater_equal"}),
    ]
    for out, wrt, decisions in cases:
        (g,) = grad(out, [wrt], create_graph=True)
        assert decisions <= ops_under(g), (out._op, ops_under(g))


EDGES = [-2.5, -1.0, -0.0, 0.0, 1e-310, 0.5, 1.0, 2.0, math.inf, -math.inf, math.nan]


def test_pow_derivatives_with_floats_are_the_formulas_of_eager_mode() -> None:
    """d/dx = y x^(y-1), 0 at y = 0; d/dy = x^y ln x, 0 at x = 0 <= y: the same floats."""
    for x in EDGES:
        for y in EDGES:
            out = floats.power(x, y)
            dx = 0.0 if y == 0 else y * floats.power(x, y - 1.0)
            dy = 0.0 if x == 0 and y >= 0 else out * floats.log(x)
            got = POW.derivatives(floats, x, y, out)
            assert same(got[0], dx) and same(got[1], dy), (x, y)


def test_relu_derivatives_with_floats_are_eager_modes() -> None:
    """RELU: step(x); a ReLU neuron: (1, x, w) when active (y > 0 or nan), else all 0.0, even
    where an input is inf (an inactive neuron passes nothing back, not 0 * inf)."""
    from gradengine.fast.neurons import RELU_WEIGHTED_SUM

    for x in EDGES:
        assert RELU.derivatives(floats, x, RELU.value(floats, x)) == (floats.step(x),)
        for wx in ((2.0, x), (math.inf, x), (x, -3.0)):
            w_, x_ = wx
            node = weighted_sum(Value(0.25), [Value(w_)], [Value(x_)], relu=True)
            got = RELU_WEIGHTED_SUM.derivatives(floats, 0.25, w_, x_, node.data)
            active = not node.data <= 0
            want = (1.0, x_, w_) if active else (0.0, 0.0, 0.0)
            assert all(same(a, b) for a, b in zip(got, want, strict=True)), (wx, got)
            assert all(same(a, b) for a, b in zip(got, node._local_grads, strict=True))


def test_hinge_derivatives_with_floats_are_eager_modes() -> None:
    """d/ds_i = -y_i / n where 1 - y_i s_i > 0, else 0 (margins at 0 and nan included)."""
    scores = [Value(s) for s in (0.5, 1.0, -1.0, 3.0, math.nan)]
    labels = [1, 1, -1, -1, 1]
    loss = hinge(scores, labels)
    got = loss._operation.derivatives(floats, *[s.data for s in scores], loss.data)
    want = [-0.2, 0.0, 0.0, 0.2, 0.0]  # margins 0.5, 0, 0, 4, nan
    assert list(got) == want == list(loss._local_grads)


def test_a_second_derivative_through_a_decision_agrees_with_finite_differences() -> None:
    """d/dw of (d relu(w x) / dx)^2 = d/dw (w 1[wx > 0])^2 = 2 w 1[wx > 0], on both sides."""
    for x0 in (1.5, -1.5):
        w, x = Value(0.7), Value(x0)
        (dx,) = grad((w * x).relu(), [x], create_graph=True)
        (dw,) = grad(dx * dx, [w])
        h = 1e-6
        fd = ((0.7 + h) ** 2 * (x0 * (0.7 + h) > 0) - (0.7 - h) ** 2 * (x0 * (0.7 - h) > 0)) / (
            2 * h
        )
        assert dw.data == pytest.approx(fd, rel=1e-6, abs=1e-9)
        assert dw.data == (1.4 if x0 > 0 else 0.0)


def test_an_infinite_gradient_does_not_leak_through_a_decision() -> None:
    """loss = w * d relu(x)/dx = w 1[x > 0] at x = -1, w = inf: d loss/dx = 0 (the step is flat
    away from 0) and d loss/dw = 1[x > 0] = 0; inf * 0 = nan must not reach x."""
    x, w = Value(-1.0), Value(math.inf)
    (dx,) = grad(x.relu(), [x], create_graph=True)
    loss = w * dx
    loss.backward()
    assert (x.grad, w.grad) == (0.0, 0.0)
    (gx,) = grad(loss, [x], allow_unused=True)
    assert gx.data == 0.0
