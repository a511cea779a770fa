"""Under detect_anomaly(), a compiled run raises where eager mode's passes raise, on both
backends; the oracle is eager mode itself, run on a graph built at the same input values."""

from __future__ import annotations

import math

import pytest
from backends import BACKENDS

from gradengine import Value, compile_graph, detect_anomaly


def log_loss(x: Value, w: Value) -> Value:
    """log(w x) + w: log(0) = -inf in the forward pass."""
    return (w * x).log() + w


def sqrt_loss(x: Value, w: Value) -> Value:
    """√(w x) * 2: finite at 0 (0), but its derivative 1 / (2√0) = inf in the backward pass."""
    return (w * x) ** 0.5 * 2.0


def eager_error(f, x: float, w: float) -> str:
    """The message eager mode's anomaly mode gives for f at (x, w)."""
    xv, wv = Value(x), Value(w)
    with pytest.raises(FloatingPointError) as error, detect_anomaly():
        f(xv, wv).backward()
    return str(error.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("f", "where", "operation"),
    [(log_loss, "forward", "log"), (sqrt_loss, "backward", "**0.5")],
)
def test_a_compiled_run_raises_where_eager_mode_does(backend: str, f, where: str, operation: str):
    eager = eager_error(f, 0.0, 1.0)
    assert f"anomaly in the {where} pass" in eager and repr(operation) in eager
    x, w = Value(1.0), Value(1.0)
    program = compile_graph(f(x, w), [w], [x], backend=backend)
    w.grad, x.grad = 0.5, -0.25
    with pytest.raises(FloatingPointError) as error, detect_anomaly():
        program.run([0.0])
    message = str(error.value)
    assert f"anomaly in the {where} pass" in message and repr(operation) in message
    assert (w.grad, x.grad) == (0.5, -0.25)  # every leaf keeps what it held


@pytest.mark.parametrize("backend", BACKENDS)
def test_outside_anomaly_mode_nothing_is_checked(backend: str) -> None:
    x, w = Value(1.0), Value(1.0)
    program = compile_graph(log_loss(x, w), [w], [x], backend=backend)
    assert program.run([0.0]) == -math.inf  # IEEE-754, as eager mode outside the block
    x, w = Value(1.0), Value(1.0)
    program = compile_graph(sqrt_loss(x, w), [w], [x], backend=backend)
    program.run([0.0])
    assert math.isnan(w.grad)  # x * inf = 0 * inf, unchecked


@pytest.mark.parametrize("backend", BACKENDS)
def test_finite_runs_pass_and_add_their_gradients(backend: str) -> None:
    """At x = 4, w = 1: d(2√(wx))/dw = √x/√w = 2, as without anomaly mode."""
    x, w = Value(1.0), Value(1.0)
    program = compile_graph(sqrt_loss(x, w), [w], [x], backend=backend)
    with detect_anomaly():
        assert program.run([4.0]) == 4.0
    assert w.grad == pytest.approx(2.0, rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_leaf_that_already_held_inf_is_named(backend: str) -> None:
    """Eager mode raises when a leaf's accumulated grad is inf: so does the compiled run."""
    x, w = Value(2.0), Value(3.0)
    loss = w * x
    w.grad = math.inf
    with pytest.raises(FloatingPointError, match="already held"), detect_anomaly():
        loss.backward()
    program = compile_graph(loss, [w], [x], backend=backend)
    w.grad = math.inf
    with pytest.raises(FloatingPointError, match=r"parameter 0.*already held"), detect_anomaly():
        program.run([2.0])
