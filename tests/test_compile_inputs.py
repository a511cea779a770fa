"""program.run(input_values) checks its argument as Value() checks its data, on both backends."""

from __future__ import annotations

import math

import pytest
from backends import BACKENDS

from gradengine import Value, compile_graph


def program_of_two_inputs(backend: str):
    """loss = w * x0 + x1: d/dw = x0, d/dx0 = w, d/dx1 = 1."""
    w, x0, x1 = Value(3.0), Value(1.0), Value(2.0)
    return compile_graph(w * x0 + x1, [w], [x0, x1], backend=backend), w, x0, x1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("values", "k", "given"),
    [([None, 1.0], 0, "NoneType"), ([1.0, "2"], 1, "str"), ([1.0, [2.0]], 1, "list")],
)
def test_a_value_that_is_not_a_number_is_named(backend: str, values, k: int, given: str) -> None:
    program, w, *_ = program_of_two_inputs(backend)
    with pytest.raises(TypeError, match=rf"input_values\[{k}\] must be a real number.*{given}"):
        program.run(values)
    assert w.grad == 0.0  # nothing was run


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("values", [{1.0: 0, 2.0: 0}, {1.0, 2.0}, "12", b"12", 3.0])
def test_collections_that_are_not_sequences_are_refused(backend: str, values) -> None:
    program, w, *_ = program_of_two_inputs(backend)
    with pytest.raises(TypeError, match="input_values must be a flat sequence of 2 numbers"):
        program.run(values)
    assert w.grad == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_wrong_length_is_a_value_error(backend: str) -> None:
    program, *_ = program_of_two_inputs(backend)
    with pytest.raises(ValueError, match=r"expected 2 input values .* got 3"):
        program.run([1.0, 2.0, 3.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_numbers_of_every_real_type_are_taken_as_floats(backend: str) -> None:
    """ints, bools and a tuple, as Value() takes them: w * x0 + x1 = 3 * 2 + 1, d/dw = x0 = 2."""
    program, w, x0, x1 = program_of_two_inputs(backend)
    assert program.run((2, True)) == 7.0
    assert (w.grad, x0.grad, x1.grad) == (2.0, 3.0, 1.0)
    assert math.isinf(program.run([10**400, 0.0]))  # an int beyond floats rounds to inf
