"""Batched replay (gradengine.compile.batched) against eager mode's per-sample graphs."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from typing import Any

import pytest
from backends import BACKENDS
from batched_cases import mlp_case
from graph_strategies import EngineBackend, graphs, run
from hypothesis import HealthCheck, assume, given, settings

from gradengine import Value
from gradengine.compile.batched import compile_batched
from gradengine.losses import l2
from gradengine.optim import SGD, Adam


def close(got: float, want: float, rel: float = 1e-12, abs_: float = 1e-14) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def eager(
    sample: Any, params: list[Value], rows: list[list[float]], reduction: str, penalty: Any
) -> tuple[float, list[float], list[float]]:
    """The oracle: every row's graph built and backpropagated by eager mode, then reduced."""
    for p in params:
        p.grad = 0.0
    losses = []
    for row in rows:
        got = sample([Value(x) for x in row])
        losses.append(got[0] if isinstance(got, tuple) else got)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    if reduction == "mean":
        total = total * (1.0 / len(rows))
    if penalty is not None:
        total = total + penalty()
    total.backward()
    return total.data, [loss.data for loss in losses], [p.grad for p in params]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["hinge", "bce_logits", "mse", "cross_entropy"])
@pytest.mark.parametrize("seed", range(4))
def test_random_mlps_match_eager_per_sample_gradients(backend, reduction, loss, seed):
    activation = ["relu", "tanh", "sigmoid", "linear"][seed]
    model, sample, rows = mlp_case(seed, activation, loss)
    params = model.parameters()

    def penalty() -> Value:
        return l2(params, alpha=0.01)

    want_loss, want_losses, want_grads = eager(sample, params, rows, reduction, penalty)
    program = compile_batched(
        sample, params, rows, penalty=penalty(), reduction=reduction, backend=backend
    )
    assert program.batched
    result = program.step(rows)
    assert close(result.loss, want_loss)
    assert all(close(float(a), b) for a, b in zip(result.losses, want_losses, strict=True))
    for k, (g, w) in enumerate(zip(program.grads, want_grads, strict=True)):
        assert close(float(g), w, rel=1e-11), (k, g, w, str(program))
    # the outputs asked for are the scores, sample by sample
    scores = [model.forward(row[:3]) for row in rows]
    for j, column in enumerate(result.outputs):
        assert all(close(float(a), s[j].data) for a, s in zip(column, scores, strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_of_another_size_replays_the_one_recording(backend):
    model, sample, rows = mlp_case(5, "relu", "hinge")
    params = model.parameters()
    program = compile_batched(sample, params, rows[:1], backend=backend)
    more = [[*r[:3], 1.0 if k % 2 else -1.0] for k, r in enumerate(rows * 7)]
    result = program.step(more)
    want_loss, _, want_grads = eager(sample, params, more, "mean", None)
    assert len(result.losses) == len(more)
    assert close(result.loss, want_loss)
    assert all(
        close(float(g), w, rel=1e-11) for g, w in zip(program.grads, want_grads, strict=True)
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs())
def test_random_graphs_match_eager_per_sample(backend, graph):
    """The first leaf is the sample's input, the others parameters; rows near the drawn value
    (the drawn graph keeps its margins from kinks and poles)."""
    params = [Value(x) for x in graph.leaves[1:]]

    def sample(v: list[Value]) -> Value:
        out: Value = run(graph, [v[0], *params], EngineBackend())[-1]
        return out

    x0 = graph.leaves[0]
    rows = [[x0], [x0 * (1 + 1e-4) + 1e-5], [x0 * (1 - 2e-4) - 1e-5]]
    probe = sample([Value(x0)])
    assume(probe._parents)  # the output is a node, not a leaf
    try:
        program = compile_batched(sample, params, rows, backend=backend)
    except ValueError as error:
        assume("does not depend on its inputs" not in str(error))
        raise
    want_loss, _, want_grads = eager(sample, params, rows, "mean", None)
    result = program.step(rows)
    assert close(result.loss, want_loss, rel=1e-10, abs_=1e-12), str(program)
    for g, w in zip(program.grads, want_grads, strict=True):
        assert close(float(g), w, rel=1e-9, abs_=1e-11), (g, w, str(program))


@pytest.mark.parametrize("backend", BACKENDS)
def test_samples_whose_graphs_differ_fall_back_to_recording_each(backend):
    """Python control flow on .data: the graph of x > 0 is x * w, of x <= 0 is x + w."""
    w = Value(0.5)

    def sample(v: list[Value]) -> Value:
        x, t = v
        y = x * w if x.data > 0 else x + w
        return (y - t) * (y - t)

    rows = [[1.0, 0.2], [2.0, -0.3], [-1.0, 0.4], [3.0, 1.0]]
    program = compile_batched(sample, [w], rows, backend=backend)
    assert not program.batched
    text = str(program)
    assert text.startswith("per-sample recording") and "data-dependent control flow" in text
    result = program.step(rows)
    # by hand: residuals 0.5-0.2, 1.0+0.3, -0.5-0.4, 1.5-1.0; d/dw: 2 r x (x > 0), 2 r (x <= 0)
    residuals = [0.3, 1.3, -0.9, 0.5]
    assert result.loss == pytest.approx(sum(r * r for r in residuals) / 4, rel=1e-14)
    grad = (2 * 0.3 * 1.0 + 2 * 1.3 * 2.0 + 2 * -0.9 + 2 * 0.5 * 3.0) / 4
    assert float(program.grads[0]) == pytest.approx(grad, rel=1e-14)
    assert [float(x) for x in result.losses] == pytest.approx([r * r for r in residuals])
    with pytest.raises(ValueError, match="batch of 4"):
        program.step(rows[:2])
    program.params[0] = 1.5  # the parameter in the array: x * 1.5 for x > 0
    assert program.step(rows).losses[0] == pytest.approx((1.5 - 0.2) ** 2)
    assert w.data == 0.5
    w.grad = 1.0
    program.run(rows)  # reads .data, adds the gradient to .grad once
    assert (w.data, w.grad) == (0.5, pytest.approx(1.0 + grad, rel=1e-14))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_penalty_counts_once_and_the_parameters_live_in_the_array(backend):
    w = Value(2.0)

    def sample(v: list[Value]) -> Value:
        return v[0] * w

    rows = [[1.0], [2.0], [3.0]]
    program = compile_batched(sample, [w], rows, penalty=w * w, reduction="sum", backend=backend)
    result = program.step(rows)
    assert result.loss == 6.0 * 2.0 + 4.0  # Σ x w + w^2
    assert float(program.grads[0]) == 6.0 + 4.0  # Σ x + 2 w
    program.params[0] = 3.0  # training moves the array, not the Value
    assert program.step(rows).loss == 6.0 * 3.0 + 9.0
    assert w.data == 2.0
    program.store_parameters()
    assert (w.data, w.grad) == (3.0, 6.0 + 6.0)
    w.data = 1.0
    w.grad = 0.0
    program.run(rows)  # reads .data, adds to .grad, as Program.run does
    assert (float(program.params[0]), w.grad) == (1.0, 6.0 + 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_print_shows_rows_and_the_matrix_products(backend):
    model, sample, rows = mlp_case(1, "relu", "hinge")
    params = model.parameters()
    text = str(compile_batched(sample, params, rows, penalty=l2(params), backend=backend))
    assert text.startswith(f"batched program ({backend} backend)")
    assert "loss: the mean over the samples of hinge, plus l2 once" in text
    if backend == "numpy":
        assert "X[N x 3] @ W[" in text and "one matrix product" in text


BAD = [
    ({"sample": 3}, TypeError, "sample must be a function"),
    ({"batch": []}, ValueError, "non-empty sequence of rows"),
    ({"batch": [[1.0, 2.0], [1.0]]}, ValueError, r"batch\[1\] has 1 numbers"),
    ({"batch": [[1.0, "a"]]}, TypeError, r"batch\[0\] must hold numbers"),
    ({"reduction": "max"}, ValueError, "reduction must be"),
    ({"backend": "gpu"}, ValueError, "backend must be"),
    ({"penalty": 1.0}, TypeError, "penalty must be a Value"),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD)
def test_bad_arguments_say_what_was_expected(change, error, message):
    w = Value(1.0)
    args: dict[str, Any] = {"sample": lambda v: v[0] * w + v[1], "batch": [[1.0, 2.0]]}
    args.update(change)
    sample, batch = args.pop("sample"), args.pop("batch")
    args.setdefault("backend", "python")
    with pytest.raises(error, match=message):
        compile_batched(sample, [w], batch, **args)


def test_a_loss_of_the_parameters_only_is_refused():
    w = Value(1.0)
    with pytest.raises(ValueError, match="does not depend on its inputs"):
        compile_batched(lambda v: w * w, [w], [[1.0]], backend="python")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam"])
def test_the_optimizers_step_arrays_as_they_step_values(backend, kind):
    rng = random.Random(4)
    start = [rng.uniform(-1, 1) for _ in range(5)]
    values = [Value(x) for x in start]
    opt: Any
    if kind == "adam":
        opt = Adam(values, lr=0.1, weight_decay=0.01)
    else:
        momentum = 0.0 if kind == "sgd" else 0.9
        opt = SGD(values, lr=0.1, momentum=momentum, weight_decay=0.01, nesterov=kind == "nesterov")
    data: Any = list(start)
    if backend == "numpy":
        import numpy as np

        data = np.array(start)
    for _ in range(4):
        grads = [rng.uniform(-1, 1) for _ in range(5)]
        for v, g in zip(values, grads, strict=True):
            v.grad = g
        opt.step()
        opt.step_arrays(data, grads if backend == "python" else np.array(grads))
        want = [v.data for v in values]
        assert [float(x) for x in data] == pytest.approx(want, rel=1e-15, abs=1e-16)
    bad = [1.0, math.inf, 0.0, 0.0, 0.0]
    before = [float(x) for x in data]
    with pytest.raises(FloatingPointError, match="parameter 1 of 5"):
        opt.step_arrays(data, bad if backend == "python" else np.array(bad))
    assert [float(x) for x in data] == before


def test_the_python_backend_needs_no_numpy():
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "from gradengine import Value\n"
        "from gradengine.compile.batched import compile_batched\n"
        "w = Value(2.0)\n"
        "p = compile_batched(lambda v: v[0] * w, [w], [[1.0], [2.0]])\n"
        "print(p.backend, p.step([[1.0], [3.0]]).loss, p.grads)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["python", "4.0", "[2.0]"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loss_that_is_an_input_and_outputs_that_are_inputs(backend):
    w = Value(2.0)
    program = compile_batched(lambda v: v[0], [w], [[1.0], [3.0]], backend=backend)
    result = program.step([[1.0], [3.0]])
    assert (result.loss, [float(g) for g in program.grads]) == (2.0, [0.0])

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        return (v[0] * w) ** 2, [v[0] * w, v[0]]

    program = compile_batched(sample, [w], [[1.0], [3.0]], backend=backend)
    result = program.step([[1.0], [3.0]])
    # by hand: mean (x w)^2 = (4 + 36) / 2; d/dw = mean 2 x^2 w = (4 + 36) / 2
    assert (result.loss, float(program.grads[0])) == (20.0, 20.0)
    assert [[float(a) for a in row] for row in result.outputs] == [[2.0, 6.0], [1.0, 3.0]]


def test_numpy_cross_entropy_of_a_row_is_one_softmax_and_matches_the_python_backend():
    pytest.importorskip("numpy", reason="the NumPy backend needs numpy")
    model, sample, rows = mlp_case(2, "relu", "cross_entropy")
    params = model.parameters()
    for p in params[:3]:  # large logits: ln Σ e^z must not overflow
        p.data *= 300.0
    programs = {b: compile_batched(sample, params, rows, backend=b) for b in ("python", "numpy")}
    assert "softmax of Z[N x 3]" in str(programs["numpy"])
    py, np_ = programs["python"].step(rows), programs["numpy"].step(rows)
    want_loss, want_losses, want_grads = eager(sample, params, rows, "mean", None)
    assert close(np_.loss, want_loss) and close(py.loss, want_loss)
    assert [float(x) for x in np_.losses] == pytest.approx(want_losses, rel=1e-12)
    for g, w in zip(programs["numpy"].grads, want_grads, strict=True):
        assert close(float(g), w, rel=1e-11)
