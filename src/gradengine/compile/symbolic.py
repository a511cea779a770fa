"""An operation's derivatives as Python source: its own derivatives function, run on symbols.

Every operation states its local derivatives once, in engine.py, with operators and the functions
of a numbers namespace ``m``. Given ``m = SYMBOLS`` and Symbols for its inputs and result, the
same function returns the expressions themselves: ``MUL`` gives ``(x1, x0)``, ``TANH`` gives
``(1.0 - (out * out),)``. The Python backend pastes them into its loops, so compiled code
computes each derivative with exactly the float operations of eager mode (``m = floats``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from gradengine.engine import Operation

#: The functions of ``m`` that a derivative may call; the generated code calls floats.
FUNCTIONS = ("divide", "power", "exp", "log", "sigmoid", "tanh", "sqrt", "step", "where")


class NotSymbolic(TypeError):
    """A derivative that reads a number (``if x > 0``) cannot be written as one expression."""


def _source(x: object) -> tuple[str, frozenset[str]]:
    """The source of an operand and the names it reads."""
    if isinstance(x, Symbol):
        return x.source, x.names
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return repr(float(x)), frozenset()
    raise NotSymbolic(f"cannot write {type(x).__name__} into an expression")


def _binary(symbol: str) -> Callable[[Any, object], Symbol]:
    def method(self: Symbol, other: object) -> Symbol:
        b, names = _source(other)
        return Symbol(f"({self.source} {symbol} {b})", self.names | names)

    return method


def _reflected(symbol: str) -> Callable[[Any, object], Symbol]:
    def method(self: Symbol, other: object) -> Symbol:
        a, names = _source(other)
        return Symbol(f"({a} {symbol} {self.source})", self.names | names)

    return method


def _refuse(self: Symbol, *other: object) -> bool:
    raise NotSymbolic(f"the derivative reads the number {self.source} holds")


class Symbol:
    """A Python expression over the names ``names``; arithmetic on it writes a larger one."""

    __slots__ = ("source", "names")

    def __init__(self, source: str, names: frozenset[str] | None = None) -> None:
        self.source = source
        self.names = frozenset({source}) if names is None else names

    __add__, __radd__ = _binary("+"), _reflected("+")
    __sub__, __rsub__ = _binary("-"), _reflected("-")
    __mul__, __rmul__ = _binary("*"), _reflected("*")
    __truediv__, __rtruediv__ = _binary("/"), _reflected("/")

    def __neg__(self) -> Symbol:
        return Symbol(f"(-{self.source})", self.names)

    # A comparison or a truth test would pick one branch for every node: refused.
    # (Defining __eq__ leaves Symbols unhashable, as they should be.)
    __bool__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _refuse


def _function(name: str) -> Callable[..., Symbol]:
    def call(*args: object) -> Symbol:
        parts = [_source(a) for a in args]
        names = frozenset().union(*(n for _, n in parts))
        return Symbol(f"floats.{name}({', '.join(s for s, _ in parts)})", names)

    return call


class _Symbols:
    """The namespace m whose functions write calls of floats."""

    def __init__(self) -> None:
        for name in FUNCTIONS:
            setattr(self, name, _function(name))

    @staticmethod
    def real(x: object) -> object:
        return x  # a Symbol: comparing it is refused


SYMBOLS = _Symbols()


def derivative_sources(op: Operation, arity: int) -> list[Symbol | float] | None:
    """d(out)/d(x_q) for q < arity as expressions of x0, x1, ... and out; None if not one each."""
    inputs: Sequence[Symbol] = [Symbol(f"x{q}") for q in range(arity)]
    try:
        grads = tuple(op.derivatives(SYMBOLS, *inputs, Symbol("out")))
    except NotSymbolic:
        return None
    if len(grads) != arity:
        return None
    out: list[Symbol | float] = []
    for g in grads:
        if isinstance(g, Symbol):
            out.append(g)
        elif isinstance(g, numbers.Real) and not isinstance(g, bool):
            out.append(float(g))
        else:
            return None
    return out
