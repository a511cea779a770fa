"""The NumPy engine of batched replay: tiles of rows, sums of squares, layers' bias in the
product, each against eager mode's per-sample graphs."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from gradengine import MLP, Value
from gradengine.compile.batched import compile_batched
from gradengine.losses import loss_of_inputs

np = pytest.importorskip("numpy", reason="the NumPy engine of batched replay needs NumPy")


def eager(
    sample: Any, params: list[Value], rows: list[list[float]], penalty: Any
) -> tuple[float, list[float], list[float], list[float]]:
    """The oracle: (mean loss + penalty, each row's loss, each row's score, the gradients),
    every row's graph built and backpropagated by eager mode."""
    for p in params:
        p.grad = 0.0
    losses, scores = [], []
    for row in rows:
        loss, outs = sample([Value(x) for x in row])
        losses.append(loss)
        scores.append(outs[0].data)
    total = sum(losses[1:], losses[0]) * (1.0 / len(rows))
    if penalty is not None:
        total = total + penalty()
    total.backward()
    return total.data, [loss.data for loss in losses], scores, [p.grad for p in params]


def moons_like(n: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-2, 2), rng.uniform(-2, 2), rng.choice([-1.0, 1.0])] for _ in range(n)]


def hinge_sample(model: MLP) -> Any:
    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        scores = model.forward(v[:2])
        return loss_of_inputs("hinge", [scores[0], v[2]]), scores

    return sample


def assert_matches_eager(program: Any, sample: Any, params: list[Value], rows: Any, penalty: Any):
    want_loss, want_losses, want_scores, want_grads = eager(sample, params, rows, penalty)
    result = program.step(np.array(rows))
    assert math.isclose(result.loss, want_loss, rel_tol=1e-12)
    np.testing.assert_allclose(result.losses, want_losses, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result.outputs[0], want_scores, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(program.grads, want_grads, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_a_batch_larger_than_a_tile_replays_tile_by_tile_as_eager_mode(activation):
    # 2 -> 3 -> 3 -> 1: the widest block has 3 columns, so a tile is 2,048 rows and 4,500 rows
    # replay as tiles of 2,048, 2,048 and 404 (the last tile smaller)
    model = MLP(2, [3, 3, 1], seed=1, activation=[activation, activation, "linear"])
    params = model.parameters()
    sample = hinge_sample(model)
    rows = moons_like(4_500, seed=2)
    program = compile_batched(sample, params, np.array(rows), backend="numpy")
    assert program._engine.tile < len(rows)
    assert_matches_eager(program, sample, params, rows, None)
    # a batch of another size right after (its own tiles and buffers)
    assert_matches_eager(program, sample, params, rows[:2_100], None)
    assert_matches_eager(program, sample, params, rows[:7], None)


def test_micrograds_sum_of_squares_is_one_dot_product_with_eager_modes_gradients():
    model = MLP(2, [4, 4, 1], seed=3)
    params = model.parameters()
    sample = hinge_sample(model)
    rows = moons_like(25, seed=4)

    def penalty() -> Value:
        return 1e-2 * sum(p * p for p in params)  # spelled as micrograd's demo spells it

    program = compile_batched(sample, params, np.array(rows), penalty=penalty(), backend="numpy")
    assert f"sum of {len(params)} squares" in str(program)
    assert_matches_eager(program, sample, params, rows, penalty)


def test_a_square_used_elsewhere_too_stays_out_of_the_dot_product():
    model = MLP(2, [3, 1], seed=5)
    params = model.parameters()
    sample = hinge_sample(model)
    rows = moons_like(9, seed=6)

    def penalty() -> Value:
        squares = [p * p for p in params]
        return sum(squares) + squares[0].tanh()  # squares[0] has two users

    program = compile_batched(sample, params, np.array(rows), penalty=penalty(), backend="numpy")
    assert f"sum of {len(params) - 1} squares" in str(program)  # all but squares[0]
    assert_matches_eager(program, sample, params, rows, penalty)


def test_parameters_listed_in_another_order_still_replay_as_eager_mode():
    # biases first: a layer's (w, b) are then not one regular block of the parameter array
    model = MLP(2, [5, 4, 1], seed=7)
    neurons = [n for layer in model.layers for n in layer.neurons]
    params = [n.b for n in neurons] + [w for n in reversed(neurons) for w in n.w]
    sample = hinge_sample(model)
    rows = moons_like(30, seed=8)
    program = compile_batched(sample, params, np.array(rows), backend="numpy")
    assert_matches_eager(program, sample, params, rows, None)


@pytest.mark.parametrize("p", [1.0, -0.5])
def test_the_hinge_row_keeps_the_losses_conventions_at_its_kink_and_with_nan_and_inf(p):
    weight = Value(p)
    # 1 - y s at 0 (the kink: no gradient), below and above it, nan, and an infinite score
    rows = [[1.0, 1.0], [2.0, 1.0], [0.5, 1.0], [1.0, -1.0], [math.inf, -1.0], [math.nan, 1.0]]

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        score = v[0] * weight
        return loss_of_inputs("hinge", [score, v[1]]), [score]

    program = compile_batched(sample, [weight], np.array(rows), backend="numpy")
    assert "max(0, 1 - y s) on rows" in str(program)
    for some in (rows[:4], rows[:5], rows):  # finite, one infinite score, and a nan
        weight.grad = 0.0
        eager_losses = [sample([Value(x) for x in row])[0] for row in some]
        total = sum(eager_losses[1:], eager_losses[0]) * (1.0 / len(some))
        total.backward()
        result = program.step(np.array(some))
        got = [float(x) for x in result.losses] + [result.loss, float(program.grads[0])]
        want = [loss.data for loss in eager_losses] + [total.data, weight.grad]
        for g, w in zip(got, want, strict=True):
            assert g == w or (math.isnan(g) and math.isnan(w)), (some, got, want)
