"""The NumPy backend of compiled mode: every standard operation runs as an array operation, a
fallback to floats is reported with its reason, and its matrix path keeps eager mode's nan."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from gradengine import MLP, Operation, Value, total
from gradengine.compile import compile_graph
from gradengine.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2, mse

np = pytest.importorskip("numpy", reason='the NumPy backend needs numpy: pip install ".[bench]"')

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def standard_graph(seed: int) -> tuple[Value, list[Value]]:
    """A loss using every standard operation, a network of each activation, total and the losses,
    at points of both signs (and a ReLU at exactly 0)."""
    rng = random.Random(seed)
    xs = [Value(rng.uniform(0.2, 2.0) * rng.choice((-1, 1))) for _ in range(6)]
    ys = [Value(rng.uniform(0.5, 2.0)) for _ in range(6)]
    zero = Value(0.0)
    terms = [zero.relu()]
    for x, y in zip(xs, ys):
        terms += [x + y, x - y, x * y, x / y, -x, y**x, y**2.5, x**2, x.relu(), x.tanh()]
        terms += [x.exp(), y.log(), x.sigmoid(), (-x).sigmoid()]
    for k, activation in enumerate(ACTIVATIONS):
        model = MLP(2, [3, 2], seed=k, activation=activation)
        for x, y in zip(xs[:3], ys[:3]):
            terms += model([x, y])  # type: ignore[arg-type]
    loss = (
        total(terms)
        + mse(xs[:3], ys[:3])
        + hinge(xs[:3], [1, -1, 1])
        + binary_cross_entropy_with_logits(xs[3:], [1.0, 0.0, 0.25])
        + l2(ys, 0.1)
        + cross_entropy([[xs[0], ys[0]], [xs[1], ys[1]]], [0, 1])
    )
    return loss, [*xs, *ys, zero]


STANDARD_NAMES = [
    "+",
    "-",
    "*",
    "/",
    "neg",
    "**",
    "**2.5",
    "**2",
    "ReLU",
    "tanh",
    "exp",
    "log",
    "sigmoid",
    "relu(weighted_sum)",
    "tanh(weighted_sum)",
    "sigmoid(weighted_sum)",
    "weighted_sum",
    "sum",
    "mse",
    "hinge",
    "bce_logits",
    "l2",
    "cross_entropy",
]


@pytest.mark.parametrize("seed", range(3))
def test_the_standard_operations_run_as_array_operations(seed: int) -> None:
    loss, leaves = standard_graph(seed)
    program = compile_graph(loss, leaves, backend="numpy", allow_unused=True)
    text = str(program)
    assert program._engine.fallbacks() == []
    assert "fell back" not in text and "node by node" not in text
    counted = {line.split()[0] for line in text.splitlines()[1:] if "  x" in line}
    assert set(STANDARD_NAMES) <= counted, set(STANDARD_NAMES) - counted  # the graph has them all


def swapped_sigmoid(x: Any) -> Any:
    """floats.sigmoid's two branches swapped: e^x / (1 + e^x) for x >= 0 overflows to nan."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(x >= 0, np.exp(x) / (1 + np.exp(x)), 1 / (1 + np.exp(-x)))


def test_a_wrong_array_rule_falls_back_and_print_says_which_and_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradengine.compile import vector

    x = Value(800.0)  # e^800 overflows: the swapped branches give nan where eager gives 1.0
    loss = x.sigmoid() * 2.0 + x.tanh()
    monkeypatch.setattr(vector.NUMPY_M, "sigmoid", staticmethod(swapped_sigmoid))
    program = compile_graph(loss, [x], backend="numpy")
    text = str(program)
    assert "1 of them fell back to floats, node by node" in text
    assert "sigmoid x1: its array value nan is not eager mode's 1.0" in text
    assert program._engine.fallbacks() == [
        line.strip() for line in text.splitlines() if line.startswith("    sigmoid")
    ]
    assert program.run() == pytest.approx(loss.data)  # the fallback still computes right


def test_a_wrong_array_derivative_falls_back_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradengine.compile import vector

    x = Value(0.0)
    loss = x.relu() * 3.0
    # ReLU's derivative at exactly 0 is 0 (PyTorch's convention): a step that says 1 there
    monkeypatch.setattr(
        vector.NUMPY_M, "step", staticmethod(lambda t: np.where(np.asarray(t) < 0, 0.0, 1.0))
    )
    program = compile_graph(loss, [x], backend="numpy")
    assert "ReLU x1: its array derivative in input 1, 1.0, is not eager mode's 0.0" in str(program)


SIN = Operation("sin", lambda m, x: math.sin(x), lambda m, x, out: (math.cos(x),))


def test_an_operation_written_for_floats_is_reported_with_its_reason() -> None:
    x = Value(0.5)
    program = compile_graph(SIN(x) * 2.0, [x], backend="numpy")
    (line,) = program._engine.fallbacks()
    assert line.startswith("sin x1: it fails on arrays (TypeError:")
    assert line in str(program)
    assert program.run() == 2 * math.sin(0.5)
    assert x.grad == 2 * math.cos(0.5)


def test_the_matrix_path_keeps_eager_modes_nan_for_inactive_relus() -> None:
    """Finite inputs and weights, an inactive ReLU neuron, an infinite gradient from above:
    eager mode multiplies 0 by inf and gets nan (IEEE-754); compiled mode must too."""

    def build() -> tuple[Value, list[Value], list[Value]]:
        model = MLP(2, [2, 1], seed=0)
        layer = model.layers[0]
        for neuron, bias in zip(layer.neurons, (-5.0, 1.0)):  # the first is off, the second on
            neuron.w[0].data, neuron.w[1].data, neuron.b.data = 1.0, 1.0, bias
        inputs = [[Value(0.5), Value(0.25)], [Value(1.0), Value(-0.5)]]
        big = Value(math.inf)  # d(loss)/d(output) infinite: output * inf
        loss = total([model(x) * big for x in inputs])  # type: ignore[operator]
        return loss, model.parameters(), [v for x in inputs for v in x]

    loss, params, inputs = build()
    loss.backward()
    eager = [p.grad for p in params] + [x.grad for x in inputs]
    assert any(math.isnan(g) for g in eager)  # the premise: 0 * inf in the inactive neuron

    loss, params, inputs = build()
    program = compile_graph(loss, params, inputs, backend="numpy")
    assert "as a matrix product" in str(program)  # the path under test
    program.run()
    compiled = [p.grad for p in params] + [x.grad for x in inputs]
    for k, (e, c) in enumerate(zip(eager, compiled, strict=True)):
        assert (math.isnan(e) and math.isnan(c)) or e == c, (k, e, c)
