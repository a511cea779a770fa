"""The pure-Python batched replay's generated loop against its node-by-node walk, and against
finite differences: the same numbers bit for bit (zeros up to their sign), nan where it is."""

from __future__ import annotations

import importlib.util
import math
import random
from typing import Any

import batched_cases
import pytest
from graph_strategies import EngineBackend, evaluate, graphs, run
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradengine import MLP, Operation, Value
from gradengine.compile.batched import compile_batched
from gradengine.compile.batched_python import PythonBatched
from gradengine.compile.sample_graph import rows_of
from gradengine.losses import l2, loss_of_inputs


def same(a: Any, b: Any) -> bool:
    """a == b for numbers and nested lists of them, nan equal to nan."""
    if isinstance(a, list) or isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def generated_and_walked(program: Any, rows: list[list[float]], gradients: bool = True) -> None:
    """The program's generated loop and a node-by-node walk of its graph give the same numbers."""
    engine = program._engine
    assert isinstance(engine, PythonBatched) and engine.loop is not None, engine.why_not
    walker = PythonBatched(program.graph, straight_line=False)
    assert walker.loop is None
    data = rows_of(rows, program.width)
    for reduction in ("mean", "sum"):
        got, got_grads = engine.run(list(program.params), data, gradients, reduction)
        want, want_grads = walker.run(list(program.params), data, gradients, reduction)
        assert same(got.loss, want.loss), (got.loss, want.loss)
        assert same(list(got.losses), list(want.losses))
        assert same([list(o) for o in got.outputs], [list(o) for o in want.outputs])
        if gradients:
            assert len(got_grads) == len(program.parameters)
            for k, (g, w) in enumerate(zip(got_grads, want_grads, strict=True)):
                assert same(g, w), (k, g, w, reduction)
        else:
            assert got_grads is None and want_grads is None


def mlp_case(
    seed: int, activation: str, loss: str, penalty: str
) -> tuple[MLP, Any, list[list[float]], Value | None]:
    model, sample, rows = batched_cases.mlp_case(seed, activation, loss)
    params = model.parameters()
    pen: Value | None = None
    if penalty == "l2":
        pen = l2(params, alpha=0.01)
    elif penalty == "notebook":  # a sum of squares node by node, as micrograd's demo writes it
        pen = 1e-2 * sum((p * p for p in params))  # noqa: UP034
    return model, sample, rows, pen


@pytest.mark.parametrize("penalty", ["none", "l2", "notebook"])
@pytest.mark.parametrize("loss", ["hinge", "bce_logits", "mse", "cross_entropy"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("seed", range(3))
def test_the_loop_replays_mlps_as_the_walk_does(seed, activation, loss, penalty):
    model, sample, rows, pen = mlp_case(seed, activation, loss, penalty)
    program = compile_batched(sample, model.parameters(), rows, penalty=pen, backend="python")
    generated_and_walked(program, rows)
    generated_and_walked(program, rows, gradients=False)
    generated_and_walked(program, rows[:1])


def test_the_demo_sample_in_micrograd_style_replays_as_the_walk_does():
    """The demo's sample: (1 + -y * score).relu(), its penalty 1e-4 Σ p² node by node."""
    rng = random.Random(3)
    model = MLP(2, [16, 16, 1], seed=3)
    params = model.parameters()
    rows = [[rng.uniform(-1, 2), rng.uniform(-1, 1), rng.choice([-1.0, 1.0])] for _ in range(40)]

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        score = model(v[:2])
        return (1 + -v[2] * score).relu(), [score]

    penalty = 1e-4 * sum((p * p for p in params))  # noqa: UP034
    program = compile_batched(sample, params, rows, penalty=penalty, backend="python")
    text = str(program)
    assert "one generated Python function: a loop over the samples" in text
    assert "relu(weighted_sum) x32: one number per sample, in the loop" in text
    generated_and_walked(program, rows)


def test_inf_and_nan_reach_the_gradients_as_in_the_walk():
    """An inactive ReLU neuron sends grad * 0.0 back: nan when an input, a weight or the grad
    is inf or nan, which the loop must not skip."""
    model = MLP(2, [5, 4, 1], seed=7)
    params = model.parameters()

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        score = model(v[:2])
        return (score - v[2]) * (score - v[2]), [score]

    rows = [
        [0.5, -1.0, 1.0],
        [math.inf, 1.0, 0.0],
        [-math.inf, 1.0, 0.0],
        [math.nan, 0.5, 1.0],
        [1e308, -1e308, 1.0],
        [0.25, 0.75, math.inf],
        [-2.0, 3.0, -1.0],
    ]
    program = compile_batched(sample, params, rows[:1], backend="python", check=0)
    for k in range(len(rows)):
        generated_and_walked(program, rows[k : k + 1])
        generated_and_walked(program, [rows[0], rows[k], rows[-1]])
    program.params[3] = math.inf  # a weight of the first layer
    program.params[-2] = -1e300
    generated_and_walked(program, rows[:1] + rows[-1:])
    generated_and_walked(program, rows)


SOFTPLUS = Operation(
    "softplus",
    lambda m, x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
    lambda m, x, out: (1.0 / (1.0 + math.exp(-x)),),
)
SCALE = Operation("scale", lambda m, x, a: x * a * 2, lambda m, x, a, out: (a * 2, x * 2))


def test_operations_of_your_own_are_called_sample_by_sample():
    w, c, d = Value(0.7), Value(-0.4), Value(1.3)
    calls = {"value": 0}
    counted = Operation(
        "counted",
        lambda m, x: (calls.__setitem__("value", calls["value"] + 1), x * x)[1],
        lambda m, x, out: (2 * x,),
    )

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        h = SCALE(v[0], w) + SOFTPLUS(v[1] * c)  # a parameter into a row, twice
        k = counted(h * d + w)
        return SOFTPLUS(k - v[1]) + SCALE(w, c) * h, [h, w, Value(2.5)]

    rows = [[0.1 * s, 1.0 - 0.3 * s] for s in range(6)]
    program = compile_batched(
        sample, [w, c, d], rows, penalty=SCALE(w, d) + c * c, backend="python"
    )
    before = calls["value"]
    program.forward(rows)
    assert calls["value"] == before + len(rows)  # the operation's own value, once per sample
    generated_and_walked(program, rows)
    result = program.step(rows)
    assert [list(map(float, o)) for o in result.outputs[1:]] == [[0.7] * 6, [2.5] * 6]


def test_a_loss_that_is_an_input_and_a_penalty_that_is_a_parameter():
    w, u = Value(2.0), Value(-1.5)
    rows = [[1.0, 4.0], [3.0, -2.0]]
    program = compile_batched(lambda v: v[1], [w, u], rows, penalty=w, backend="python")
    generated_and_walked(program, rows)
    result = program.step(rows)
    # by hand: mean(4, -2) + w = 1 + 2; d/dw = 1 (the penalty), d/du = 0
    assert (result.loss, program.grads) == (3.0, [1.0, 0.0])


def test_too_large_a_graph_is_walked_node_by_node_and_says_so():
    model, sample, rows, pen = mlp_case(1, "relu", "hinge", "l2")
    program = compile_batched(sample, model.parameters(), rows, penalty=pen, backend="python")
    walker = PythonBatched(program.graph, max_lines=20)
    assert walker.loop is None
    assert "node by node, each row a list of N floats" in walker.describe()[0]
    assert "more than 20 lines" in walker.describe()[0]
    data = rows_of(rows, program.width)
    got, got_grads = walker.run(program.params, data, True, "mean")
    want, want_grads = program._engine.run(program.params, data, True, "mean")
    assert same(got.loss, want.loss) and same(got_grads, want_grads)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(), shift=st.integers(-3, 3), penalty=st.booleans())
def test_random_graphs_replay_as_the_walk_does(graph, shift, penalty):
    """The first leaf is the sample's input, the others parameters; a node of the parameters
    only (the graph run on them) joins each sample's loss and the penalty."""
    params = [Value(x) for x in graph.leaves[1:]] or [Value(0.5)]

    def of_parameters() -> Value:
        out: Value = run(graph, [params[-1], *params[: len(graph.leaves) - 1]], EngineBackend())[-1]
        return out

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        nodes = run(graph, [v[0], *params[: len(graph.leaves) - 1]], EngineBackend())
        return nodes[-1] * (1 + shift * v[1]) + of_parameters() * v[1], nodes[-3:]

    x0 = graph.leaves[0]
    rows = [[x0, 0.5], [x0 * (1 + 1e-4) + 1e-5, -1.0], [x0 * (1 - 2e-4) - 1e-5, 0.25]]
    try:
        program = compile_batched(
            sample, params, rows, penalty=of_parameters() if penalty else None, backend="python"
        )
    except ValueError as error:
        assume("does not depend on its inputs" not in str(error))
        raise
    assume(program.batched)
    generated_and_walked(program, rows)


def finite_difference(loss_at: Any, params: list[float], k: int) -> float:
    """d loss / d params[k] by the five-point central difference."""
    x = params[k]
    h = 1e-4 * max(1.0, abs(x))
    values = []
    for step in (2, 1, -1, -2):
        shifted = list(params)
        shifted[k] = x + step * h
        values.append(loss_at(shifted))
    f2, f1, fm1, fm2 = values
    return (-f2 + 8 * f1 - 8 * fm1 + fm2) / (12 * h)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
def test_mlp_gradients_match_finite_differences(activation):
    """The oracle: the batch's loss computed by eager Values at shifted parameters."""
    model, sample, rows, pen = mlp_case(5, activation, "mse", "l2")
    params = model.parameters()
    program = compile_batched(sample, params, rows, penalty=pen, backend="python")
    program.step(rows)
    grads = list(program.grads)

    def loss_at(data: list[float]) -> float:
        for p, x in zip(params, data, strict=True):
            p.data = x
        total = sum(sample([Value(x) for x in row])[0].data for row in rows) / len(rows)
        return total + 0.01 * sum(x * x for x in data)

    start = [p.data for p in params]
    for k in range(len(params)):
        want = finite_difference(loss_at, start, k)
        assert math.isclose(grads[k], want, rel_tol=1e-6, abs_tol=1e-8), (k, grads[k], want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs())
def test_random_graph_gradients_match_finite_differences(graph):
    """The oracle: the graph computed with floats by math (graph_strategies.evaluate)."""
    params = [Value(x) for x in graph.leaves[1:]]
    assume(params)

    def sample(v: list[Value]) -> Value:
        out: Value = run(graph, [v[0], *params], EngineBackend())[-1]
        return out

    x0 = graph.leaves[0]
    rows = [[x0], [x0 * (1 + 1e-4) + 1e-5]]
    try:
        program = compile_batched(sample, params, rows, backend="python")
    except ValueError as error:
        assume("does not depend on its inputs" not in str(error))
        raise
    assume(program.batched)
    program.step(rows)
    grads = list(program.grads)
    signs = [evaluate(graph, [row[0], *graph.leaves[1:]])[1] for row in rows]

    def loss_at(data: list[float]) -> float:
        total = 0.0
        for row, sign in zip(rows, signs, strict=True):
            value, shifted_sign = evaluate(graph, [row[0], *data])
            if shifted_sign != sign:
                raise ArithmeticError("a kink or pole within reach")
            total += value
        return total / len(rows)

    start = list(graph.leaves[1:])
    for k in range(len(params)):
        try:
            want = finite_difference(loss_at, start, k)
        except (ArithmeticError, ValueError):
            continue
        assert math.isclose(grads[k], want, rel_tol=1e-5, abs_tol=1e-7), (k, grads[k], want)


def test_an_output_asked_for_twice_is_two_lists():
    w = Value(2.0)

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        y = v[0] * w
        return y * y, [y, y, w]

    program = compile_batched(sample, [w], [[1.0], [3.0]], backend="python")
    generated_and_walked(program, [[1.0], [3.0]])
    first, second, third = program.step([[1.0], [3.0]]).outputs
    assert first == second == [2.0, 6.0] and first is not second and third == [2.0, 2.0]


def test_the_source_is_the_code_that_runs_and_does_not_grow_with_the_batch():
    """exec'd in the engine's constants, its source replays as the engine does; the source is
    written from the recording alone, the same for 2 rows or 200."""
    model, sample, rows, pen = mlp_case(2, "tanh", "mse", "notebook")
    params = model.parameters()
    small = compile_batched(sample, params, rows[:2], penalty=pen, backend="python")
    engine = small._engine
    text = engine.source
    assert text.startswith("# The batched replay") and "for " in text
    namespace = dict(engine.loop.namespace)
    exec(compile(text, "<test>", "exec"), namespace)
    data = rows_of(rows, small.width)
    got = namespace["replay"](list(small.params), data, True, 1.0 / len(data))
    want = engine._replay(list(small.params), data, True, 1.0 / len(data))
    assert same(list(got[0]), list(want[0])) and same(got[3], want[3])
    large = compile_batched(sample, params, rows * 30, penalty=pen, backend="python")
    assert large._engine.source == text
    assert PythonBatched(small.graph, straight_line=False).source == ""


@pytest.mark.parametrize("relu", [False, True])
def test_neurons_with_inputs_of_the_parameters_and_weights_of_the_sample(relu):
    """A neuron whose input is a node of the parameters only (d/dx = w Σ dz after the loop),
    and one whose weight depends on the sample (its derivatives called sample by sample)."""
    from gradengine.fast import weighted_sum

    b, w1, w2, w3 = Value(0.3), Value(-0.8), Value(0.6), Value(1.1)

    def sample(v: list[Value]) -> Value:
        h = weighted_sum(b, [w1, w2], [v[0], w3 * 2.0], relu=relu)
        k = weighted_sum(w3, [v[1] * w1, w2], [h, v[0]], relu=relu)
        return (k - v[1]) * (k - v[1]) + h * w3

    rows = [[0.5, -1.0], [-2.0, 0.25], [1.5, 2.0], [-0.1, 0.0]]
    params = [b, w1, w2, w3]
    program = compile_batched(sample, params, rows, penalty=w3 * w3, backend="python")
    generated_and_walked(program, rows)
    program.step(rows)
    grads = list(program.grads)

    def loss_at(data: list[float]) -> float:
        for p, x in zip(params, data, strict=True):
            p.data = x
        return sum(sample([Value(x) for x in row]).data for row in rows) / 4 + data[3] ** 2

    start = [p.data for p in params]
    for k in range(4):
        want = finite_difference(loss_at, start, k)
        assert math.isclose(grads[k], want, rel_tol=1e-6, abs_tol=1e-9), (k, grads[k], want)


def test_a_batched_programs_source_is_the_code_it_runs():
    model = MLP(2, [3, 1], seed=4)
    params = model.parameters()

    def sample(v: list[Value]) -> Any:
        return loss_of_inputs("hinge", [model(v[:2]), v[2]])

    rows = [[0.5, -1.0, 1.0], [1.5, 0.25, -1.0]]
    program = compile_batched(sample, params, rows, backend="python")
    namespace: dict[str, Any] = {}
    exec(compile(program.source, "<source>", "exec"), namespace)  # it is Python that compiles
    assert "for " in program.source and "def " in program.source
    if importlib.util.find_spec("numpy") is not None:  # NumPy's steps, as print(program) says
        numpy_program = compile_batched(sample, params, rows, backend="numpy")
        assert numpy_program.source == str(numpy_program)
