"""Hypothesis strategy for random expression graphs built from every operation gradengine has.

A graph is a program: a few leaves, then steps, each step one operation on earlier nodes and
constants. Hypothesis draws the steps one at a time, so it shrinks a failure to a short program,
and ``repr(graph)`` prints that program as Python that rebuilds it with gradengine.

Every step respects its operation's domain with a margin (log of numbers >= 0.1, denominators
at least 0.25 away from zero, relu never closer than 0.05 to its kink, fractional powers of
positive bases), and every node's value stays within +-BOUND, so that finite differences of the
graph are accurate and comparable with exact gradients.

The same program runs on three backends: gradengine Values, PyTorch tensors (the operators and
the method names are the same), and plain floats through the ``math`` module (the finite
difference oracle, which shares no code with gradengine).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from hypothesis import strategies as st

import gradengine.fast as gv

BOUND = 100.0  # |value| of every node; keeps exp, sigmoid and finite differences well behaved
LOG_MIN = 0.1  # log(x) only for x >= LOG_MIN
DIV_MIN = 0.25  # x / y only for |y| >= DIV_MIN
KINK_MARGIN = 0.05  # relu(x) only for |x| >= KINK_MARGIN
EXP_MAX = 4.0  # exp(x) and c ** x only for x <= EXP_MAX
POW_BASE_MIN = 0.1  # fractional or Value exponents only for bases >= POW_BASE_MIN
EXPONENTS = (2, 3, -1, 0.5, -2, 1.5, -0.5, 0, 1, 2.5)  # number exponents of x ** c
RPOW_BASES = (2, 0.5, math.e, 3, 1.5)  # number bases of c ** x


@dataclass(frozen=True)
class Ref:
    """The node computed at position `index` (leaves first)."""

    index: int

    def __repr__(self) -> str:
        return f"v{self.index}"


Arg = Ref | int | float

UNARY = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
OPS = (
    *BINARY,
    *UNARY,
    "x ** c",  # Value ** number
    "x ** y",  # Value ** Value
    "c ** x",  # number ** Value
    "weighted_sum",
    "relu(weighted_sum)",  # weighted_sum(..., relu=True): a whole ReLU neuron in one node
    "total",
)


@dataclass(frozen=True)
class Step:
    """One operation: op applied to args (Refs to earlier nodes, or numbers)."""

    op: str
    args: tuple[Arg, ...]

    def source(self) -> str:
        """This step as a Python expression."""
        a = self.args
        if self.op in BINARY:
            return f"{a[0]!r} {self.op} {a[1]!r}"
        if self.op == "neg":
            return f"-{a[0]!r}"
        if self.op in UNARY:
            return f"{a[0]!r}.{self.op}()"
        if self.op in ("x ** c", "x ** y", "c ** x"):
            return f"{a[0]!r} ** {a[1]!r}"
        if self.op == "x.pow(y)":
            return f"{a[0]!r}.pow({a[1]!r})"
        if self.op in ("weighted_sum", "relu(weighted_sum)"):
            n = (len(a) - 1) // 2
            weights = ", ".join(map(repr, a[1 : 1 + n]))
            inputs = ", ".join(map(repr, a[1 + n :]))
            relu = ", relu=True" if self.op.startswith("relu") else ""
            return f"weighted_sum({a[0]!r}, [{weights}], [{inputs}]{relu})"
        return f"total([{', '.join(map(repr, a))}])"


@dataclass(frozen=True)
class Graph:
    """Leaves v0..v(k-1) with the given data, then one node per step; the output is the last."""

    leaves: tuple[float, ...]
    steps: tuple[Step, ...]

    def __repr__(self) -> str:
        lines = ["", "from gradengine import Value, total, weighted_sum"]
        lines += [f"v{i} = Value({x!r})" for i, x in enumerate(self.leaves)]
        k = len(self.leaves)
        lines += [f"v{k + i} = {step.source()}" for i, step in enumerate(self.steps)]
        lines.append(f"v{k + len(self.steps) - 1}.backward()")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints falsifying examples with this: the program, not the dataclass."""
        printer.text(repr(self))

    def ops(self) -> set[str]:
        """The operations this graph uses."""
        return {step.op for step in self.steps}


class Backend:
    """How each operation is computed; subclasses map the program onto one number type."""

    def unary(self, op: str, x: Any) -> Any:
        return -x if op == "neg" else getattr(x, op)()

    def binary(self, op: str, x: Any, y: Any) -> Any:
        return BINARY[op](x, y)

    def power(self, x: Any, y: Any) -> Any:
        return x**y

    def pow_method(self, x: Any, y: Any) -> Any:
        return x.pow(y)

    def weighted_sum(
        self, bias: Any, weights: Sequence[Any], inputs: Sequence[Any], relu: bool
    ) -> Any:
        z = reduce(operator.add, [w * x for w, x in zip(weights, inputs, strict=True)], bias)
        return self.unary("relu", z) if relu else z

    def total(self, xs: Sequence[Any]) -> Any:
        return reduce(operator.add, xs)


class EngineBackend(Backend):
    """gradengine Values, through the fused functions of gradengine.fast."""

    def weighted_sum(
        self, bias: Any, weights: Sequence[Any], inputs: Sequence[Any], relu: bool
    ) -> Any:
        return gv.weighted_sum(bias, weights, inputs, relu=relu)

    def total(self, xs: Sequence[Any]) -> Any:
        return gv.total(xs)


class FloatBackend(Backend):
    """Plain floats through math; records the sign at every kink or pole it passes."""

    def __init__(self) -> None:
        self.signs: list[bool] = []

    def unary(self, op: str, x: Any) -> Any:
        if op == "relu":
            self.signs.append(x > 0)
            return max(x, 0.0)
        if op == "log":
            self.signs.append(x > 0)
            return math.log(x)
        if op == "sigmoid":
            return 1.0 / (1.0 + math.exp(-x))
        functions: dict[str, Callable[[float], float]] = {
            "neg": operator.neg,
            "tanh": math.tanh,
            "exp": math.exp,
        }
        return functions[op](x)

    def binary(self, op: str, x: Any, y: Any) -> Any:
        if op == "/":
            self.signs.append(y > 0)
        return BINARY[op](x, y)

    def power(self, x: Any, y: Any) -> Any:
        if not (float(y).is_integer() and y >= 0):  # a pole at 0, or no real value below it
            self.signs.append(x > 0)
        return math.pow(x, y)

    def pow_method(self, x: Any, y: Any) -> Any:
        return self.power(x, y)


def run(graph: Graph, leaves: Sequence[Any], backend: Backend) -> list[Any]:
    """Every node of graph (leaves first) computed with backend; the output is the last one."""
    nodes = list(leaves)

    def get(arg: Arg) -> Any:
        return nodes[arg.index] if isinstance(arg, Ref) else arg

    for step in graph.steps:
        args = [get(a) for a in step.args]
        op = step.op
        if op in BINARY:
            out = backend.binary(op, args[0], args[1])
        elif op in UNARY:
            out = backend.unary(op, args[0])
        elif op == "x.pow(y)":
            out = backend.pow_method(args[0], args[1])
        elif op.startswith(("x **", "c **")):
            out = backend.power(args[0], args[1])
        elif op in ("weighted_sum", "relu(weighted_sum)"):
            n = (len(args) - 1) // 2
            relu = op == "relu(weighted_sum)"
            out = backend.weighted_sum(args[0], args[1 : 1 + n], args[1 + n :], relu)
        else:
            out = backend.total(args)
        nodes.append(out)
    return nodes


def evaluate(graph: Graph, leaves: Sequence[float]) -> tuple[float, list[bool]]:
    """The output of graph at these leaf values as a float, and the signs at kinks and poles."""
    backend = FloatBackend()
    return run(graph, leaves, backend)[-1], backend.signs


# -- drawing a graph ----------------------------------------------------------------------------

_milli = st.integers(-3000, 3000).map(lambda k: k / 1000)  # readable numbers in [-3, 3]
_constants = st.one_of(st.sampled_from([2, 1, -1, 0.5, 3]), _milli)


def _draw_ref(draw: st.DrawFn, candidates: Sequence[int]) -> Ref:
    """One of candidates (given most recent first, so shrinking prefers a chain)."""
    return Ref(draw(st.sampled_from(candidates)))


def _draw_arg(draw: st.DrawFn, candidates: Sequence[int], constants: st.SearchStrategy[Any]) -> Arg:
    """A Ref to one of candidates, or a constant."""
    if not candidates or draw(st.booleans()):
        value: Arg = draw(constants)
        return value
    return _draw_ref(draw, candidates)


def _eligible(values: Sequence[float], ok: Callable[[float], bool]) -> list[int]:
    """Indices of values for which ok holds, most recent first."""
    return [i for i in reversed(range(len(values))) if ok(values[i])]


def _feasible_ops(values: Sequence[float]) -> list[str]:
    """The operations that have at least one operand in their domain."""
    feasible = []
    for op in OPS:
        if op == "log" and not _eligible(values, lambda v: v >= LOG_MIN):
            continue
        if op == "relu" and not _eligible(values, lambda v: abs(v) >= KINK_MARGIN):
            continue
        if op in ("exp", "c ** x") and not _eligible(values, lambda v: abs(v) <= EXP_MAX):
            continue
        if op in ("x ** y", "x.pow(y)") and not _eligible(values, lambda v: v >= POW_BASE_MIN):
            continue
        feasible.append(op)
    return feasible


def _draw_step(draw: st.DrawFn, values: Sequence[float]) -> Step:
    """A step whose operands lie in its operation's domain (its result is not yet checked)."""
    every = _eligible(values, lambda v: True)
    op = draw(st.sampled_from(_feasible_ops(values)))
    if op in ("+", "-", "*"):
        x = _draw_ref(draw, every)
        y = _draw_arg(draw, every, _constants)
        return Step(op, (y, x) if draw(st.booleans()) else (x, y))
    if op == "/":
        denominators = _eligible(values, lambda v: abs(v) >= DIV_MIN)
        safe = st.sampled_from([2, -1, 0.5, 3, -0.25, 1.5])
        if denominators and draw(st.booleans()):  # constant / Value
            return Step(op, (draw(_constants), _draw_ref(draw, denominators)))
        return Step(op, (_draw_ref(draw, every), _draw_arg(draw, denominators, safe)))
    if op in ("neg", "tanh", "sigmoid"):
        return Step(op, (_draw_ref(draw, every),))
    if op == "relu":
        return Step(op, (_draw_ref(draw, _eligible(values, lambda v: abs(v) >= KINK_MARGIN)),))
    if op == "exp":
        return Step(op, (_draw_ref(draw, _eligible(values, lambda v: abs(v) <= EXP_MAX)),))
    if op == "log":
        return Step(op, (_draw_ref(draw, _eligible(values, lambda v: v >= LOG_MIN)),))
    if op == "x ** c":
        c = draw(st.sampled_from(EXPONENTS))
        if isinstance(c, int) and c >= 0:
            bases = every
        elif isinstance(c, int):
            bases = _eligible(values, lambda v: abs(v) >= DIV_MIN)
        else:
            bases = _eligible(values, lambda v: v >= POW_BASE_MIN)
        if not bases:  # no base in this power's domain: square instead
            return Step(op, (_draw_ref(draw, every), 2))
        return Step(op, (_draw_ref(draw, bases), c))
    if op in ("x ** y", "x.pow(y)"):
        base = _draw_ref(draw, _eligible(values, lambda v: v >= POW_BASE_MIN))
        exponents = _eligible(values, lambda v: abs(v) <= EXP_MAX)
        if op == "x.pow(y)":  # the method also takes a number exponent
            return Step(op, (base, _draw_arg(draw, exponents, st.sampled_from(EXPONENTS))))
        return Step(op, (base, _draw_ref(draw, exponents or [base.index])))
    if op == "c ** x":
        exponent = _draw_ref(draw, _eligible(values, lambda v: abs(v) <= EXP_MAX))
        return Step(op, (draw(st.sampled_from(RPOW_BASES)), exponent))
    if op in ("weighted_sum", "relu(weighted_sum)"):
        n = draw(st.integers(1, 3))
        weights = tuple(_draw_ref(draw, every) for _ in range(n))
        inputs = tuple(_draw_arg(draw, every, _constants) for _ in range(n))
        return Step(op, (_draw_ref(draw, every), *weights, *inputs))
    n = draw(st.integers(1, 4))
    terms = [_draw_arg(draw, every, _constants) for _ in range(n - 1)]
    return Step(op, (*terms, _draw_ref(draw, every)))


def _value_of(step: Step, values: Sequence[float]) -> float:
    """The value of step, given the values of the nodes before it."""
    value: float = run(Graph(tuple(values), (step,)), values, FloatBackend())[-1]
    return value


def _fits(value: float) -> bool:
    return math.isfinite(value) and abs(value) <= BOUND


@st.composite
def graphs(draw: st.DrawFn, max_leaves: int = 4, max_steps: int = 12) -> Graph:
    """A random expression graph: 1..max_leaves leaves, 1..max_steps operations on them."""
    leaves = tuple(draw(st.lists(_milli, min_size=1, max_size=max_leaves)))
    n_steps = draw(st.integers(1, max_steps))
    values = list(leaves)
    steps: list[Step] = []
    for _ in range(n_steps):
        step = _draw_step(draw, values)
        value = _value_of(step, values)
        if step.op == "relu(weighted_sum)":
            z = _value_of(Step("weighted_sum", step.args), values)
            if abs(z) < KINK_MARGIN:  # too close to the kink: leave the ReLU out
                step, value = Step("weighted_sum", step.args), z
        if not _fits(value):
            # Out of bounds (say, a product of two large nodes): squash the first operand instead.
            first = next(a for a in step.args if isinstance(a, Ref))
            step = Step("tanh", (first,))
            value = math.tanh(values[first.index])
        steps.append(step)
        values.append(value)
    # Sum up every result nothing else used, so that no step is dead code.
    used = {a.index for step in steps for a in step.args if isinstance(a, Ref)}
    unused = [Ref(i) for i in range(len(leaves), len(values)) if i not in used]
    if len(unused) > 1:
        steps.append(Step("total", tuple(unused)))
    return Graph(leaves, tuple(steps))
