"""Gradients inside a loss (grad(..., create_graph=True)) whose derivatives branch on data.

A ReLU's derivative is 1[x > 0], a ReLU neuron's passes nothing back when inactive, the hinge's
is -y/n only where the margin is positive, and x ** y's derivatives pick a branch where x or y
is 0. Evaluated on Values (create_graph=True), each of these decisions is made once, on the data
of the moment. A compiled program of such a loss must either recompute the decision on every
run or refuse the graph naming it: replayed with the decision frozen, it computes the loss and
gradients of other data, silently. The oracle is eager mode: the same loss built afresh at the
new data, and its backward().
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from backends import BACKENDS

from gradengine import MLP, Operation, Value, compile_graph, grad
from gradengine.losses import hinge


def replayed_or_refused(
    build: Callable[[list[float]], tuple[Value, list[Value], list[Value]]],
    recorded: list[float],
    new: list[float],
    backend: str,
    operation: str,
) -> None:
    """Compile build(recorded), run it on new: eager's loss and gradients, or an error naming
    the operation whose decision it cannot recompute."""
    loss, parameters, inputs = build(recorded)
    try:
        program = compile_graph(loss, parameters, inputs, backend=backend, input_grads=False)
    except (TypeError, ValueError) as error:
        assert operation in str(error), str(error)
        return
    for p in parameters:
        p.grad = 0.0
    got = program.run(new)
    got_grads = [p.grad for p in parameters]
    want_loss, want_parameters, _ = build(new)
    want_loss.backward()
    want_grads = [p.grad for p in want_parameters]
    assert got == pytest.approx(want_loss.data, rel=1e-12, abs=1e-12)
    assert got_grads == pytest.approx(want_grads, rel=1e-12, abs=1e-12)


def relu_penalty(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """relu(w x) + (d relu(w x) / dw)^2 = relu(w x) + (x 1[w x > 0])^2, at w = 0.5."""
    w, x = Value(0.5), Value(data[0])
    y = (w * x).relu()
    (dw,) = grad(y, [w], create_graph=True)
    return y + dw * dw, [w], [x]


def test_the_relu_penalty_oracle_is_the_hand_derived_one() -> None:
    """At x = 2: 1 + 2^2 = 5, d/dw = x 1[wx > 0] + 0 = 2; at x = -1: 0, 0 (the mask is off)."""
    for x, loss, dw in ((2.0, 5.0, 2.0), (-1.0, 0.0, 0.0)):
        out, (w,), _ = relu_penalty([x])
        out.backward()
        assert (out.data, w.grad) == (loss, dw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_relus_derivative_in_the_loss(backend: str) -> None:
    replayed_or_refused(relu_penalty, [2.0], [-1.0], backend, "ReLU")


def mlp_penalty(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """A ReLU MLP's squared error plus the squared gradient of its score by its inputs (a
    gradient penalty), over two samples: its neurons' derivatives are 0 when inactive."""
    model = MLP(2, [6, 6, 1], seed=4)
    xs = [[Value(data[0]), Value(data[1])], [Value(data[2]), Value(data[3])]]
    loss = Value(0.0)
    for x, target in zip(xs, [1.0, -1.0], strict=True):
        score = model(x)
        slopes = grad(score, x, create_graph=True)
        loss = loss + (score - target) ** 2 + 0.5 * sum((s * s for s in slopes), Value(0.0))
    return loss, model.parameters(), [v for x in xs for v in x]


def test_new_inputs_switch_neurons_of_the_mlp_on_and_off() -> None:
    """The test below is only a test if the replay's data flips some ReLU decisions."""
    model = MLP(2, [6, 6, 1], seed=4)
    active = [
        [n.data > 0 for n in model.layers[0]([Value(a), Value(b)])]
        for a, b in ((1.0, -2.0), (-1.0, 2.0))
    ]
    assert active[0] != active[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gradient_penalty_on_a_relu_mlp(backend: str) -> None:
    recorded, new = [1.0, -2.0, 0.5, 0.25], [-1.0, 2.0, -0.5, -0.25]
    replayed_or_refused(mlp_penalty, recorded, new, backend, "relu(weighted_sum)")


def hinge_penalty(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """hinge([w x1, w x2], [1, -1]) + (d hinge / dw)^2, at w = 1."""
    w = Value(1.0)
    xs = [Value(data[0]), Value(data[1])]
    loss = hinge([w * xs[0], w * xs[1]], [1, -1])
    (dw,) = grad(loss, [w], create_graph=True)
    return loss + dw * dw, [w], xs


def test_the_hinge_penalty_oracle_is_the_hand_derived_one() -> None:
    """x = (0.5, 3): margins 1 - 0.5 = 0.5 > 0 and 1 + 3 = 4 > 0, loss = 2.25, d/dw of the mean
    hinge = (-0.5 + 3) / 2 = 1.25; penalty 1.5625. x = (2, -3): margins < 0, everything 0."""
    out, _, _ = hinge_penalty([0.5, 3.0])
    assert out.data == 2.25 + 1.5625
    out, _, _ = hinge_penalty([2.0, -3.0])
    assert out.data == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_hinges_derivative_in_the_loss(backend: str) -> None:
    replayed_or_refused(hinge_penalty, [0.5, 3.0], [2.0, -3.0], backend, "hinge")


def power_slope(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """x ** y + d(x ** y)/dy * w: d/dy = x^y ln x, 0 where x = 0 <= y (m.where's branch)."""
    x, y, w = Value(data[0]), Value(2.0), Value(1.5)
    f = x**y
    (dy,) = grad(f, [y], create_graph=True)
    return f + dy * w, [w, y], [x]


def test_the_power_oracle_is_the_hand_derived_one() -> None:
    """At x = 2: 4 + 4 ln 2 * 1.5; d/dw = 4 ln 2. At x = 0: 0 and 0."""
    out, (w, _), _ = power_slope([2.0])
    out.backward()
    assert out.data == pytest.approx(4 + 6 * math.log(2), rel=1e-15)
    assert w.grad == pytest.approx(4 * math.log(2), rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_powers_derivative_in_the_loss(backend: str) -> None:
    replayed_or_refused(power_slope, [0.0], [2.0], backend, "**")


# What compiled mode needs from the engine, shown with operations of the test's own: a decision
# recorded as a node is recomputed on every run. (One that cannot be recorded so would be a node
# whose operation cannot recompute it from floats: compile_graph refuses those, naming them.)

STEP = Operation("step", lambda m, x: m.step(x), lambda m, x, out: (0.0,))
WHERE = Operation(
    "where",
    lambda m, c, a, b: m.where(m.real(c) > 0, a, b),
    lambda m, c, a, b, out: (0.0, m.step(c), 1.0 - m.step(c)),
)


def relu_penalty_recorded(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """relu_penalty with its decisions as nodes: d relu(wx)/dw = x step(wx), and a where."""
    w, x = Value(0.5), Value(data[0])
    z = w * x
    dw = x * STEP(z)
    return WHERE(STEP(z), z, 0.0) + dw * dw, [w], [x]


@pytest.mark.parametrize("backend", BACKENDS)
def test_decisions_recorded_as_nodes_are_recomputed(backend: str) -> None:
    """The same loss as relu_penalty's, so its eager oracle (hand-checked above) applies."""
    for recorded, new in (([2.0], [-1.0]), ([-1.0], [2.0])):
        loss, parameters, inputs = relu_penalty_recorded(recorded)
        program = compile_graph(loss, parameters, inputs, backend=backend, input_grads=False)
        parameters[0].grad = 0.0
        got = program.run(new)
        want, (w,), _ = relu_penalty(new)
        want.backward()
        assert (got, parameters[0].grad) == (want.data, w.grad)


# An operation of the user's whose derivative branches in Python on data (an if on m.real(x))
# cannot be recorded as a node: its gradients still work in eager mode, and compile_graph
# refuses a graph that holds them, naming the operation.
LEAKY = Operation(
    "leaky",
    lambda m, x: m.where(m.real(x) > 0, x, 0.1 * x),
    lambda m, x, out: (1.0 if m.real(x) > 0 else 0.1,),
)


def leaky_penalty(data: list[float]) -> tuple[Value, list[Value], list[Value]]:
    """leaky(w x) + (d leaky(w x) / dw)^2 = leaky(wx) + (x slope)^2, at w = 0.5."""
    w, x = Value(0.5), Value(data[0])
    y = LEAKY(w * x)
    (dw,) = grad(y, [w], create_graph=True)
    return y + dw * dw, [w], [x]


def test_a_derivative_that_decides_in_python_still_works_in_eager_mode() -> None:
    """At x = 2: 1 + 2^2 = 5, d/dw = x + 0 = 2; at x = -1: -0.05 + 0.01, d/dw = 0.1 x = -0.1."""
    for x, loss, dw in ((2.0, 5.0, 2.0), (-1.0, -0.05 + 0.01, -0.1)):
        out, (w,), _ = leaky_penalty([x])
        out.backward()
        assert out.data == pytest.approx(loss, rel=1e-15) and w.grad == pytest.approx(dw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiling_a_derivative_that_decides_in_python_is_refused_by_name(backend: str) -> None:
    loss, parameters, inputs = leaky_penalty([2.0])
    with pytest.raises(TypeError, match=r"'leaky \(decided in Python\)'.*m\.where"):
        compile_graph(loss, parameters, inputs, backend=backend)


def test_a_plain_loss_of_the_same_operation_still_compiles() -> None:
    """Only derivatives taken inside the loss are refused: LEAKY's first-order backward is
    recomputed by the operation itself on every run."""
    w, x = Value(0.5), Value(2.0)
    program = compile_graph(LEAKY(w * x), [w], [x], backend="python", input_grads=False)
    w.grad = 0.0
    assert program.run([-1.0]) == pytest.approx(-0.05) and w.grad == pytest.approx(-0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_powers_replay_agrees_with_the_hand_derived_gradient(backend: str) -> None:
    """Recorded at x = 0 (where both of d(x ** y)'s branches pick 0), replayed at x = 2:
    loss = x^y + 1.5 x^y ln x, d/dw = x^y ln x = 4 ln 2, d/dy = x^y ln x + 1.5 x^y ln^2 x."""
    loss, parameters, inputs = power_slope([0.0])
    program = compile_graph(loss, parameters, inputs, backend=backend, input_grads=False)
    for p in parameters:
        p.grad = 0.0
    ln2 = math.log(2.0)
    assert program.run([2.0]) == pytest.approx(4.0 + 6.0 * ln2, rel=1e-14)
    w, y = parameters
    assert w.grad == pytest.approx(4.0 * ln2, rel=1e-14)
    assert y.grad == pytest.approx(4.0 * ln2 + 6.0 * ln2 * ln2, rel=1e-14)
