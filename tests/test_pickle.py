"""Values, graphs and models survive pickle: checked against hand-derived math and gradcheck."""

from __future__ import annotations

import copy
import math
import pickle

import pytest

from gradengine import MLP, Operation, Value
from gradengine.gradcheck import gradcheck
from gradengine.value import ADD, RELU_WEIGHTED_SUM, TANH, power_by


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
