"""Operations of your own (gradengine.Operation) and micrograd's constructor, against hand math."""

import math

import pytest

from gradengine import Operation, Value, gradcheck
from gradengine.higher import local_grads

SOFTPLUS = Operation(
    "softplus",
    lambda m, x: m.log(1.0 + m.exp(x)),
    lambda m, x, out: (m.sigmoid(x),),
)
HYPOT = Operation(
    "hypot",
    lambda m, x, y: m.sqrt(x * x + y * y),
    lambda m, x, y, r: (m.divide(x, r), m.divide(y, r)),
)
MEAN = Operation(
    "mean",
    lambda m, *xs: sum(xs[1:], xs[0]) / len(xs),
    lambda m, *xs_and_value: (1.0 / (len(xs_and_value) - 1),) * (len(xs_and_value) - 1),
)


def test_a_users_operation_computes_its_value_and_hand_derived_gradients():
    x, y = Value(3.0), Value(-4.0)
    r = HYPOT(x, y)
    r.backward()
    assert (r.data, x.grad, y.grad) == (5.0, 3.0 / 5.0, -4.0 / 5.0)
    assert r._op == "hypot" and r._prev == (x, y)


@pytest.mark.parametrize("at", [-3.0, -0.5, 0.0, 0.7, 4.0])
def test_a_users_operation_passes_gradcheck(at):
    assert gradcheck(lambda x: SOFTPLUS(x * 2.0) * x, [at])
    assert gradcheck(lambda x, y: HYPOT(x, y + 1.0), [at, 2.0])


def test_an_operation_of_any_number_of_inputs_takes_them_as_star_args():
    xs = [Value(1.0), Value(2.0), Value(6.0)]
    out = MEAN(*xs, 3.0)  # a number operand is a constant
    out.backward()
    assert out.data == 3.0
    assert [x.grad for x in xs] == [0.25, 0.25, 0.25]


def test_numbers_are_accepted_as_operands():
    assert HYPOT(6.0, 8.0).data == 10.0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3, abs, abs), {}, "takes a str and two functions"),
        (("f", 3, abs), {}, "takes a str and two functions"),
        (("f", abs, None), {}, "takes a str and two functions"),
    ],
)
def test_an_operation_is_refused_when_it_is_not_made_of_a_name_and_two_functions(
    args, kwargs, message
):
    with pytest.raises(TypeError, match=message):
        Operation(*args, **kwargs)


def test_derivatives_must_give_one_number_per_input():
    two = Operation("two", lambda m, x: x, lambda m, x, out: (1.0, 2.0))
    with pytest.raises(ValueError, match="gave 2 derivatives for 1 inputs"):
        two(Value(1.0))
    text = Operation("text", lambda m, x: "one", lambda m, x, out: (1.0,))
    with pytest.raises(TypeError, match="the value of 'text' must be a real number, got str"):
        text(Value(1.0))
    complex_value = Operation("c", lambda m, x: 1j, lambda m, x, out: (1.0,))
    with pytest.raises(TypeError, match="the value of 'c'"):
        complex_value(Value(1.0))
    assert repr(HYPOT) == "Operation('hypot')"


def test_a_leaf_records_no_operation_but_may_carry_an_op_label_as_in_micrograd():
    leaf = Value(2.0)
    assert leaf._op == "" and leaf._prev == () and leaf._backward() is None
    labelled = Value(42, _op="x")  # micrograd accepts this: a leaf whose _op is just a label
    assert (labelled.data, labelled._op, labelled._prev) == (42.0, "x", ())


def test_children_that_are_not_values_and_an_op_that_is_not_a_str_are_refused():
    with pytest.raises(TypeError, match="_children must be Values: 'x'"):
        Value(2.0, "x")  # a label given where the children go
    with pytest.raises(TypeError, match="must be Values"):
        Value(2.0, (Value(1.0), 3.0), "+")
    with pytest.raises(TypeError, match="_op and label must be str, got int, str"):
        Value(2.0, (Value(1.0),), 3)  # type: ignore[arg-type]


def test_a_built_in_nodes_backward_applies_the_chain_rule_at_that_node_only():
    x, y = Value(3.0), Value(-2.0)
    product = x * y
    out = product.tanh()
    out.grad = 1.0
    out._backward()
    assert product.grad == pytest.approx(1.0 - math.tanh(-6.0) ** 2, rel=1e-15)
    assert (x.grad, y.grad) == (0.0, 0.0)  # not yet: only `out` sent its gradient
    product._backward()
    assert x.grad == pytest.approx(-2.0 * (1.0 - math.tanh(-6.0) ** 2), rel=1e-15)


def test_a_lecture_nodes_local_derivatives_are_read_without_changing_any_grad():
    x = Value(3.0)
    x.grad = 7.0
    square = Value(9.0, (x, x), "*")  # the lecture's x * x: one parent, used twice

    def backward():
        x.grad += x.data * square.grad
        x.grad += x.data * square.grad

    square._backward = backward
    square.grad = 0.5
    assert type(square) is Value and square._prev == (x,)
    assert local_grads(square) == (6.0,)  # d(x*x)/dx = 2x, read by running its _backward
    assert (x.grad, square.grad) == (7.0, 0.5)
    square.backward()
    assert x.grad == 7.0 + 6.0


def test_a_lecture_node_without_a_backward_passes_nothing_back():
    x = Value(1.0)
    out = Value(2.0, [x], "twice")
    out.backward()
    assert x.grad == 0.0 and out._op == "twice"
