"""program.source: the code a compiled program runs; and the Python backend's deep graphs."""

from __future__ import annotations

import ast
import math
import random
import re

import pytest
from graph_strategies import EngineBackend, graphs, run
from hypothesis import HealthCheck, given, settings

from gradengine import MLP, Value, compile_graph
from gradengine.compile import python as python_backend


def mlp_loss(seed: int = 0) -> tuple[Value, MLP, list[Value]]:
    """A ReLU MLP's squared error on two samples: loss, model, input leaves."""
    model = MLP(2, [4, 1], seed=seed)
    xs = [[Value(1.0), Value(-2.0)], [Value(0.5), Value(0.25)]]
    loss = sum(((model(x) - y) ** 2 for x, y in zip(xs, [1.0, -1.0], strict=True)), Value(0.0))
    return loss, model, [v for x in xs for v in x]


def eager(model: MLP, batch: list[float]) -> tuple[float, list[float]]:
    """The loss of mlp_loss and its parameter gradients for another batch, by backward()."""
    xs = [[Value(batch[0]), Value(batch[1])], [Value(batch[2]), Value(batch[3])]]
    model.zero_grad()
    loss = sum(((model(x) - y) ** 2 for x, y in zip(xs, [1.0, -1.0], strict=True)), Value(0.0))
    loss.backward()
    return loss.data, [p.grad for p in model.parameters()]


def test_the_python_source_is_the_code_that_runs() -> None:
    """exec'd in the program's constants, program.source replays the graph as run() does."""
    loss, model, inputs = mlp_loss()
    program = compile_graph(loss, model.parameters(), inputs, backend="python")
    batch = [0.3, -1.5, 2.0, 0.7]
    want, want_grads = eager(model, batch)
    namespace = dict(program._engine.program.src.namespace)  # the constants the source reads
    del namespace["replay"]
    exec(program.source, namespace)
    model.zero_grad()
    assert namespace["replay"](batch) == want
    assert [p.grad for p in model.parameters()] == want_grads  # bit for bit, as eager mode


def test_the_python_source_holds_each_derivative_as_eager_mode_writes_it() -> None:
    """d tanh(x)/dx = 1 - tanh(x)^2, from the result: value.py's TANH derivatives, as Python."""
    w, x = Value(0.3), Value(2.0)
    program = compile_graph((w * x).tanh(), [w], [x], backend="python")
    tree = ast.parse(program.source)
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == ["replay"]
    assert "(1.0 - (out * out))" in program.source
    assert "map(tanh," in program.source


def test_the_numpy_listing_has_a_line_per_array_operation() -> None:
    pytest.importorskip("numpy", reason="the NumPy backend needs numpy")
    loss, model, inputs = mlp_loss()
    program = compile_graph(loss, model.parameters(), inputs, backend="numpy")
    listing = program.source.splitlines()
    steps = program._engine.steps
    forward = [line for line in listing if "# level" in line]
    assert len(forward) == len(steps)
    # two layers, each one matrix product over the two samples: relu(X @ W.T + b) then X @ W.T + b
    products = [line for line in forward if "@" in line]
    assert len(products) == 2
    assert "relu(" in products[0] and "[2x2] @ [4x2].T" in products[0]
    assert "relu(" not in products[1] and "[2x4] @ [1x4].T" in products[1]
    assert any(line.strip().startswith("G[W0] += gz0.T @ V[X0]") for line in listing)


def test_print_and_repr_are_unchanged_by_the_source() -> None:
    loss, model, inputs = mlp_loss()
    program = compile_graph(loss, model.parameters(), inputs, backend="python")
    assert program.source not in str(program)
    assert isinstance(program.source, str)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(graph=graphs())
def test_a_source_cut_into_parts_computes_what_one_function_does(graph, monkeypatch) -> None:
    """Parts of a few lines each (as a deep graph's are): bit for bit eager mode's results."""
    monkeypatch.setattr(python_backend, "_WHOLE", 10)
    monkeypatch.setattr(python_backend, "_PART", 4)
    leaves = [Value(x) for x in graph.leaves]
    out = run(graph, leaves, EngineBackend())[-1]
    if not isinstance(out, Value) or not out._parents:
        return
    out.backward()
    want = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    program = compile_graph(out, leaves, backend="python", allow_unused=True)
    assert program.run() == out.data or (math.isnan(out.data) and math.isnan(program.run()))
    for leaf in leaves:
        leaf.grad = 0.0
    program.run()
    got = [leaf.grad for leaf in leaves]
    assert all(g == w or (math.isnan(g) and math.isnan(w)) for g, w in zip(got, want, strict=True))


def test_an_mlp_cut_into_parts_matches_eager_on_new_batches(monkeypatch) -> None:
    monkeypatch.setattr(python_backend, "_WHOLE", 10)
    monkeypatch.setattr(python_backend, "_PART", 5)
    loss, model, inputs = mlp_loss(seed=3)
    program = compile_graph(loss, model.parameters(), inputs, backend="python")
    assert program.source.count("\ndef part") > 5
    rng = random.Random(1)
    # inf: the run is replayed by the program without matrix products, in parts as well
    for batch in [[rng.uniform(-2, 2) for _ in range(4)] for _ in range(3)] + [[math.inf] * 4]:
        want, want_grads = eager(model, batch)
        model.zero_grad()
        got = program.run(batch)
        assert got == want or (math.isnan(got) and math.isnan(want))
        assert all(
            g == w or (math.isnan(g) and math.isnan(w))
            for g, w in zip([p.grad for p in model.parameters()], want_grads, strict=True)
        )


def test_a_deep_chain_compiles_as_functions_of_bounded_size() -> None:
    """20,000 nodes: the generated code grows linearly, in functions of at most ~_PART lines
    (CPython compiles one function in time that grows with the square of its size)."""
    w, x = Value(0.999), Value(0.5)
    y = x
    steps = 6_666  # 3 nodes each (*, +, tanh), and the leaves w and x
    for _ in range(steps):
        y = (y * w + x).tanh()
    nodes = 3 * steps + 2
    program = compile_graph(y, [w], [x], backend="python")
    functions = program.source.split("\n\n\n")
    longest = max(len(f.splitlines()) for f in functions)
    assert longest <= python_backend._PART + 200, longest
    assert len(program.source.splitlines()) <= 20 * nodes
    w.grad = x.grad = 0.0
    assert program.run([0.25]) == _chain_value(0.25, 0.999, steps)


def _chain_value(x: float, w: float, steps: int) -> float:
    """tanh(y w + x), repeated from y = x: the chain's value, with floats (an oracle)."""
    y = x
    for _ in range(steps):
        y = math.tanh(y * w + x)
    return y


def test_the_depth_benchmark_runs_on_a_tiny_chain() -> None:
    """benchmarks/compile_depth.py measures; here it only runs (no timing is asserted)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    script = str(root / "benchmarks" / "compile_depth.py")
    out = subprocess.run(
        [sys.executable, script, "--nodes", "50", "--repeats", "1", "--backends", "python"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    ).stdout
    assert "50-node chain" in out
    assert re.search(r"python +min [\d.]+ s +median [\d.]+ s +mean [\d.]+ s +peak \d+ MB", out)
