"""Compiled mode (gradengine.compile): both backends against eager mode's Value.backward()."""

from __future__ import annotations

import math
import random

import pytest
from backends import BACKENDS
from graph_strategies import EngineBackend, graphs, run
from hypothesis import HealthCheck, given, settings

from gradengine import MLP, Operation, Value, compile_graph, total, weighted_sum
from gradengine.engine import topological_order
from gradengine.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2, mse


def same(got: float, want: float, backend: str) -> bool:
    """Equal to 1e-12 relative (nan to nan); NumPy sums gradient contributions in another order."""
    if math.isnan(want):
        return math.isnan(got)
    if got == want:
        return True
    scale = 1e-12 if backend == "numpy" else 0.0
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=scale)


def eager_and_compiled(
    loss: Value, leaves: list[Value], backend: str, inputs: list[Value] | None = None
) -> None:
    """Eager grads of every leaf, then the compiled run's, from the same starting grads."""
    everything = leaves + (inputs or [])
    for leaf in everything:
        leaf.grad = 0.0
    loss.backward()
    want = [leaf.grad for leaf in everything]
    for leaf in everything:
        leaf.grad = 0.0
    program = compile_graph(loss, leaves, inputs, backend=backend, allow_unused=True)
    out = program.run()
    assert same(out, loss.data, backend), (out, loss.data)
    got = [leaf.grad for leaf in everything]
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert same(g, w, backend), (k, g, w, str(program))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs())
def test_random_graphs_match_eager(backend: str, graph) -> None:
    leaves = [Value(x) for x in graph.leaves]
    out = run(graph, leaves, EngineBackend())[-1]
    eager_and_compiled(out, leaves, backend)


def mlp_loss(model: MLP, rows: list[list[float]], labels: list[int]) -> tuple[Value, list[Value]]:
    xs = [[Value(a) for a in row] for row in rows]
    scores = [model(x) for x in xs]
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg, [v for x in xs for v in x]


def small_batch(seed: int, n: int = 6) -> tuple[list[list[float]], list[int]]:
    rng = random.Random(seed)
    rows = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
    return rows, [rng.choice([-1, 1]) for _ in range(n)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_with_hinge_loss_matches_eager(backend: str) -> None:
    model = MLP(2, [4, 4, 1], seed=3)
    loss, inputs = mlp_loss(model, *small_batch(0))
    eager_and_compiled(loss, model.parameters(), backend, inputs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_batch_of_the_same_shape_matches_eager_on_that_batch(backend: str) -> None:
    model = MLP(2, [4, 1], seed=5)
    loss, inputs = mlp_loss(model, *small_batch(1))
    program = compile_graph(loss, model.parameters(), inputs, backend=backend)
    rows, labels = small_batch(2)  # the labels stay the recorded ones: they are constants
    _, labels = small_batch(1)
    model.zero_grad()
    batch = [a for row in rows for a in row]
    if backend == "numpy":
        import numpy as np

        batch = np.array(batch)  # an array works as well as a list
    out = program.run(batch)
    assert type(out) is float
    matches_eager(out, model, lambda: mlp_loss(model, rows, labels)[0], backend)


def matches_eager(out: float, model: MLP, eager_loss, backend: str) -> None:
    """The replay's loss and the model's grads it left equal eager mode's on the same batch."""
    got = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager = eager_loss()
    eager.backward()
    assert same(out, eager.data, backend)
    for g, p in zip(got, model.parameters(), strict=True):
        assert same(g, p.grad, backend), (g, p.grad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_runs_accumulate_twice_the_gradient(backend: str) -> None:
    x, y = Value(1.5), Value(-0.5)
    loss = (x * y + x.tanh()).exp()
    program = compile_graph(loss, [x, y], backend=backend)
    program.run()
    once = x.grad, y.grad
    program.run()
    assert (x.grad, y.grad) == (2 * once[0], 2 * once[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_relu_kinks_at_exactly_zero(backend: str) -> None:
    a, b, w = Value(0.0), Value(0.0), Value(2.0)
    loss = total([a.relu(), weighted_sum(b, [w], [a], relu=True), (a - b).relu() * w, a * w])
    eager_and_compiled(loss, [a, b, w], backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("special", [math.inf, -math.inf, math.nan])
def test_nan_and_inf(backend: str, special: float) -> None:
    s, x, w = Value(special), Value(0.5), Value(-1.0)
    loss = total(
        [
            weighted_sum(x, [w], [s], relu=True),
            (s * x).relu(),
            x / s,
            (s + x).sigmoid() * w,
            weighted_sum(x, [w, x], [s, w]),
        ]
    )
    eager_and_compiled(loss, [s, x, w], backend)


CUBE = Operation("cube", lambda m, x: x * x * x, lambda m, x, out: (3.0 * x * x,))
# Written with math: it runs on floats only, so the NumPy backend calls it node by node.
SIN = Operation("sin", lambda m, x: math.sin(x), lambda m, x, out: (math.cos(x),))


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_defined_operations_and_powers(backend: str) -> None:
    x, y = Value(0.7), Value(1.3)
    loss = CUBE(x) * SIN(y) + x**3 + y**x + 2**x + CUBE(SIN(x * y))
    eager_and_compiled(loss, [x, y], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_shapes_and_parameters_are_refused(backend: str) -> None:
    x, y = Value(1.0), Value(2.0)
    loss = x * y
    program = compile_graph(loss, [x], [y], backend=backend)
    with pytest.raises(ValueError, match="expected 1 input values"):
        program.run([1.0, 2.0])
    with pytest.raises(ValueError, match="computed by operation"):
        compile_graph(loss, [loss], backend=backend)
    with pytest.raises(ValueError, match="not in the graph"):
        compile_graph(loss, [x, Value(3.0)], [y], backend=backend)
    with pytest.raises(ValueError, match="also one of the parameters"):
        compile_graph(loss, [x], [x], backend=backend)
    with pytest.raises(ValueError, match="backend must be"):
        compile_graph(loss, [x], backend="gpu")


def test_lecture_nodes_are_refused_by_name() -> None:
    x = Value(2.0)
    node = Value(x.data * 3, (x,), "triple", label="t")
    with pytest.raises(TypeError, match="triple"):
        compile_graph(node * 1.0, [x])


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_entropy_with_number_or_nan_logits_replays(backend: str) -> None:
    """The loss keeps its classes: a number among the logits, or a nan, is no obstacle."""
    x = Value(2.0)
    eager_and_compiled(cross_entropy([[x * 2.0, 0.5], [x, x * 3.0]], [1, 0]), [x], backend)
    eager_and_compiled(cross_entropy([[x * math.nan, x]], [1]), [x], backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("margin", [40.0, 300.0, 700.0])
def test_cross_entropy_of_a_confidently_classified_row_replays(backend: str, margin: float) -> None:
    """p_c rounds to 1 (every derivative of the row 0): by hand, loss = mean(0, ln(1 + e^1))."""
    a, b = Value(margin), Value(0.0)
    loss = cross_entropy([[a * 1.0, b * 1.0], [b * 1.0, b + 1.0]], [0, 0])
    assert loss.data == pytest.approx(0.5 * (1.0 + math.log1p(math.exp(-1.0))), rel=1e-15)
    eager_and_compiled(loss, [a, b], backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_cross_entropy_graph_replays(backend: str, how: str) -> None:
    import copy
    import pickle

    model = MLP(3, [4, 3], seed=1)
    rows = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
    loss, _ = cross_entropy_batch(model, rows, [2, 0])
    twin = copy.deepcopy(loss) if how == "deepcopy" else pickle.loads(pickle.dumps(loss))
    leaves = [v for v in topological_order(twin) if not v._parents and v.data != 0.0]
    eager_and_compiled(twin, leaves, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bce_of_very_negative_logits_replays_like_eager(backend: str) -> None:
    """softplus(x) = ln(1 + e^x) is e^x for x < -37: ln(1 + e^x) in floats would give 0."""
    x = Value(-1.0)
    logits = [x * 30.0, x * 45.0, x * 700.0, x * -3.0]
    loss = binary_cross_entropy_with_logits(logits, [0.0, 0.25, 1.0, 0.5])
    # by hand: e^-30, e^-45 + 0.25 * 45, 700 + e^-700, 3 + ln(1 + e^-3) - 1.5, over 4
    want = (math.exp(-30) + math.exp(-45) + 11.25 + 700.0 + math.log1p(math.exp(-3)) + 1.5) / 4
    assert loss.data == pytest.approx(want, rel=1e-15)
    program = compile_graph(loss, [x], backend=backend)
    x.grad = 0.0
    out = program.run()
    if backend == "python":
        assert out == loss.data  # bit for bit
    assert same(out, loss.data, backend)


def cross_entropy_batch(
    model: MLP, rows: list[list[float]], classes: list[int]
) -> tuple[Value, list[Value]]:
    xs = [[Value(a) for a in row] for row in rows]
    logits = [model(x) for x in xs]
    return cross_entropy(logits, classes), [v for x in xs for v in x]  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_entropy_replays_and_takes_new_batches(backend: str) -> None:
    """Its classes are fixed in the recording, like any constant."""
    rng = random.Random(0)
    rows = [[rng.uniform(-2, 2) for _ in range(4)] for _ in range(9)]
    classes = [rng.randrange(3) for _ in range(9)]
    model = MLP(4, [6, 3], seed=0)
    loss, inputs = cross_entropy_batch(model, rows, classes)
    eager_and_compiled(loss, model.parameters(), backend, inputs)
    program = compile_graph(loss, model.parameters(), inputs, backend=backend)
    assert "cross_entropy" in str(program)
    other = [[rng.uniform(-2, 2) for _ in range(4)] for _ in range(9)]
    model.zero_grad()
    out = program.run([a for row in other for a in row])
    matches_eager(out, model, lambda: cross_entropy_batch(model, other, classes)[0], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_written_with_m_replay(backend: str) -> None:
    model = MLP(2, [3, 1], seed=2)
    rows, labels = small_batch(4, n=4)
    xs = [[Value(a) for a in row] for row in rows]
    scores = [model(x) for x in xs]
    loss = hinge(scores, labels) + mse(scores, [0.5 * y for y in labels]) + l2(model.parameters())
    eager_and_compiled(loss, model.parameters(), backend, [v for x in xs for v in x])


@pytest.mark.parametrize("backend", BACKENDS)
def test_print_shows_what_was_compiled(backend: str) -> None:
    model = MLP(2, [4, 1], seed=1)
    loss, inputs = mlp_loss(model, *small_batch(3))
    text = str(compile_graph(loss, model.parameters(), inputs, backend=backend))
    assert f"({backend} backend)" in text
    assert "relu(weighted_sum)" in text
    if backend == "numpy":
        assert "W[24x2]" in text and "chain of" in text


def test_the_compiled_training_example_learns() -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("numpy")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "compiled_training.py"
    spec = importlib.util.spec_from_file_location("compiled_training", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    moons = example.moons_task(2, "python", n_samples=64)
    digits = example.digits_task(2, "numpy", n_samples=64)
    assert all(math.isfinite(x) for x in moons + digits)
    assert digits[1] < digits[0]


def batch_mlp_loss(rows: list[list[float]], labels: list[int]) -> tuple[Value, MLP, list[Value]]:
    """Two outputs, hinge on their difference, plus an L2 term: every kind of matrix group."""
    model = MLP(3, [5, 4, 2], seed=3)
    xs = [[Value(a) for a in row] for row in rows]
    outs = [model(x) for x in xs]
    margins = [(1 + -y * (o[0] - o[1])).relu() for y, o in zip(labels, outs, strict=True)]
    loss = total(margins) * (1 / len(rows)) + 1e-4 * total([p * p for p in model.parameters()])
    return loss, model, [v for x in xs for v in x]


@pytest.mark.parametrize("unroll", [True, False])
@pytest.mark.parametrize("special", [None, math.inf, -math.inf, math.nan])
def test_python_matrix_products_match_eager_bit_for_bit(
    unroll: bool, special: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python backend's matrix products (unrolled or not), and its replay without them
    when an input is inf or nan, give eager mode's numbers exactly, inputs' gradients too."""
    import gradengine.compile.python as python_backend

    if not unroll:
        monkeypatch.setattr(python_backend, "_UNROLL", 0)
    rows, labels = small_batch(0, n=7)
    rows = [[*row, 0.5] for row in rows]
    if special is not None:
        rows[3][1] = special
    loss, model, inputs = batch_mlp_loss(rows, labels)
    leaves = model.parameters() + inputs
    loss.backward()
    want = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    program = compile_graph(loss, model.parameters(), inputs, backend="python")
    assert str(program).count("as a matrix product") == 3
    out = program.run()
    assert out == loss.data or (math.isnan(out) and math.isnan(loss.data))
    for got, expected in zip([leaf.grad for leaf in leaves], want, strict=True):
        assert got == expected or (math.isnan(got) and math.isnan(expected)), (got, expected)
    assert (program._engine._exact is not None) == (special is not None)


def test_python_matrix_product_gives_way_when_a_weight_is_used_between_samples() -> None:
    """Eager mode adds w's gradient sample by sample with w * (i + 1) in between: no one dot
    product keeps that order, so that layer is replayed as separate weighted sums, exactly."""
    model = MLP(2, [4, 1], seed=1)
    w = model.layers[0].neurons[0].w[0]
    terms: list[Value] = []
    for i in range(5):
        score = model([Value(0.3 * i), Value(-0.2 * i)])
        assert isinstance(score, Value)
        terms += [score, w * (i + 1.0)]
    loss = total(terms)
    loss.backward()
    want = [p.grad for p in model.parameters()]
    model.zero_grad()
    program = compile_graph(loss, model.parameters(), backend="python")
    text = str(program)
    assert "relu(weighted_sum) x20: rows of W[20x2]" in text
    assert "weighted_sum x5 as a matrix product" in text
    program.run()
    assert [p.grad for p in model.parameters()] == want


def test_python_source_grows_with_groups_not_nodes() -> None:
    """micrograd's moons step (100 samples, MLP(2, [16, 16, 1])): 5,118 nodes, ~450 lines (one
    per weight in the loops that sum the weights' gradients; straight-line code had 78,000)."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    rows, labels = small_batch(7, n=100)
    loss, _ = mlp_loss(model, rows, labels)
    program = compile_graph(loss, model.parameters(), backend="python")
    assert len(program.recording) > 5000
    assert program._engine.lines < 1000


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_entropy_row_whose_class_probability_rounds_to_one(backend: str) -> None:
    """Every derivative of row 0 is 0 when recorded: its class is its largest logit."""
    z = [[Value(800.0), Value(0.0), Value(-5.0)], [Value(0.1), Value(0.2), Value(0.3)]]
    leaves = [v for row in z for v in row]
    loss = cross_entropy(z, [0, 2])
    assert loss._local_grads[:3] == (0.0, 0.0, 0.0)
    program = compile_graph(loss, leaves, backend=backend)
    for leaf, x in zip(leaves, [0.5, 1.0, -1.0, 0.1, 0.2, 0.3], strict=True):
        leaf.data = x
    program.run()
    got = [leaf.grad for leaf in leaves]
    fresh = [Value(leaf.data) for leaf in leaves]
    eager = cross_entropy([fresh[:3], fresh[3:]], [0, 2])
    eager.backward()
    for g, leaf in zip(got, fresh, strict=True):
        assert same(g, leaf.grad, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("special", [math.inf, math.nan])
def test_matrix_product_meeting_inf_or_nan_on_a_later_run(backend: str, special: float) -> None:
    """Compiled at finite inputs, run at a batch holding inf or nan: the matrix products give
    way to row sums that keep an inactive neuron's zero derivatives, as eager mode does."""
    rows, labels = small_batch(5, n=6)
    rows = [[*row, 0.25] for row in rows]
    loss, model, inputs = batch_mlp_loss(rows, labels)
    program = compile_graph(loss, model.parameters(), inputs, backend=backend)
    rows[2][0] = special
    program.run([a for row in rows for a in row])
    got = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager, model_again, _ = batch_mlp_loss(rows, labels)
    eager.backward()
    for g, p in zip(got, model_again.parameters(), strict=True):
        assert same(g, p.grad, backend), (g, p.grad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_grads_false_leaves_the_inputs_alone(backend: str) -> None:
    """A training loop never reads the inputs' gradients: the backward pass can stop short."""
    model = MLP(2, [4, 1], seed=5)
    loss, inputs = mlp_loss(model, *small_batch(1))
    program = compile_graph(loss, model.parameters(), inputs, backend=backend)
    program.run()
    want = [p.grad for p in model.parameters()]
    model.zero_grad()
    for x in inputs:
        x.grad = 0.0
    short = compile_graph(loss, model.parameters(), inputs, backend=backend, input_grads=False)
    short.run()
    assert [p.grad for p in model.parameters()] == want
    assert all(x.grad == 0.0 for x in inputs)
    with pytest.raises(TypeError, match="input_grads must be True or False"):
        compile_graph(loss, model.parameters(), inputs, input_grads=1)  # type: ignore[arg-type]
