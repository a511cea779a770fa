"""Random expression graphs: every leaf's gradient against finite differences and PyTorch."""

from __future__ import annotations

import inspect
import math

import pytest
from graph_strategies import (
    OPS,
    Backend,
    EngineBackend,
    Graph,
    Ref,
    Step,
    evaluate,
    graphs,
    run,
)
from hypothesis import assume, given, settings

import gradengine.fast.neurons as gv
from gradengine.anomaly import detect_anomaly
from gradengine.engine import Value

FD_GRAPHS = 1500
TORCH_GRAPHS = 800
ANOMALY_GRAPHS = 200


def engine_gradients(graph: Graph) -> tuple[float, list[float]]:
    """The output and d(output)/d(leaf) for every leaf, by gradengine."""
    leaves = [Value(x) for x in graph.leaves]
    out = run(graph, leaves, EngineBackend())[-1]
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def central_difference(graph: Graph, i: int) -> float | None:
    """d(output)/d(leaf i) by the five-point central difference; None if a kink lies within reach.

    (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h has error O(h^4), so h = 1e-4 leaves
    truncation far below rounding, and the comparison can be tight.
    """
    x = graph.leaves[i]
    h = 1e-4 * max(1.0, abs(x))
    _, signs = evaluate(graph, graph.leaves)
    values = []
    for k in (2, 1, -1, -2):
        shifted = list(graph.leaves)
        shifted[i] = x + k * h
        try:
            value, shifted_signs = evaluate(graph, shifted)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if shifted_signs != signs:
            return None
        values.append(value)
    f2, f1, fm1, fm2 = values
    return (-f2 + 8 * f1 - 8 * fm1 + fm2) / (12 * h)


@settings(max_examples=FD_GRAPHS)
@given(graph=graphs())
def test_every_leaf_gradient_matches_central_differences(graph: Graph) -> None:
    out, grads = engine_gradients(graph)
    expected_out, _ = evaluate(graph, graph.leaves)
    assert math.isclose(out, expected_out, rel_tol=1e-9, abs_tol=1e-12), (out, expected_out)
    for i, grad in enumerate(grads):
        numeric = central_difference(graph, i)
        assume(numeric is not None)
        assert numeric is not None
        assert math.isclose(grad, numeric, rel_tol=1e-6, abs_tol=1e-6), (
            f"d(out)/d(v{i}): gradengine {grad!r}, central difference {numeric!r}"
        )


@settings(max_examples=TORCH_GRAPHS)
@given(graph=graphs())
def test_every_leaf_gradient_matches_pytorch_float64(graph: Graph) -> None:
    torch = pytest.importorskip("torch")
    out, grads = engine_gradients(graph)
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph.leaves]
    out_t = run(graph, leaves, Backend())[-1]
    expected = torch.autograd.grad(out_t, leaves, allow_unused=True)
    assert math.isclose(out, out_t.item(), rel_tol=1e-12, abs_tol=1e-12), (out, out_t.item())
    for i, (grad, g) in enumerate(zip(grads, expected, strict=True)):
        reference = 0.0 if g is None else g.item()
        assert math.isclose(grad, reference, rel_tol=1e-10, abs_tol=1e-10), (
            f"d(out)/d(v{i}): gradengine {grad!r}, PyTorch {reference!r}"
        )


@settings(max_examples=ANOMALY_GRAPHS)
@given(graph=graphs())
def test_anomaly_mode_changes_no_result_on_finite_graphs(graph: Graph) -> None:
    out, grads = engine_gradients(graph)
    with detect_anomaly():
        checked_out, checked_grads = engine_gradients(graph)
    assert (checked_out, checked_grads) == (out, grads)


def test_strategy_covers_every_operation() -> None:
    """A new public operation on Value or in gradengine.fast must be added to the strategy."""
    methods = {
        name
        for name, member in inspect.getmembers(Value, inspect.isfunction)
        if (not name.startswith("_") or name.startswith("__"))
        and name
        not in ("__new__", "__init__", "node")  # node(): how each operation records its result
        and "Value" in str(inspect.signature(member).return_annotation)
    }
    functions = {
        name
        for name, member in inspect.getmembers(gv, inspect.isfunction)
        if member.__module__ == gv.__name__
        and not name.startswith("_")
        and inspect.signature(member).return_annotation in ("Value", Value)
    }
    covered_methods = {
        "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
        "__rtruediv__", "__neg__", "__pow__", "__rpow__", "relu", "tanh", "exp", "log",
        "sigmoid",
    }  # fmt: skip
    assert methods == covered_methods
    assert functions == {"weighted_sum", "total", "neuron"}  # neuron: what weighted_sum builds
    assert set(inspect.signature(gv.weighted_sum).parameters) == {
        "bias", "weights", "inputs", "relu"
    }  # fmt: skip
    assert len(OPS) == 16


def test_repr_is_a_program_that_rebuilds_the_graph() -> None:
    graph = Graph(
        (0.5, -2.0),
        (
            Step("*", (Ref(0), Ref(0))),
            Step("/", (1, Ref(1))),
            Step("weighted_sum", (Ref(2), Ref(3), Ref(0), 3.0, Ref(1))),
        ),
    )
    namespace: dict[str, object] = {}
    exec(repr(graph), namespace)
    v0, v1 = namespace["v0"], namespace["v1"]
    assert isinstance(v0, Value) and isinstance(v1, Value)
    # out = v0^2 + (1/v1) * 3 + v0 * v1: d/dv0 = 2 v0 + v1 = -1, d/dv1 = -3/v1^2 + v0 = -0.25
    assert v0.grad == pytest.approx(-1.0)
    assert v1.grad == pytest.approx(-0.25)
