"""Edge cases with hand-derived answers, run without PyTorch: powers at 0, the sign of a zero
gradient, BCE's target derivative in its higher-order form, Hessian-vector products, the hinge's
kink in every backward pass, and the class of a score of exactly 0."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from gradengine import MLP, Value, grad, hessian, hvp
from gradengine.cli.train import classes, classes_of_scores, predict
from gradengine.compile import compile_graph
from gradengine.losses import binary_cross_entropy_with_logits, hinge


def backends() -> list[str]:
    """The compiled backends to run: python always, numpy where it can be imported."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return ["python"]
    return ["python", "numpy"]


# -- powers at 0 ------------------------------------------------------------------------------
# d/dx x^y = y x^(y-1): at y = 0 the factor y is 0, and the product is taken as 0 (not 0 * inf).
# d/dy x^y = x^y ln x: at x = 0, y >= 0, taken as 0 (x^y ln x -> 0 as x -> 0+ for y > 0).
# These are PyTorch's conventions, derived here by hand.


def test_a_number_0_to_the_power_of_a_value_0_has_gradient_0() -> None:
    y = Value(0.0)
    out = 0**y
    out.backward()
    assert out.data == 1.0
    assert y.grad == 0.0
    (dy,) = grad(0 ** (z := Value(0.0)), [z], create_graph=True)
    assert dy.data == 0.0


def test_a_value_0_to_the_power_of_a_value_0_has_gradients_0_and_0() -> None:
    x, y = Value(0.0), Value(0.0)
    out = x**y
    out.backward()
    assert out.data == 1.0
    assert (x.grad, y.grad) == (0.0, 0.0)
    a, b = Value(0.0), Value(0.0)
    assert [g.data for g in grad(a**b, [a, b], create_graph=True)] == [0.0, 0.0]


# -- the sign of zero ---------------------------------------------------------------------------


def test_the_gradient_of_x_times_x_at_minus_0_is_minus_0() -> None:
    # d/dx x*x = x + x = -0.0 + -0.0 = -0.0 (IEEE-754): a grad that starts at +0.0 would give +0.0
    x = Value(-0.0)
    (x * x).backward()
    assert x.grad == 0.0 and math.copysign(1.0, x.grad) == -1.0
    y = Value(-0.0)
    (y * y * 1.0).backward()  # through an interior node too
    assert math.copysign(1.0, y.grad) == -1.0


# -- BCE's derivative in its target, in the form grad(create_graph=True) differentiates ----------


def bce_by_hand(xs: list[float], ts: list[float]) -> float:
    """mean ln(1 + e^x) - t x, written out with math."""
    return sum(math.log1p(math.exp(x)) - t * x for x, t in zip(xs, ts)) / len(xs)


def test_bce_target_derivative_in_the_higher_order_form() -> None:
    xs, ts = [0.7, -1.3, 2.1], [0.2, 0.9, 0.5]
    n = len(xs)
    logits, targets = [Value(x) for x in xs], [Value(t) for t in ts]
    loss = binary_cross_entropy_with_logits(logits, targets)
    d_targets = grad(loss, targets, create_graph=True)
    # d/dt_i = -x_i / n by hand, and by central differences of the loss written with math
    h = 1e-6
    for i, d in enumerate(d_targets):
        assert d.data == pytest.approx(-xs[i] / n, rel=1e-12)
        up = [t + h if j == i else t for j, t in enumerate(ts)]
        down = [t - h if j == i else t for j, t in enumerate(ts)]
        numeric = (bce_by_hand(xs, up) - bce_by_hand(xs, down)) / (2 * h)
        assert d.data == pytest.approx(numeric, rel=1e-6)
    # d/dx_j (d/dt_i) = -1/n where i = j, else 0: the derivative is a graph in the logits
    for i, d in enumerate(d_targets):
        second = grad(d, logits, allow_unused=True)
        assert [g.data for g in second] == pytest.approx(
            [-1 / n if j == i else 0.0 for j in range(n)]
        )
        assert [g.data for g in grad(d, targets, allow_unused=True)] == [0.0] * n


# -- Hessian-vector products --------------------------------------------------------------------


def test_hvp_of_x_squared_y() -> None:
    # f = x^2 y: H = [[2y, 2x], [2x, 0]] = [[4, 2], [2, 0]] at (1, 2), so H (1, 0) = (4, 2)
    def f(x: Value, y: Value) -> Value:
        return x * x * y

    assert hvp(f, [1.0, 2.0], [1.0, 0.0]) == [4.0, 2.0]
    assert hvp(f, [1.0, 2.0], [0.0, 1.0]) == [2.0, 0.0]
    assert hessian(f, [1.0, 2.0]) == [[4.0, 2.0], [2.0, 0.0]]


def random_function(rng: random.Random) -> Callable[..., Value]:
    """A random smooth function of three inputs."""
    c = [rng.uniform(-1.5, 1.5) for _ in range(6)]

    def f(x: Any, y: Any, z: Any) -> Any:
        return (
            c[0] * x * x * y
            + (c[1] * y * z).tanh()
            + (c[2] * x).exp() * z
            + c[3] * y**3
            + (c[4] * x + c[5] * z).sigmoid() * x
        )

    return f


@pytest.mark.parametrize("seed", range(10))
def test_hvp_is_the_hessian_times_v_and_the_hessian_is_the_gradients_slope(seed: int) -> None:
    rng = random.Random(seed)
    f = random_function(rng)
    xs = [rng.uniform(-1, 1) for _ in range(3)]
    v = [rng.uniform(-1, 1) for _ in range(3)]
    h_matrix = hessian(f, xs)
    assert hvp(f, xs, v) == pytest.approx(
        [sum(h_matrix[i][j] * v[j] for j in range(3)) for i in range(3)], rel=1e-12, abs=1e-14
    )

    def gradient(at: list[float]) -> list[float]:
        leaves = [Value(a) for a in at]
        return [g.data for g in grad(f(*leaves), leaves)]

    step = 1e-5
    for j in range(3):
        up = gradient([x + step if k == j else x for k, x in enumerate(xs)])
        down = gradient([x - step if k == j else x for k, x in enumerate(xs)])
        for i in range(3):
            assert h_matrix[i][j] == pytest.approx((up[i] - down[i]) / (2 * step), abs=1e-6)


# -- the hinge's kink, through every backward pass ----------------------------------------------

# (score, label, d loss / d score): max(0, 1 - y s) has its kink at a margin 1 - y s of exactly 0,
# where the derivative is the flat side's, 0 (as relu's at 0); inside the margin it is -y.
HINGE_KINK = [
    (1.0, 1, 0.0),
    (-1.0, -1, 0.0),
    (1.0 - 2**-20, 1, -1.0),
    (-1.0 + 2**-20, -1, 1.0),
    (1.0 + 2**-20, 1, 0.0),
    (0.25, -1, 1.0),
]


def hinge_graph(score: float, label: int) -> tuple[Value, Value]:
    s = Value(score)
    return hinge([s * 1.0], [label]), s  # an interior node below the loss, as a model's output


@pytest.mark.parametrize(("score", "label", "slope"), HINGE_KINK)
def test_the_hinge_kink_agrees_in_backward_grad_and_compiled_mode(
    score: float, label: int, slope: float
) -> None:
    loss, s = hinge_graph(score, label)
    loss.backward()
    assert s.grad == slope

    loss, s = hinge_graph(score, label)
    (d,) = grad(loss, [s], create_graph=True)
    assert d.data == slope

    for backend in backends():
        loss, s = hinge_graph(score, label)
        program = compile_graph(loss, [s], backend=backend)
        s.grad = 0.0
        program.run()
        assert s.grad == slope, backend


# -- one output: the class of a score of exactly 0 ----------------------------------------------
# train.predict and the docs: class 1 where the score is > 0, so a score of exactly 0 is class 0.


def test_a_score_of_exactly_0_is_class_0() -> None:
    assert classes_of_scores([[0.0], [-0.0], [5e-324], [-5e-324]]) == [0, 0, 1, 0]
    assert classes([[Value(0.0)], [Value(1e-300)]]) == [0, 1]
    model = MLP(2, [1], seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 1.0, -1.0, 0.0  # score x1 - x2
    assert predict(model, [[0.5, 0.5], [0.5, 0.25], [0.25, 0.5]]) == [0, 1, 0]
