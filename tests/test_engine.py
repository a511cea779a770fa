"""Value: exact results of every operation, backward's semantics, IEEE floats, bad input.

Expected numbers are hand-derived (or exact IEEE-754 facts); gradients of every operation are
also checked against central finite differences on hypothesis-drawn inputs.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import weakref
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradengine import MLP, Value, total, weighted_sum
from gradengine.engine import topological_order
from gradengine.gradcheck import gradcheck

inf, nan = math.inf, math.nan
LN2 = math.log(2.0)


def grads_of(f: Callable[..., Value], *inputs: float) -> tuple[float, list[float]]:
    """(f(inputs).data, [d f / d input for each input]) after one backward pass."""
    leaves = [Value(x) for x in inputs]
    out = f(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


# -- exact values and gradients of every operation ------------------------------------------------

# (name, f, inputs, f(inputs), [df/dinput]) with every number worked out by hand.
EXACT = [
    ("add", lambda x, y: x + y, (2, 3), 5.0, [1.0, 1.0]),
    ("add number right", lambda x: x + 2, (3,), 5.0, [1.0]),
    ("add number left", lambda x: 2 + x, (3,), 5.0, [1.0]),
    ("sub", lambda x, y: x - y, (2, 3), -1.0, [1.0, -1.0]),
    ("sub number right", lambda x: x - 2, (3,), 1.0, [1.0]),
    ("sub number left", lambda x: 2 - x, (3,), -1.0, [-1.0]),
    ("mul", lambda x, y: x * y, (2, 3), 6.0, [3.0, 2.0]),
    ("mul number right", lambda x: x * 4, (3,), 12.0, [4.0]),
    ("mul number left", lambda x: 4 * x, (3,), 12.0, [4.0]),
    ("div", lambda x, y: x / y, (3, 2), 1.5, [0.5, -0.75]),
    ("div number right", lambda x: x / 4, (3,), 0.75, [0.25]),
    ("div number left", lambda x: 2 / x, (4,), 0.5, [-0.125]),
    ("neg", lambda x: -x, (2,), -2.0, [-1.0]),
    ("pow number", lambda x: x**2, (3,), 9.0, [6.0]),
    ("pow negative number", lambda x: x**-1, (2,), 0.5, [-0.25]),
    ("pow half", lambda x: x**0.5, (4,), 2.0, [0.25]),
    ("pow zero", lambda x: x**0, (5,), 1.0, [0.0]),
    ("pow Value", lambda x, y: x**y, (2, 3), 8.0, [12.0, 8.0 * LN2]),
    ("pow number base", lambda x: 2**x, (3,), 8.0, [8.0 * LN2]),
    ("relu positive", lambda x: x.relu(), (2.5,), 2.5, [1.0]),
    ("relu negative", lambda x: x.relu(), (-2.5,), 0.0, [0.0]),
    ("relu at zero", lambda x: x.relu(), (0,), 0.0, [0.0]),
    ("tanh at 0", lambda x: x.tanh(), (0,), 0.0, [1.0]),
    ("tanh at ln 2", lambda x: x.tanh(), (LN2,), 0.6, [0.64]),  # (4-1)/(4+1); 1 - 0.36
    ("exp at 0", lambda x: x.exp(), (0,), 1.0, [1.0]),
    ("exp at 1", lambda x: x.exp(), (1,), math.e, [math.e]),
    ("log at 1", lambda x: x.log(), (1,), 0.0, [1.0]),
    ("log at 4", lambda x: x.log(), (4,), 2 * LN2, [0.25]),
    ("sigmoid at 0", lambda x: x.sigmoid(), (0,), 0.5, [0.25]),
    ("sigmoid at ln 3", lambda x: x.sigmoid(), (math.log(3),), 0.75, [0.1875]),  # 3/4; 3/4*1/4
    ("weighted_sum", lambda b, w1, w2, x1, x2: weighted_sum(b, [w1, w2], [x1, x2]),
     (0.5, 2, -1, 3, 4), 2.5, [1.0, 3.0, 4.0, 2.0, -1.0]),
    ("weighted_sum of numbers", lambda b, w1, w2: weighted_sum(b, [w1, w2], [3, 4]),
     (0.5, 2, -1), 2.5, [1.0, 3.0, 4.0]),
    ("weighted_sum relu open", lambda b, w, x: weighted_sum(b, [w], [x], relu=True),
     (0.5, 2, 3), 6.5, [1.0, 3.0, 2.0]),
    ("weighted_sum relu closed", lambda b, w, x: weighted_sum(b, [w], [x], relu=True),
     (0.5, 2, -3), 0.0, [0.0, 0.0, 0.0]),
    ("weighted_sum relu at the kink", lambda b, w, x: weighted_sum(b, [w], [x], relu=True),
     (-6, 2, 3), 0.0, [0.0, 0.0, 0.0]),
    ("total", lambda x, y, z: total([x, y, z]), (1, 2, 3.5), 6.5, [1.0, 1.0, 1.0]),
    ("total with numbers", lambda x: total([x, 2, 3]), (1,), 6.0, [1.0]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "f", "inputs", "value", "grads"), EXACT, ids=[row[0] for row in EXACT]
)
def test_exact_value_and_gradient(
    name: str, f: Callable[..., Value], inputs: tuple[float, ...], value: float, grads: list[float]
) -> None:
    out, got = grads_of(f, *inputs)
    assert out == pytest.approx(value, rel=1e-15, abs=1e-15)
    assert got == pytest.approx(grads, rel=1e-15, abs=1e-15)


def test_results_are_values_holding_floats() -> None:
    x = Value(3)
    results = [x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 2 / x, -x, x**2, 2**x, x**x]
    results += [x**2, x.relu(), x.tanh(), x.exp(), x.log(), x.sigmoid()]
    assert all(isinstance(r, Value) and type(r.data) is float for r in results)
    assert type(Value(3).data) is float and type(Value(True).data) is float


def test_operands_are_not_modified() -> None:
    x, y = Value(2), Value(3)
    x * y + x / y - x**y
    assert (x.data, y.data, x.grad, y.grad) == (2.0, 3.0, 0.0, 0.0)


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert Value(np.float64(2.5)).data == 2.5
    assert (Value(2) * np.float32(1.5)).data == 3.0
    assert (Value(2) ** np.int64(3)).data == 8.0


# -- backward semantics ---------------------------------------------------------------------------


def test_leaf_gradients_accumulate_exactly_double() -> None:
    a, b = Value(1.5), Value(-0.7)
    out = (a * b).tanh() + a.exp() / b
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])


def test_interior_gradients_hold_the_latest_call() -> None:
    # d = 3a + a: dd/da = 4 per call; the leaf accumulates to 8 (micrograd compounds to 11).
    a = Value(2)
    b = a * 3
    d = b + a
    d.backward()
    d.backward()
    assert a.grad == 8.0
    assert b.grad == 1.0
    assert d.grad == 1.0


def test_backward_on_a_leaf_sets_its_own_gradient() -> None:
    a = Value(5)
    a.backward()
    assert a.grad == 1.0
    a.backward()
    assert a.grad == 2.0


def test_two_outputs_sharing_a_subgraph_give_leaves_the_sum() -> None:
    a, b = Value(2), Value(3)
    shared = a * b
    first = shared + 1  # d/da = b = 3, d/db = a = 2
    second = shared * a  # a^2 b: d/da = 2ab = 12, d/db = a^2 = 4
    first.backward()
    second.backward()
    assert (a.grad, b.grad) == (15.0, 6.0)
    assert shared.grad == 2.0  # d(second)/d(shared) = a, from the latest call only


@pytest.mark.parametrize(
    ("name", "f", "x", "grad"),
    [
        ("a + a", lambda a: a + a, 3.0, 2.0),
        ("a * a", lambda a: a * a, 3.0, 6.0),
        ("a - a", lambda a: a - a, 3.0, 0.0),
        ("a / a", lambda a: a / a, 3.0, 0.0),
        ("a ** a", lambda a: a**a, 2.0, 4.0 * (LN2 + 1.0)),
        ("a * a * a", lambda a: a * a * a, 2.0, 12.0),
        ("total([a, a, a])", lambda a: total([a, a, a]), 2.0, 3.0),
        ("weighted_sum(a, [a], [a])", lambda a: weighted_sum(a, [a], [a]), 3.0, 7.0),
    ],
)
def test_a_node_used_twice_gets_every_contribution(
    name: str, f: Callable[[Value], Value], x: float, grad: float
) -> None:
    assert grads_of(f, x)[1] == [pytest.approx(grad, rel=1e-15)]


def test_million_node_chain_has_no_recursion_error() -> None:
    x = leaf = Value(1.5)
    for _ in range(1_000_000):
        x = -x  # an even number of negations: x = leaf, dx/dleaf = 1
    x.backward()
    assert x.data == 1.5
    assert leaf.grad == 1.0
    assert repr(x) == "Value(data=1.5, grad=1.0)"  # printing never walks the graph


def test_dropped_graph_is_freed_by_reference_counting_alone() -> None:
    gc.collect()
    gc.disable()  # the cyclic collector cannot help: freeing must need no cycle detection
    try:
        a, b = Value(2), Value(3)
        out = ((a * b + a).tanh() * b).exp() / a
        out.backward()
        interior = weakref.ref(out._parents[0])
        root = weakref.ref(out)
        del out
        assert root() is None
        assert interior() is None
        assert a.grad != 0.0  # the leaves keep their gradients
    finally:
        gc.enable()


def test_dropped_graph_leaves_no_value_alive_without_the_cyclic_collector() -> None:
    def live_values() -> int:
        return sum(issubclass(type(o), Value) for o in gc.get_objects())

    gc.collect()
    gc.disable()
    try:
        a = Value(2)
        before = live_values()
        out = total([(a * i).relu() + a**i for i in range(50)]).sigmoid()
        out.backward()
        assert live_values() > before + 100
        del out
        assert live_values() == before
    finally:
        gc.enable()


def test_threads_walking_one_graph_at_once_each_get_every_node_once() -> None:
    # A graph whose nodes are each reached by many paths, walked by four threads at once while
    # the interpreter switches threads as often as it can.
    a, b = Value(0.5), Value(-1.5)
    layer = [a, b]
    for _ in range(300):
        layer = [layer[0] * layer[1], layer[0] + layer[1]]
    root = layer[0] - layer[1]
    expected = topological_order(root)
    orders: list[list[Value]] = []

    def walk() -> None:
        for _ in range(20):
            orders.append(topological_order(root))

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=walk) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert len(expected) == len(set(map(id, expected))) == 2 + 2 * 300 + 1
    assert len(orders) == 80
    assert all(order == expected for order in orders)


def test_data_is_settable_as_in_micrograd_loops() -> None:
    p = Value(1.0)
    (p * 4).backward()
    p.data -= 0.25 * p.grad
    assert p.data == 0.0


def test_repr() -> None:
    assert repr(Value(7)) == "Value(data=7.0, grad=0.0)"
    x = Value(2, label="x")
    (x * 3).backward()
    assert repr(x) == "Value(data=2.0, grad=3.0, label='x')"
    assert str(Value(-0.5)) == "Value(data=-0.5, grad=0.0)"


# -- IEEE-754 float semantics -------------------------------------------------------------------

# (expression, result): as in C and PyTorch, never a ZeroDivisionError/ValueError/OverflowError.
IEEE = [
    ("Value(0).log()", -inf),
    ("Value(-1).log()", nan),
    ("Value(1) / 0", inf),
    ("Value(-1) / 0", -inf),
    ("Value(0) / 0", nan),
    ("1 / Value(0)", inf),
    ("Value(1) / Value(-0.0)", -inf),
    ("Value(1000).exp()", inf),
    ("Value(-1000).exp()", 0.0),
    ("Value(0) ** -1", inf),
    ("Value(-0.0) ** -1", -inf),
    ("Value(0) ** -0.5", inf),
    ("Value(-8) ** (1 / 3)", nan),
    ("(-8) ** Value(1 / 3)", nan),
    ("Value(10) ** 400", inf),
    ("Value(-10) ** 401", -inf),
    ("2 ** Value(5000)", inf),
    ("Value(0) ** Value(0)", 1.0),
    ("Value(1e200) * 1e200", inf),
    ("Value(math.inf) - math.inf", nan),
    ("Value(math.inf) * 0", nan),
    ("Value(1000).sigmoid()", 1.0),
    ("Value(-1000).sigmoid()", 0.0),
    ("Value(math.inf).tanh()", 1.0),
    ("Value(math.nan).relu()", nan),
    ("Value(math.inf).log()", inf),
]


def same_float(x: float, y: float) -> bool:
    """x == y, with nan equal to nan."""
    return (math.isnan(x) and math.isnan(y)) or x == y


@pytest.mark.parametrize(("expression", "expected"), IEEE, ids=[row[0] for row in IEEE])
def test_ieee_float_semantics(expression: str, expected: float) -> None:
    result = eval(expression, {"Value": Value, "math": math})
    assert isinstance(result, Value)
    assert same_float(result.data, expected), f"{expression} gave {result.data}"
    result.backward()  # backpropagating through inf or nan raises nothing either


# (f, x, d f/dx at x): gradients at the edge of a domain, as PyTorch defines them.
IEEE_GRADS = [
    ("log at 0", lambda x: x.log(), 0.0, inf),
    ("sqrt at 0", lambda x: x**0.5, 0.0, inf),
    ("x ** 0 at 0", lambda x: x**0, 0.0, 0.0),
    ("1 / x at 0", lambda x: 1 / x, 0.0, -inf),
    ("0 ** y in the exponent", lambda y: Value(0) ** y, 2.0, 0.0),
    ("exp overflow", lambda x: x.exp(), 1000.0, inf),
    ("sigmoid far out", lambda x: x.sigmoid(), -1000.0, 0.0),
    ("log below 0", lambda x: x.log(), -1.0, -1.0),  # 1/x is defined even where log is not
]


@pytest.mark.parametrize(("name", "f", "x", "grad"), IEEE_GRADS, ids=[r[0] for r in IEEE_GRADS])
def test_ieee_gradients(name: str, f: Callable[[Value], Value], x: float, grad: float) -> None:
    assert same_float(grads_of(f, x)[1][0], grad)


# -- bad input ------------------------------------------------------------------------------------

BAD_DATA = ["1.5", None, 1 + 2j, [1.0], (1.0,), {"data": 1.0}, object()]


@pytest.mark.parametrize("data", BAD_DATA, ids=[type(d).__name__ for d in BAD_DATA])
def test_value_rejects_non_real_data(data: object) -> None:
    with pytest.raises(TypeError, match=type(data).__name__):
        Value(data)


def test_value_of_a_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1))


def test_error_messages_call_every_node_a_value() -> None:
    node = Value(2.0) * Value(3.0)
    with pytest.raises(TypeError, match=r"nin must be an integer >= 1, got Value Value\(data=6"):
        MLP(node, [1])


def test_label_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1, label=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "operation",
    [
        lambda v: v + "1",
        lambda v: "1" + v,
        lambda v: v * None,
        lambda v: [1] * v,
        lambda v: v / 1j,
        lambda v: v ** "2",
        lambda v: v**None,
        lambda v: None**v,
    ],
)
def test_operations_reject_non_numbers(operation: Callable[[Value], object]) -> None:
    with pytest.raises(TypeError, match="real number"):
        operation(Value(2))


def test_weighted_sum_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="expected 2 inputs"):
        weighted_sum(Value(0), [Value(1), Value(2)], [1.0])


def test_weighted_sum_rejects_numbers_as_parameters() -> None:
    with pytest.raises(TypeError):
        weighted_sum(Value(0), [1.0], [2.0])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        weighted_sum(0, [Value(1)], [2.0])  # type: ignore[arg-type]


def test_total_rejects_empty_and_non_numbers() -> None:
    with pytest.raises(ValueError, match="at least one"):
        total([])
    with pytest.raises(TypeError, match="real number"):
        total([Value(1), "2"])  # type: ignore[list-item]


# -- gradients against central finite differences -----------------------------------------------


def reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


ANY = reals(-100, 100)
NONZERO = st.one_of(reals(-100, -0.1), reals(0.1, 100))
AWAY_FROM_KINK = st.one_of(reals(-100, -1e-3), reals(1e-3, 100))
POSITIVE = reals(1e-3, 100)
BASE = reals(0.1, 10)
EXPONENT = reals(-3, 3)
SMALL = reals(-20, 20)
NONZERO_SMALL = st.one_of(reals(-10, -0.1), reals(0.1, 10))

NO_CONSTANT = st.just(0.0)

# (name, f(*values, c), a strategy per Value argument, a strategy for the number c) for every
# operation, on the domain where it is smooth. c is a plain number: no gradient flows to it.
DIFFERENTIABLE = [
    ("add", lambda x, y, c: x + y, [ANY, ANY], NO_CONSTANT),
    ("add number", lambda x, c: x + c, [ANY], ANY),
    ("radd", lambda x, c: c + x, [ANY], ANY),
    ("sub", lambda x, y, c: x - y, [ANY, ANY], NO_CONSTANT),
    ("sub number", lambda x, c: x - c, [ANY], ANY),
    ("rsub", lambda x, c: c - x, [ANY], ANY),
    ("mul", lambda x, y, c: x * y, [ANY, ANY], NO_CONSTANT),
    ("mul number", lambda x, c: x * c, [ANY], ANY),
    ("rmul", lambda x, c: c * x, [ANY], ANY),
    ("div", lambda x, y, c: x / y, [ANY, NONZERO], NO_CONSTANT),
    ("div number", lambda x, c: x / c, [ANY], NONZERO),
    ("rdiv", lambda x, c: c / x, [NONZERO], ANY),
    ("neg", lambda x, c: -x, [ANY], NO_CONSTANT),
    ("pow Value", lambda x, y, c: x**y, [BASE, EXPONENT], NO_CONSTANT),
    ("pow number", lambda x, c: x**c, [BASE], EXPONENT),
    ("pow integer", lambda x, c: x**c, [reals(-10, 10)], st.sampled_from([1, 2, 3, 4])),
    ("pow negative integer", lambda x, c: x**c, [NONZERO_SMALL], st.sampled_from([-1, -2, -3])),
    ("rpow", lambda x, c: c**x, [EXPONENT], BASE),
    ("relu", lambda x, c: x.relu(), [AWAY_FROM_KINK], NO_CONSTANT),
    ("tanh", lambda x, c: x.tanh(), [reals(-5, 5)], NO_CONSTANT),
    ("exp", lambda x, c: x.exp(), [SMALL], NO_CONSTANT),
    ("log", lambda x, c: x.log(), [POSITIVE], NO_CONSTANT),
    ("sigmoid", lambda x, c: x.sigmoid(), [SMALL], NO_CONSTANT),
    (
        "weighted_sum",
        lambda b, w1, w2, x1, x2, c: weighted_sum(b, [w1, w2], [x1, x2]),
        [ANY] * 5,
        NO_CONSTANT,
    ),
    ("weighted_sum of numbers", lambda b, w, c: weighted_sum(b, [w], [c]), [ANY] * 2, ANY),
    ("total", lambda x, y, z, c: total([x, y, z]), [ANY] * 3, NO_CONSTANT),
    ("total with a number", lambda x, y, c: total([x, c, y]), [ANY] * 2, ANY),
]


@pytest.mark.parametrize(
    ("name", "f", "domains", "constant"), DIFFERENTIABLE, ids=[row[0] for row in DIFFERENTIABLE]
)
@given(data=st.data())
def test_gradient_matches_central_difference(
    name: str,
    f: Callable[..., Value],
    domains: list[st.SearchStrategy[float]],
    constant: st.SearchStrategy[float],
    data: st.DataObject,
) -> None:
    inputs = [data.draw(domain) for domain in domains]
    c = data.draw(constant)
    result = gradcheck(lambda *values: f(*values, c=c), inputs)
    assert result.ok, str(result)


@given(
    b=ANY,
    w=st.lists(ANY, min_size=1, max_size=4),
    x=st.lists(ANY, min_size=4, max_size=4),
)
def test_fused_relu_neuron_matches_central_difference(
    b: float, w: list[float], x: list[float]
) -> None:
    n = len(w)
    z = b + sum(wi * xi for wi, xi in zip(w, x))
    assume(abs(z) > 0.1)  # a step of h moves z by at most about 0.02: stay off the kink
    # and no heavy cancellation: the sum's rounding grows with its terms, while gradcheck allows
    # for rounding in proportion to z (b=0, w=[0, 38, 0, -21], x=[0, 27, 1.2e-7, 39] failed so)
    assume(abs(z) >= 0.25 * (abs(b) + sum(abs(wi * xi) for wi, xi in zip(w, x))))

    def neuron(*values: Value) -> Value:
        return weighted_sum(values[0], values[1 : n + 1], values[n + 1 :], relu=True)

    result = gradcheck(neuron, [b, *w, *x[:n]])
    assert result.ok, str(result)
