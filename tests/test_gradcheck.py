"""gradcheck against hand-derived derivatives and hand-computed central differences."""

import inspect
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradengine import Operation, Value
from gradengine.gradcheck import gradcheck


def wrong_square(x: Value) -> Value:
    """x² with a deliberately wrong local derivative 3x (the truth is 2x)."""
    return Operation("wrong_square", lambda m, x: x * x, lambda m, x, out: (3.0 * x,))(x)


def test_correct_gradients_pass_with_hand_derived_values():
    result = gradcheck(lambda x, y: x * y, [2.0, 3.0])
    assert result.ok
    assert bool(result)
    assert result.analytic == [3.0, 2.0]  # d(xy)/dx = y, d(xy)/dy = x
    assert result.numeric == pytest.approx([3.0, 2.0], abs=1e-8)
    assert result.worst_error < 1e-8


def test_numeric_is_the_central_difference():
    # ((2 + h)^3 - (2 - h)^3) / 2h = 3*2^2 + h^2; the step is eps*max(1, |x|) = 2e-3 at x = 2.
    result = gradcheck(lambda x: x**3, [2.0], eps=1e-3)
    assert result.numeric[0] == pytest.approx(12.000004, abs=1e-9)
    assert result.analytic == [12.0]


def test_a_wrong_derivative_fails():
    result = gradcheck(wrong_square, [2.0])
    assert not result.ok
    assert not bool(result)
    assert result.analytic == [6.0]
    assert result.numeric[0] == pytest.approx(4.0, abs=1e-6)
    assert result.worst_error == pytest.approx(2.0, abs=1e-6)
    assert "FAILED" in str(result)


def test_kink_of_relu_is_reported():
    # At 0 the central difference sees half a slope; backward() says 0.
    result = gradcheck(lambda x: x.relu(), [0.0])
    assert not result.ok
    assert result.numeric[0] == pytest.approx(0.5)


def test_table_names_the_parameters():
    text = str(gradcheck(lambda weight, bias: weight * 2 + bias, [1.5, -1.0]))
    lines = text.splitlines()
    assert "passed" in lines[0]
    assert lines[1].split()[:4] == ["input", "at", "analytic", "numeric"]
    assert lines[2].split()[0] == "weight"
    assert lines[3].split()[0] == "bias"
    assert lines[2].split()[-1] == "yes"


def test_unnamed_parameters_are_numbered():
    result = gradcheck(lambda *xs: xs[0] * xs[1], [1.0, 2.0])
    assert result.names == ["x0", "x1"]


class Unreadable:
    """tanh as a callable whose signature inspect.signature() cannot read, on every Python."""

    __signature__ = "not a signature"

    def __call__(self, x):
        return x.tanh()


def test_a_function_without_a_signature_gets_numbered_names():
    with pytest.raises((TypeError, ValueError)):
        inspect.signature(Unreadable())  # the premise
    result = gradcheck(Unreadable(), [0.5])
    assert result.names == ["x0"]
    assert result.analytic[0] == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-12)
    assert result.ok


def test_bools_and_numpy_scalars_are_numbers():
    np = pytest.importorskip("numpy")
    result = gradcheck(lambda a, b, c: a * b * c, [True, np.float32(0.5), np.int64(3)])
    assert result.inputs == [1.0, 0.5, 3.0]
    assert result.analytic == [1.5, 3.0, 0.5]  # d(abc) = (bc, ac, ab)
    assert gradcheck(lambda x: x * x, [2.0], eps=np.float64(1e-6), rtol=True).ok


def test_large_inputs_use_a_scaled_step():
    # A fixed step of 1e-6 at 1e8 would drown in rounding; d(x^2)/dx = 2x = 2e8.
    result = gradcheck(lambda x: x * x, [1e8])
    assert result.ok
    assert result.numeric[0] == pytest.approx(2e8, rel=1e-6)


def test_values_count_as_their_data():
    result = gradcheck(lambda x: x * x, [Value(3.0)])
    assert result.inputs == [3.0]
    assert result.analytic == [6.0]


def test_both_nan_agree():
    nan = Value(math.nan)
    result = gradcheck(lambda x: x * nan, [1.0])
    assert math.isnan(result.analytic[0]) and math.isnan(result.numeric[0])
    assert result.ok


def step_up(slope: float):
    """f(x) = inf for x > 0 else 0, with a chosen local derivative: numeric slope +inf at 0."""

    def f(x: Value) -> Value:
        step = Operation("step", lambda m, x: math.inf if x > 0 else 0.0, lambda m, x, y: (slope,))
        return step(x)

    return f


def test_infinities_agree_only_with_the_same_sign():
    assert gradcheck(step_up(math.inf), [0.0]).ok
    result = gradcheck(step_up(-math.inf), [0.0])
    assert not result.ok
    assert result.worst_error == math.inf
    assert not gradcheck(step_up(1.0), [0.0]).ok


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        ((42, [1.0]), TypeError, "f must be a function"),
        ((lambda x: x, 1.0), TypeError, "inputs must be a list"),
        ((lambda x: x, "ab"), TypeError, "inputs must be a list"),
        ((lambda x: x, []), ValueError, "at least one"),
        ((lambda x: x, ["1"]), TypeError, "inputs[0] must be a real number"),
        ((lambda x: x, [math.inf]), ValueError, "inputs[0] must be finite"),
        ((lambda x: x, [1.0], 0.0), ValueError, "eps must be a finite number > 0"),
        ((lambda x: x, [1.0], 1e-6, -1.0), ValueError, "rtol must be a finite number >= 0"),
        ((lambda x: x, [1.0], 1e-6, 1e-5, "a"), TypeError, "atol must be a real number"),
        ((lambda x: 3.0, [1.0]), TypeError, "f must return a Value"),
        ((lambda x: x, [1.0], 1e-300), ValueError, "too small"),
    ],
)
def test_bad_input_gets_a_clear_error(args, error, words):
    with pytest.raises(error) as caught:
        gradcheck(*args)
    assert words in str(caught.value)


@settings(max_examples=40)
@given(
    x=st.floats(-3, 3, allow_nan=False),
    y=st.floats(0.5, 4, allow_nan=False),
)
def test_numeric_matches_the_hand_derivative(x, y):
    # f = x*y + tanh(x) + log(y): df/dx = y + 1 - tanh(x)^2, df/dy = x + 1/y
    result = gradcheck(lambda a, b: a * b + a.tanh() + b.log(), [x, y])
    expected = [y + 1 - math.tanh(x) ** 2, x + 1 / y]
    assert result.numeric == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert result.ok, str(result)


def scaled_square(error: float):
    """x**2 whose backward is off by the relative error given: d/dx = 2x (1 + error)."""

    def f(x: Value) -> Value:
        out = Value(x.data**2, (x,), "scaled_square")

        def _backward() -> None:
            x.grad += 2.0 * x.data * (1.0 + error) * out.grad

        out._backward = _backward
        return out

    return f


def test_the_default_tolerance_fails_a_gradient_off_by_1e4_relative():
    for x in (0.3, 1.7, -2.5, 40.0):
        assert not gradcheck(scaled_square(1e-4), [x]).ok, x
        assert not gradcheck(scaled_square(-1e-4), [x]).ok, x


def test_the_default_tolerance_passes_a_gradient_off_by_1e9_relative():
    for x in (0.3, 1.7, -2.5, 40.0):
        assert gradcheck(scaled_square(1e-9), [x]).ok, x
        assert gradcheck(scaled_square(0.0), [x]).ok, x


def test_the_defaults_are_those_documented():
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(gradcheck).parameters.items()}
    assert (defaults["eps"], defaults["rtol"], defaults["atol"]) == (1e-6, 1e-5, 1e-8)


def off_by(factor: float, x: Value) -> Value:
    """x² with the local derivative 2x * (1 + factor) (the truth is 2x)."""
    wrong = Operation("off_square", lambda m, v: v * v, lambda m, v, out: (2 * v * (1 + factor),))
    return wrong(x)


@pytest.mark.parametrize("x", [0.5, -1.46, 27.8, 1e3])
def test_rounding_inside_f_that_cancels_does_not_fail_a_right_gradient(x):
    # (x + 1e8) - 1e8 = x: its derivative is 1, but f's value keeps 1e8's rounding (1.5e-8).
    assert gradcheck(lambda v: (v + 1e8) - 1e8, [x]).ok
    # (x + 1)^2 - x^2 - 2x = 1 for every x: the derivative is 0; each term is about x^2.
    assert gradcheck(lambda v: (v + 1) ** 2 - v**2 - 2 * v, [x * 100]).ok
    # (x^2 + 1e6) - 1e6 = x^2: the derivative is 2x.
    assert gradcheck(lambda v: (v * v + 1e6) - 1e6, [x / 1000]).ok


@pytest.mark.parametrize("x", [3.0, 20.0, 45.0])
def test_a_wrong_derivative_still_fails_where_f_cancels(x):
    # d/dx 2% too large, under (.. + 1e6) - 1e6: an error of 0.04x, far above 1e6's rounding.
    assert not gradcheck(lambda v: (off_by(0.02, v) + 1e6) - 1e6, [x]).ok


@pytest.mark.parametrize("x", [0.3, 1.7, 40.0])
def test_large_values_scaled_back_down_widen_nothing(x):
    # (1e5 x)^2 * 1e-10 = x^2 passes through 1e10 x^2, but each rounding there moves f by 1e-10
    # of it: an error of 1e-4 relative must fail as it fails on x^2 alone.
    assert not gradcheck(lambda v: off_by(1e-4, v * 1e5) * 1e-10, [x]).ok
    assert gradcheck(lambda v: off_by(0.0, v * 1e5) * 1e-10, [x]).ok
