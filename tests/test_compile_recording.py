"""The recording compiled mode replays (positions, kinds, slots), its refusals of leaves given
twice, and what a batched program keeps of the graph it recorded."""

from __future__ import annotations

import gc
import math
import weakref
from typing import Any

import pytest
from backends import BACKENDS

from gradengine import MLP, Value, compile_graph
from gradengine.compile import CONSTANT, INPUT, NODE, PARAMETER, Recording
from gradengine.compile.batched import compile_batched
from gradengine.engine import topological_order
from gradengine.losses import hinge, l2, loss_of_inputs


def shared_graph() -> tuple[Value, list[Value], list[Value]]:
    """A loss that uses a product and an input several times, with a constant 2.0 in it."""
    a, b, c, x = Value(0.5), Value(-1.5), Value(2.0), Value(3.0)
    ab = a * b
    loss = (ab + x) * (ab - c) + (ab * 2.0).tanh() + x
    return loss, [a, b, c], [x]


def test_positions_kinds_and_slots_follow_the_engines_walk() -> None:
    loss, params, inputs = shared_graph()
    rec = Recording(loss, params, inputs)
    order = topological_order(loss)  # the engine's own walk is the oracle
    assert len(rec) == len(order)
    assert all(got is want for got, want in zip(rec.order, order, strict=True))
    place = {id(node): i for i, node in enumerate(order)}
    constants = [node.data for node in order if not node._parents and node not in params + inputs]
    assert rec.constants == constants == [2.0]
    for i, node in enumerate(order):
        assert tuple(rec.parents[i]) == tuple(place[id(p)] for p in node._parents)
        if node._parents:
            assert (rec.kinds[i], rec.slots[i]) == (NODE, -1)
        elif any(node is p for p in params):
            assert (rec.kinds[i], rec.slots[i]) == (PARAMETER, params.index(node))
        elif any(node is x for x in inputs):
            assert (rec.kinds[i], rec.slots[i]) == (INPUT, inputs.index(node))
        else:
            assert (rec.kinds[i], rec.slots[i]) == (CONSTANT, constants.index(node.data))
    assert rec.root == len(order) - 1


def test_leaves_given_twice_or_as_both_are_refused() -> None:
    loss, (a, b, c), (x,) = shared_graph()
    unused = Value(7.0)
    with pytest.raises(ValueError, match=r"parameters\[3\] appears twice in parameters"):
        compile_graph(loss, [a, b, c, a], [x], backend="python")
    with pytest.raises(ValueError, match=r"inputs\[1\] appears twice in inputs"):
        compile_graph(loss, [a, b, c], [x, x], backend="python")
    with pytest.raises(ValueError, match=r"inputs\[1\] is also one of the parameters"):
        compile_graph(loss, [a, b, c], [x, b], backend="python")
    # leaves outside the graph are checked the same way
    with pytest.raises(ValueError, match=r"parameters\[4\] appears twice in parameters"):
        compile_graph(loss, [a, b, c, unused, unused], [x], backend="python", allow_unused=True)
    with pytest.raises(ValueError, match=r"inputs\[1\] is also one of the parameters"):
        compile_graph(loss, [a, b, c, unused], [x, unused], backend="python", allow_unused=True)


def test_the_first_leaf_outside_the_graph_is_named() -> None:
    loss, (a, b, c), (x,) = shared_graph()
    first, second = Value(7.0, label="first"), Value(8.0, label="second")
    with pytest.raises(ValueError, match=r"parameters\[1\] \(Value\(data=7.0\) labelled 'first'"):
        compile_graph(loss, [a, first, b, c, second], [x], backend="python")
    with pytest.raises(ValueError, match=r"inputs\[0\] \(Value\(data=8.0\) labelled 'second'"):
        compile_graph(loss, [a, b, c], [second, x], backend="python")
    program = compile_graph(loss, [a, first, b, c], [x], backend="python", allow_unused=True)
    assert program.run() == loss.data


ROWS = [[0.5, -1.0, 1.0], [1.0, 2.0, -1.0], [-0.3, 0.8, 1.0]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batched_program_keeps_no_value_of_the_graphs_it_recorded(backend: str) -> None:
    model = MLP(2, [4, 1], seed=0)
    params = model.parameters()
    made: list[weakref.ref[Value]] = []

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        scores = model.forward(v[:2])
        loss = loss_of_inputs("hinge", [scores[0], v[2]])
        made.extend([weakref.ref(loss), weakref.ref(scores[0])])
        return loss, scores

    penalty = l2(params, alpha=0.01)
    penalty_data, penalty_ref = penalty.data, weakref.ref(penalty)
    program = compile_batched(sample, params, ROWS, penalty=penalty, backend=backend, check=2)
    del penalty
    gc.collect()
    assert len(made) == 6  # the first row and the two checked
    assert all(ref() is None for ref in made)
    assert penalty_ref() is None
    # it still replays: eager mode's mean hinge loss over the rows, plus the penalty
    want = penalty_data
    for x1, x2, label in ROWS:
        want += hinge(model.forward([Value(x1), Value(x2)]), [label]).data / len(ROWS)
    assert math.isclose(program.forward(ROWS).loss, want, rel_tol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_print_counts_the_sample_graph_after_compiling(backend: str) -> None:
    model = MLP(2, [4, 1], seed=0)
    params = model.parameters()

    def sample(v: list[Value]) -> Any:
        scores = model.forward(v[:2])
        return loss_of_inputs("hinge", [scores[0], v[2]]), scores

    program = compile_batched(sample, params, ROWS, penalty=l2(params), backend=backend)
    program.step(ROWS)
    text = str(program)
    # 4 + 1 neurons and the hinge loss per sample; the penalty once; 4 * 3 + 1 * 5 parameters
    assert (
        "per sample: 3 inputs, 6 nodes (a row of N numbers each); parameters only: "
        "17 parameters, 1 node (one number each)"
    ) in text
    assert "loss: the mean over the samples of hinge, plus l2 once" in text
    assert str(program) == text
