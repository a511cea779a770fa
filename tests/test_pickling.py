"""Values, graphs and models survive pickle: checked against hand-derived math and gradcheck."""

from __future__ import annotations

import copy
import math
import pickle
import random
import sys

import pytest

from gradengine import MLP, Operation, Value
from gradengine.engine import ADD, TANH, power_by, topological_order
from gradengine.fast import RELU_WEIGHTED_SUM
from gradengine.gradcheck import gradcheck
from gradengine.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2, mse


def round_trip(x: object) -> object:
    return pickle.loads(pickle.dumps(x))


def test_a_leaf_keeps_its_data_grad_and_label() -> None:
    v = Value(2.5, label="w")
    v.grad = -1.0
    back = round_trip(v)
    assert isinstance(back, Value) and back is not v
    assert (back.data, back.grad, back.label, back._op) == (2.5, -1.0, "w", "")


def test_the_built_in_operations_come_back_as_themselves() -> None:
    for op in (ADD, TANH, RELU_WEIGHTED_SUM, power_by(3.0), power_by(0.5), power_by(1 / 3)):
        assert round_trip(op) is op


def test_a_pickled_graph_backpropagates_as_the_math_says() -> None:
    x, y = Value(0.3), Value(-1.2)
    f = (x * y + x**2).tanh()
    g = round_trip(f)
    assert isinstance(g, Value)
    g.backward()
    t = math.tanh(0.3 * -1.2 + 0.3**2)
    assert g.data == t
    gx, gy = g._parents[0]._parents[0]._parents  # x * y: the copies of x and y
    assert math.isclose(gx.grad, (1 - t * t) * (-1.2 + 2 * 0.3), rel_tol=1e-15)
    assert math.isclose(gy.grad, (1 - t * t) * 0.3, rel_tol=1e-15)
    assert x.grad == y.grad == 0.0  # the originals are untouched


def test_a_pickled_model_computes_what_the_original_does_and_its_gradients_check() -> None:
    model = MLP(3, [4, 4, 1], seed=5, activation="tanh")
    model([0.1, 0.2, 0.3])  # its neurons' groups of parameters exist, and are pickled too
    twin = round_trip(model)
    assert isinstance(twin, MLP)
    x = [0.5, -1.0, 2.0]
    assert twin(x).data == model(x).data  # type: ignore[union-attr]
    assert gradcheck(lambda *p: twin(list(p)), [Value(v) for v in x])  # type: ignore[arg-type, return-value]
    twin.layers[0].neurons[0].w[0].data += 1.0
    assert twin(x).data != model(x).data  # type: ignore[union-attr]


def test_a_users_operation_of_lambdas_cannot_be_pickled_and_pickle_says_why() -> None:
    square = Operation("sq", lambda m, x: x * x, lambda m, x, out: (2 * x,))
    with pytest.raises((pickle.PicklingError, AttributeError), match="lambda"):
        pickle.dumps(square(Value(3.0)))


def test_deepcopy_keeps_sharing_the_operations() -> None:
    f = Value(2.0) ** 3
    assert copy.deepcopy(f)._operation is f._operation is power_by(3.0)


def chain(n: int) -> tuple[Value, Value]:
    """(x, y): y = x * 1.0001 * ... * 1.0001, n multiplications deep."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y


def leaf_of(root: Value, label: str) -> Value:
    (leaf,) = [v for v in topological_order(root) if v.label == label]
    return leaf


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_graph_far_deeper_than_the_recursion_limit_is_copied(how: str) -> None:
    n = 20 * sys.getrecursionlimit()
    x, y = chain(n)
    twin = round_trip(y) if how == "pickle" else copy.deepcopy(y)
    assert isinstance(twin, Value) and twin is not y and twin.data == y.data
    twin.backward()
    # dy/dx = 1.0001^n; the chain multiplies left to right, so allow its rounding.
    assert math.isclose(leaf_of(twin, "x").grad, 1.0001**n, rel_tol=1e-10)
    assert x.grad == 0.0  # the original is untouched


def test_micrograds_demo_loss_pickles_with_its_model_and_stays_one_graph() -> None:
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    xs = [[0.5 * i - 2.0, 1.0 - 0.25 * i] for i in range(20)]
    ys = [1 if i % 3 else -1 for i in range(20)]
    scores = [model(x) for x in xs]
    losses = [(1 + -y * s).relu() for y, s in zip(ys, scores)]  # type: ignore[operator]
    loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    twin_loss, twin_model, twin_scores = round_trip((loss, model, scores))  # type: ignore[misc]
    leaves = {id(v) for v in topological_order(twin_loss)}
    assert all(id(p) in leaves for p in twin_model.parameters())  # the model's own parameters
    assert [s.data for s in twin_scores] == [s.data for s in scores]  # type: ignore[union-attr]
    loss.backward()
    twin_loss.backward()
    assert [p.grad for p in twin_model.parameters()] == [p.grad for p in model.parameters()]


def test_copy_copy_is_a_new_node_over_the_same_parents() -> None:
    x, y = Value(2.0), Value(3.0)
    z = x * y
    twin = copy.copy(z)
    assert twin is not z and twin._parents == (x, y) and twin.data == 6.0
    twin.backward()
    assert (x.grad, y.grad) == (3.0, 2.0)


def unpicklable_square(x: Value) -> Value:
    """x² by an operation of lambdas made here, which pickle cannot save: a save fails at it."""
    return Operation("sq", lambda m, x: x * x, lambda m, x, out: (2 * x,))(x)


def test_a_failed_pickling_does_not_spoil_the_next() -> None:
    _, y = chain(3000)
    top = unpicklable_square(y)
    for _ in range(3000):
        top = top * 1.0001
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(top)  # halfway down its list, an operation of lambdas cannot be pickled
    for graph in (y, chain(3000)[1]):  # below the failure, and another graph
        assert round_trip(graph).data == graph.data  # type: ignore[attr-defined]


def graph_of_every_loss(x: Value, y: Value) -> Value:
    """Each built-in loss over x and y, with labels, targets and classes as numbers."""
    a, b = x * y, x - y
    return (
        mse([a, b], [0.5, -1.0])
        + hinge([a, b], [1, -1])
        + binary_cross_entropy_with_logits([a, b], [1.0, 0.25])
        + cross_entropy([[a, b, 0.3], [b, a, x]], [2, 0])
        + l2([x, y], alpha=0.1)
    )


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_graph_of_the_built_in_losses_round_trips(how: str) -> None:
    x, y = Value(0.7), Value(-0.4)
    loss = graph_of_every_loss(x, y)
    twin = round_trip(loss) if how == "pickle" else copy.deepcopy(loss)
    assert isinstance(twin, Value) and twin.data == loss.data
    loss.backward()
    twin.backward()
    leaves = [v for v in topological_order(twin) if not v._parents and v.data in (0.7, -0.4)]
    tx, ty = sorted(leaves, key=lambda v: v.data, reverse=True)
    assert (tx.grad, ty.grad) == (x.grad, y.grad)
    # and those gradients are the loss's, by central differences
    h = 1e-6
    for leaf, k in ((x, 0), (y, 1)):
        up, down = [0.7, -0.4], [0.7, -0.4]
        up[k] += h
        down[k] -= h
        slope = (
            graph_of_every_loss(Value(up[0]), Value(up[1])).data
            - graph_of_every_loss(Value(down[0]), Value(down[1])).data
        ) / (2 * h)
        assert leaf.grad == pytest.approx(slope, rel=1e-6)
