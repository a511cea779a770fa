"""Operations of your own (gradengine.Operation) and micrograd's constructor, against hand math."""

import math

import pytest

from gradengine import Operation, Value, gradcheck

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
    lambda m, xs: sum(xs[1:], xs[0]) / len(xs),
    lambda m, xs, out: (1.0 / len(xs),) * len(xs),
    variadic=True,
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


def test_a_variadic_operation_takes_its_inputs_as_one_tuple():
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
        ((3, abs, abs), {}, "name must be a str"),
        (("f", 3, abs), {}, "value must be a function"),
        (("f", abs, None), {}, "derivatives must be a function"),
        (("f", abs, abs), {"variadic": 1}, "variadic must be True or False"),
    ],
)
def test_an_operation_is_refused_when_it_is_not_made_of_a_name_and_two_functions(
    args, kwargs, message
):
    with pytest.raises(TypeError, match=message):
        Operation(*args, **kwargs)


def test_derivatives_must_give_one_number_per_input():
    two = Operation("two", lambda m, x: x, lambda m, x, out: (1.0, 2.0))
    with pytest.raises(ValueError, match="gave 2 values for 1 inputs"):
        two(Value(1.0))
    text = Operation("text", lambda m, x: x, lambda m, x, out: ("one",))
    with pytest.raises(TypeError, match="a derivative of operation 'text'"):
        text(Value(1.0))
    complex_value = Operation("c", lambda m, x: 1j, lambda m, x, out: (1.0,))
    with pytest.raises(TypeError, match="the value of operation 'c'"):
        complex_value(Value(1.0))
    assert repr(HYPOT) == "Operation('hypot')"


def test_a_leaf_records_no_operation():
    leaf = Value(2.0)
    assert leaf._op == "" and leaf._prev == () and leaf._backward() is None
    with pytest.raises(TypeError, match="a leaf has no operation"):
        Value(2.0, (), "tanh")


def test_a_positional_label_is_refused_with_the_keyword_to_use():
    with pytest.raises(TypeError, match=r"Value\(data, label='x'\)"):
        Value(2.0, "x")
    with pytest.raises(TypeError, match="must be a Value"):
        Value(2.0, (Value(1.0), 3.0), "+")
    with pytest.raises(TypeError, match="_op must be a str"):
        Value(2.0, (Value(1.0),), 3)


def test_a_subclass_of_value_makes_leaves_only():
    class Named(Value):
        __slots__ = ()

    assert Named(2.0).data == 2.0
    with pytest.raises(TypeError, match="for Value itself only"):
        Named(2.0, (Value(1.0),), "+")


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
    assert square._local_grads == (6.0,)  # d(x*x)/dx = 2x
    assert (x.grad, square.grad) == (7.0, 0.5)
    square.backward()
    assert x.grad == 7.0 + 6.0


def test_a_lecture_node_without_a_backward_passes_nothing_back():
    x = Value(1.0)
    out = Value(2.0, [x], "twice")
    out.backward()
    assert x.grad == 0.0 and out._op == "twice"
