"""Small computation graphs to draw and explain, with every value labelled.

The first four are those of examples/computation_graph.py; "neuron" shows a fused operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradengine.engine import Value
from gradengine.fast import weighted_sum


def named(value: Value, label: str) -> Value:
    """value, with its label set (for drawings and explanations)."""
    value.label = label
    return value


def simple() -> Value:
    """z = x*y + 1 at x = 2, y = 3"""
    x, y = Value(2, label="x"), Value(3, label="y")
    xy = named(x * y, "xy")
    return named(xy + 1, "z")


def relu() -> Value:
    """out = relu(w1*x) + relu(w2*x) at x = 3, w1 = 0.5, w2 = -1"""
    x, w1, w2 = Value(3, label="x"), Value(0.5, label="w1"), Value(-1, label="w2")
    h1 = named(named(w1 * x, "p1").relu(), "h1")
    h2 = named(named(w2 * x, "p2").relu(), "h2")
    return named(h1 + h2, "out")


def paths() -> Value:
    """b = a*a + a at a = 3: a reaches b along three paths"""
    a = Value(3, label="a")
    aa = named(a * a, "aa")
    return named(aa + a, "b")


def expression() -> Value:
    """f = tanh(x*y) + exp(x/y)*sigmoid(y) - log(x**2 + 1) at x = 0.5, y = -1.5"""
    x, y = Value(0.5, label="x"), Value(-1.5, label="y")
    t = named(named(x * y, "xy").tanh(), "t")
    e = named(named(x / y, "r").exp(), "e")
    s = named(y.sigmoid(), "s")
    es = named(e * s, "es")
    lg = named(named(named(x**2, "x²") + 1, "u").log(), "l")
    return named(named(t + es, "g") - lg, "f")


def neuron() -> Value:
    """o = tanh(w1*x1 + w2*x2 + b), one fused weighted sum, at x = (2, 0), w = (-3, 1), b = 6.88"""
    x1, x2 = Value(2, label="x1"), Value(0, label="x2")
    w1, w2 = Value(-3, label="w1"), Value(1, label="w2")
    b = Value(6.8813735870195432, label="b")  # makes o = tanh(0.8814) = 1/√2, so do/dn = 1/2
    n = named(weighted_sum(b, [w1, w2], [x1, x2]), "n")
    return named(n.tanh(), "o")


@dataclass(frozen=True)
class Example:
    """A named graph builder and what it shows."""

    name: str
    build: Callable[[], Value]

    @property
    def description(self) -> str:
        """The builder's docstring: the formula and the point it is evaluated at."""
        return (self.build.__doc__ or "").strip()


EXAMPLES = {
    example.name: example
    for example in (
        Example("simple", simple),
        Example("relu", relu),
        Example("paths", paths),
        Example("expression", expression),
        Example("neuron", neuron),
    )
}
