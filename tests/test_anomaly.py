"""Anomaly mode: the first nan or inf, forward or backward, is named; outside it, IEEE-754."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from gradengine import MLP, Value, engine, total, weighted_sum
from gradengine.anomaly import detect_anomaly, is_anomaly_enabled

ORIGINAL_BACKWARD = Value.__dict__["backward"]

# (name, computation from finite inputs that overflows or leaves the domain, op in the message,
# inputs in the message). neg, relu, tanh and sigmoid map finite numbers to finite numbers.
FORWARD = [
    ("add", lambda: Value(1e308) + Value(1e308), "'+'", ["1e+308", "1e+308"]),
    ("radd", lambda: 1e308 + Value(1e308), "'+'", ["1e+308", "1e+308"]),
    ("sub", lambda: Value(-1e308) - Value(1e308), "'-'", ["-1e+308", "1e+308"]),
    ("rsub", lambda: -1e308 - Value(1e308), "'-'", ["-1e+308", "1e+308"]),
    ("mul", lambda: Value(1e200) * Value(1e200), "'*'", ["1e+200", "1e+200"]),
    ("rmul", lambda: 1e200 * Value(1e200), "'*'", ["1e+200", "1e+200"]),
    ("div by 0", lambda: Value(1.0) / Value(0.0), "'/'", ["1.0", "0.0"]),
    ("0 / 0", lambda: Value(0.0) / 0, "'/'", ["0.0", "0.0"]),
    ("rdiv", lambda: 2 / Value(0.0), "'/'", ["2.0", "0.0"]),
    ("pow number", lambda: Value(0.0) ** -1, "'**-1'", ["0.0"]),
    ("pow overflow", lambda: Value(10.0) ** 400, "'**400'", ["10.0"]),
    ("pow nan", lambda: Value(-8.0) ** Value(1 / 3), "'**'", ["-8.0", "0.333"]),
    ("rpow", lambda: 10 ** Value(400.0), "'**'", ["10.0", "400.0"]),
    ("exp", lambda: Value(710.0).exp(), "'exp'", ["710.0"]),
    ("log 0", lambda: Value(0.0).log(), "'log'", ["0.0"]),
    ("log negative", lambda: Value(-1.0).log(), "'log'", ["-1.0"]),
    (
        "weighted_sum",
        lambda: weighted_sum(Value(0.0), [Value(1e308)], [10.0]),
        "'weighted_sum'",
        ["1e+308", "10.0"],
    ),
    (
        "relu(weighted_sum)",
        lambda: weighted_sum(Value(1e308), [Value(1e308)], [Value(1.0)], relu=True),
        "weighted_sum",
        ["1e+308", "1.0"],
    ),
    ("total", lambda: total([Value(1e308), 1e308]), "'sum'", ["1e+308", "1e+308"]),
]


@pytest.mark.parametrize(("name", "compute", "op", "inputs"), FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_anomaly_names_the_operation_and_its_inputs(
    name: str, compute: Callable[[], Value], op: str, inputs: list[str]
) -> None:
    outside = compute()  # outside the block: IEEE-754, no error
    assert not math.isfinite(outside.data)
    with detect_anomaly(), pytest.raises(FloatingPointError) as error:
        compute()
    message = str(error.value)
    assert "forward" in message and op in message
    assert repr(outside.data) in message
    for text in inputs:
        assert text in message


def test_a_non_finite_input_is_no_new_anomaly() -> None:
    with detect_anomaly():
        x = Value(math.inf)
        y = (x + 1) * 2  # inf came in from outside; these operations only pass it on
        z = Value(1.0) + math.inf  # a constant inf operand, no operation made it
    assert y.data == math.inf and z.data == math.inf


def test_backward_anomaly_names_op_parent_upstream_and_local_derivative() -> None:
    x = Value(0.0, label="x")
    with detect_anomaly():
        y = x**0.5 * 3.0  # sqrt is finite at 0, its derivative 0.5 / sqrt(0) is not
        with pytest.raises(FloatingPointError) as error:
            y.backward()
    message = str(error.value)
    assert "backward" in message and "'**0.5'" in message
    assert "label='x'" in message and "data=0.0" in message
    assert "upstream grad 3.0" in message and "local derivative inf" in message


def test_backward_anomaly_is_the_first_one_the_backward_pass_meets() -> None:
    a, b = Value(0.0, label="a"), Value(0.0, label="b")
    with detect_anomaly():
        out = a**0.5 + (b**0.5) * 2.0  # two anomalies; the pass reaches b's branch first
        with pytest.raises(FloatingPointError, match="label='b'"):
            out.backward()


def test_backward_anomaly_zero_times_infinite_derivative() -> None:
    x = Value(0.0, label="x")
    with detect_anomaly():
        y = (x**0.5) * 0.0  # upstream grad 0 * local derivative inf = nan
        with pytest.raises(FloatingPointError, match=r"upstream grad 0\.0 \* local derivative inf"):
            y.backward()


def test_backward_anomaly_when_finite_contributions_add_up_to_inf() -> None:
    x = Value(1e-10, label="x")
    with detect_anomaly():
        y = x * 1e308 + x * 1e308  # each contribution is 1e308; their sum is not finite
        with pytest.raises(FloatingPointError, match=r"label='x'.*is inf: adding up finite"):
            y.backward()


def test_backward_anomaly_when_a_leaf_already_held_inf() -> None:
    x = Value(1.0)
    x.grad = math.inf
    with detect_anomaly(), pytest.raises(FloatingPointError, match="already held"):
        (x * 2).backward()


def test_outside_the_block_ieee_semantics_apply() -> None:
    x = Value(0.0)
    y = x**0.5
    y.backward()
    assert x.grad == math.inf
    assert (Value(1.0) / 0).data == math.inf
    assert math.isnan((Value(-1.0).log()).data)


def test_the_engine_is_untouched_outside_the_block_even_after_an_error() -> None:
    assert not is_anomaly_enabled()
    with pytest.raises(FloatingPointError), detect_anomaly():
        assert is_anomaly_enabled()
        Value(1.0) / 0
    assert not is_anomaly_enabled()
    assert engine.WATCHERS == [] and engine.CHECKS == []  # nothing is watching any more
    assert Value.__dict__["backward"] is ORIGINAL_BACKWARD


def test_nested_blocks_stay_active_until_the_outermost_ends() -> None:
    with detect_anomaly():
        with detect_anomaly():
            pass
        assert is_anomaly_enabled()
        with pytest.raises(FloatingPointError):
            Value(1.0) / 0
    assert not is_anomaly_enabled()
    assert (Value(1.0) / 0).data == math.inf


def test_anomaly_mode_gives_the_same_gradients_on_a_network() -> None:
    model = MLP(3, [4, 4, 1], seed=0)
    x = [0.5, -1.0, 2.0]

    def grads() -> list[float]:
        model.zero_grad()
        out = model(x)
        assert isinstance(out, Value)
        (out * out).backward()
        return [p.grad for p in model.parameters()]

    plain = grads()
    with detect_anomaly():
        checked = grads()
    assert checked == plain and any(g != 0 for g in plain)


def test_backward_twice_inside_the_block_accumulates_as_outside() -> None:
    def leaf_grad() -> float:
        x = Value(0.5)
        y = x.tanh() * x
        y.backward()
        y.backward()
        return x.grad

    plain = leaf_grad()
    with detect_anomaly():
        assert leaf_grad() == plain


def test_a_training_step_that_meets_a_non_finite_gradient_says_so() -> None:
    optim = pytest.importorskip("gradengine.optim")
    model = MLP(2, [1], seed=0)
    before = [p.data for p in model.parameters()]
    out = model([1e200, 1e200])
    assert isinstance(out, Value)
    (out * out).backward()  # the loss overflows: nan and inf gradients
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match="non-finite gradient"):
        optimizer.step()
    assert [p.data for p in model.parameters()] == before


def test_a_backward_anomaly_leaves_every_leaf_as_it_was() -> None:
    x, w = Value(2.0), Value(3.0)
    x.grad, w.grad = 5.0, -1.0
    with detect_anomaly(), pytest.raises(FloatingPointError, match="sends the gradient"):
        (((x - 2.0) ** 0.5) * w + x).backward()  # d√u/du at u = 0 is inf
    assert (x.grad, w.grad) == (5.0, -1.0)
