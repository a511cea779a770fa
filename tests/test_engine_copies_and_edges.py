"""Copies and pickles that must keep their gradients, huge integers as data, and anomaly mode
judging only what the computation uses."""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable

import pytest

from gradengine import Value, detect_anomaly, grad
from gradengine.losses import binary_cross_entropy_with_logits, hinge, l2, mse


def lecture_square(x: Value) -> Value:
    """x² made the lecture's way: Value(data, children, op) with a _backward closure."""
    out = Value(x.data**2, (x,), "sq")

    def _backward() -> None:
        x.grad += 2 * x.data * out.grad

    out._backward = _backward  # type: ignore[method-assign]
    return out


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_a_copied_lecture_node_backpropagates_or_says_why_not(
    copier: Callable[[Value], Value],
) -> None:
    x = Value(3.0)
    node = lecture_square(x)
    try:
        copied = copier(node)
    except (TypeError, ValueError) as error:
        assert "_backward" in str(error) or "lecture" in str(error), error
        return
    copied.backward()
    (parent,) = copied._parents
    assert parent.grad == 6.0  # d/dx x² = 2x at 3, on the copy's own parent
    if parent is not x:
        assert x.grad == 0.0  # a deep copy leaves the original graph alone


def graph_with_every_loss() -> tuple[Value, list[Value]]:
    a, b, c = Value(0.5), Value(-1.25), Value(2.0)
    loss = (
        mse([a * b, c], [1.0, 0.5])
        + hinge([a, b * c], [1, -1])
        + binary_cross_entropy_with_logits([a * c, b], [1.0, 0.25])
        + l2([a, b, c], 0.1)
    )
    return loss, [a, b, c]


@pytest.mark.parametrize("protocol", [pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_a_graph_with_every_built_in_loss_pickles_with_its_gradients(protocol: int) -> None:
    loss, leaves = graph_with_every_loss()
    restored, restored_leaves = pickle.loads(pickle.dumps((loss, leaves), protocol=protocol))
    assert restored.data == loss.data
    loss.backward()
    restored.backward()
    assert [v.grad for v in restored_leaves] == [v.grad for v in leaves]
    assert all(v.grad != 0.0 for v in leaves)  # each leaf is reached


def test_data_set_to_a_huge_integer_computes_as_inf() -> None:
    assert Value(10**400).data == math.inf  # the premise: the constructor rounds it to inf
    v = Value(1.0)
    v.data = 10**400
    assert (v * 2).data == math.inf


def test_anomaly_mode_judges_only_the_requested_derivative() -> None:
    # d/dx x^y = y x^(y-1) = 3 * 4 = 12 at x = -2, y = 3; d/dy = x^y ln x is nan, never requested
    with detect_anomaly():
        x, y = Value(-2.0), Value(3.0)
        (dx,) = grad(x**y, [x], create_graph=True)
    assert dx.data == 12.0
