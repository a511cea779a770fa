"""compile/symbolic.py: each operation's derivatives run on symbols give the source that the Python
backend compiles; evaluated, that source must give the float path's numbers bit for bit."""

from __future__ import annotations

import itertools
import math
import struct

import pytest

from gradengine import Operation
from gradengine import engine as v
from gradengine.compile.python import _SIMPLE
from gradengine.compile.symbolic import SYMBOLS, NotSymbolic, Symbol, derivative_sources
from gradengine.engine import floats

POINTS = [-2.5, -1.0, -0.0, 0.0, 1e-300, 0.5, 3.0, math.inf, -math.inf, math.nan]


def bits(x: float) -> bytes:
    """The float's bytes, with every nan the same (their sign and payload are not compared)."""
    return b"nan" if math.isnan(x) else struct.pack("<d", x)


def arity(op: Operation) -> int:
    return 2 if op in (v.ADD, v.SUB, v.MUL, v.DIV) else 1


@pytest.mark.parametrize("op", list(_SIMPLE), ids=lambda op: op.name)
def test_the_written_derivatives_compute_the_float_paths_numbers(op: Operation) -> None:
    n = arity(op)
    written = derivative_sources(op, n)
    assert written is not None
    for inputs in itertools.product(POINTS, repeat=n):
        out = op.value(floats, *inputs)
        want = tuple(op.derivatives(floats, *inputs, out))
        names = {f"x{q}": x for q, x in enumerate(inputs)} | {"out": out}
        for d, w in zip(written, want, strict=True):
            got = eval(d.source, {"floats": floats}, names) if isinstance(d, Symbol) else d
            assert bits(got) == bits(w), (op.name, inputs, d, got, w)


def test_symbols_write_the_expression_and_the_names_it_reads() -> None:
    x, out = Symbol("x0"), Symbol("out")
    d = 1.0 - out * out + SYMBOLS.exp(x)
    assert d.source == "((1.0 - (out * out)) + floats.exp(x0))"
    assert d.names == {"x0", "out"}


@pytest.mark.parametrize(
    "reads",
    [
        lambda s: bool(s),
        lambda s: s > 0,
        lambda s: s <= 0,
        lambda s: s == 0,
        lambda s: s != 1,
        lambda s: hash(s),
    ],
)
def test_a_symbol_refuses_to_be_read_as_a_number(reads) -> None:
    with pytest.raises(TypeError):
        reads(Symbol("x0"))


def test_derivatives_that_read_numbers_or_give_no_number_are_not_written() -> None:
    sign = Operation("sign", lambda m, x: x, lambda m, x, out: (1.0 if m.real(x) > 0 else -1.0,))
    assert derivative_sources(sign, 1) is None
    text = Operation("text", lambda m, x: x, lambda m, x, out: ("one",))
    assert derivative_sources(text, 1) is None
    short = Operation("short", lambda m, x, y: x, lambda m, x, y, out: (1.0,))
    assert derivative_sources(short, 2) is None
    assert derivative_sources(v.POW, 2) is None  # where() over a comparison: node by node
    with pytest.raises(NotSymbolic):
        Symbol("x0") * "x"
