"""Value: a number that remembers how it was computed, and backpropagates through that history.

Every operation is one row of the table at the end: its value and its local derivative d(out)/dx
for each input x. ``backward()`` visits the nodes from the output back; each adds its grad times
each local derivative into that parent's grad: the chain rule. A row is written once, with the
functions of a namespace ``m``: ``floats`` here, Values in gradengine.higher (gradients of
gradients), arrays in compiled mode. For x / y at x = 6, y = 3: DIV.derivatives(floats, 6.0, 3.0,
2.0) = (1 / y, -(x / y) / y) = (0.333..., -0.666...). Needs only Python's standard library.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Iterable
from math import copysign, inf, nan
from typing import Any


class Floats:
    """The numbers m of floats: IEEE-754's inf and nan (as PyTorch) where Python's raise errors."""

    # fmt: off
    def real(self, x: float) -> float: return x
    def tanh(self, x: float) -> float: return math.tanh(x)
    def exp(self, x: float) -> float: return math.exp(x) if not x > 709.782712893384 else inf
    def log(self, x: float) -> float: return math.log(x) if x > 0 else -inf if x == 0 else nan
    def sqrt(self, x: float) -> float: return math.sqrt(x) if x >= 0 else nan
    def step(self, x: float) -> float: return 0.0 if x <= 0 else 1.0  # relu's slope (1 at nan)
    def where(self, condition: bool, a: float, b: float) -> float: return a if condition else b
    def sigmoid(self, x: float) -> float:  # 1 / (1 + e^-x), without overflow
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    def divide(self, x: float, y: float) -> float:  # ±inf for x / ±0, nan for 0 / 0
        if y == 0:
            return nan if x == 0 or x != x else copysign(inf, x) * copysign(1.0, y)
        return x / y
    def power(self, x: float, y: float) -> float:  # C's pow: inf if too large or 0 ** negative
        try:
            return math.pow(x, y)
        except (OverflowError, ValueError):  # nan for negative ** fraction, -inf for odd powers
            if x < 0 and not y.is_integer():
                return nan
            return -inf if y.is_integer() and y % 2 == 1 and copysign(1.0, x) < 0 else inf
    # fmt: on


floats = Floats()


def as_float(x: object, what: str = "a number") -> float:
    """x as a float, for a real number (an int beyond the float range rounds to ±inf)"""
    if type(x) is not float and not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__} {x!r:.40}")
    try:
        return float(x)
    except OverflowError:
        return -inf if x < 0 else inf


class Value:
    """A scalar node: data, grad = d(output)/d(self), and the parents it was computed from."""

    # fmt: off
    __slots__ = ("data", "grad", "label", "_op", "_parents", "_local_grads", "_operation",
                 "__weakref__", "__dict__")  # __dict__: made when needed, for a hand-made _backward

    def __init__(self, data: object, _children: Iterable[Value] = (), _op: str = "",
                 label: str = "") -> None:
        # fmt: on
        if isinstance(data, Value):
            raise TypeError("Value(data) needs a real number, got a Value: Value(v.data) copies it")
        if not isinstance(_op, str) or not isinstance(label, str):
            kinds = f"{type(_op).__name__}, {type(label).__name__}"
            raise TypeError(f"_op and label must be str, got {kinds}")
        self.data = as_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self._op = _op
        # The lecture's way to make a node: Value(data, (a, b), "+"), then set its _backward.
        # Parents are kept in the order given, each once (micrograd keeps a set of children).
        self._parents = tuple(dict.fromkeys(_children))
        if not all(isinstance(p, Value) for p in self._parents):
            raise TypeError(f"Value(data, _children): _children must be Values: {_children!r:.30}")
        self._local_grads: tuple[Any, ...] = ()
        self._operation = LEAF

    @staticmethod
    def node(data: float, parents: Parents, grads: tuple[Any, ...], op: Operation) -> Value:
        """An operation's result: its data, its parents, and d(data)/d(parent) for each."""
        out = object.__new__(Value)  # not __init__: data is a float already
        out.data, out.grad, out.label, out._op = data, 0.0, "", op.name
        out._parents, out._local_grads, out._operation = parents, grads, op
        return watched(out) if WATCHERS else out  # (WATCHERS: what anomaly mode adds)

    # Each operation is one row of the table at the end: its value and its local derivatives.
    # fmt: off
    def __add__(self, other: ValueLike) -> Value: return ADD(self, other)
    def __mul__(self, other: ValueLike) -> Value: return MUL(self, other)
    def __sub__(self, other: ValueLike) -> Value: return SUB(self, other)
    def __truediv__(self, other: ValueLike) -> Value: return DIV(self, other)
    def __rsub__(self, other: float) -> Value: return SUB(other, self)
    def __rtruediv__(self, other: float) -> Value: return DIV(other, self)
    def __rpow__(self, other: float) -> Value: return POW(other, self)
    def __neg__(self) -> Value: return NEG(self)
    def relu(self) -> Value: return RELU(self)
    def tanh(self) -> Value: return TANH(self)
    def exp(self) -> Value: return EXP(self)
    def log(self) -> Value: return LOG(self)
    def sigmoid(self) -> Value: return SIGMOID(self)
    def __pow__(self, y: ValueLike) -> Value:  # a number y is part of the operation: "**2"
        return POW(self, y) if isinstance(y, Value) else power_by(as_float(y, "exponent"))(self)
    __radd__, __rmul__ = __add__, __mul__  # other + self as self + other, as micrograd does
    # fmt: on

    def _backward(self) -> None:
        """parent.grad += self.grad * d(self)/d(parent): the chain rule at this node"""
        for parent, local_grad in zip(self._parents, self._local_grads):
            parent.grad += self.grad * local_grad

    def backward(self) -> None:
        """grad of every node := d(self)/d(node); leaves add it to what they held, as in PyTorch."""
        if _one_pass_at_a_time._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("backward() called inside a running backward() (a signal handler?)")
        with _one_pass_at_a_time:  # two threads adding into one leaf at once would lose sums
            order = topological_order(self)
            held = [-0.0 if node._parents else node.grad for node in order]  # what leaves held
            try:
                for node in order:  # d(self)/d(self) = 1; -0.0 + g is g, so one contribution
                    node.grad = 1.0 if node is self else -0.0  # keeps its sign, as in PyTorch
                for node in reversed(order):
                    node._backward()
                for node, grad in zip(order, held):  # leaves add this pass's total to what they
                    node.grad += grad or -0.0  # held (adding -0.0 changes nothing, not a sign)
                for check in CHECKS:  # anomaly mode checks the whole pass here
                    check(order, held)
            except BaseException:  # an error, or Ctrl-C midway: leaves keep what they held
                for node, grad in zip(order, held):
                    node.grad = grad
                raise

    @property
    def _prev(self) -> tuple[Value, ...]:
        """the Values this one was computed from (micrograd's name)"""
        return self._parents

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"


ValueLike = Value | int | float
Parents = tuple[Value, ...]
WATCHERS: list[Callable[[Value], None]] = []  # see each new node (anomaly mode)
CHECKS: list[Callable[[list[Value], list[float]], None]] = []  # after backward(): order, held
_one_pass_at_a_time = threading.RLock()  # an RLock knows whether this thread holds it


def watched(node: Value) -> Value:
    """node, after each of WATCHERS has seen it (anomaly mode raises there at a nan or inf)"""
    for watch in WATCHERS:
        watch(node)
    return node


def topological_order(root: Value) -> list[Value]:
    """Every node root was computed from, root last, each after all of its parents."""
    order, seen, stack = [], set(), [root]  # a stack, not recursion: any depth is fine
    while stack:
        node = stack.pop()
        if node is PARENTS_DONE:  # the node below it on the stack has all its parents in order
            order.append(stack.pop())
        elif node not in seen:
            seen.add(node)
            stack += [node, PARENTS_DONE, *[p for p in reversed(node._parents) if p not in seen]]
    return order


class Operation:
    """An operation of Values: value(m, *inputs) and derivatives(m, *inputs, value)."""

    __slots__ = ("name", "value", "derivatives")

    def __init__(self, name: str, value: Callable[..., Any], derivatives: Callable[..., Any]):
        if not isinstance(name, str) or not callable(value) or not callable(derivatives):
            raise TypeError("Operation(name, value, derivatives) takes a str and two functions")
        self.name, self.value, self.derivatives = name, value, derivatives

    def __call__(self, *operands: ValueLike) -> Value:
        """The node of this operation of the operands, with its value and local derivatives."""
        parents = tuple([x if isinstance(x, Value) else Value(x) for x in operands])
        xs = [p.data if type(p.data) is float else as_float(p.data, "data") for p in parents]
        out = self.value(floats, *xs)
        grads = tuple(self.derivatives(floats, *xs, out))
        if type(out) is not float or len(grads) != len(xs):  # (only an operation of your own)
            out, grads = self.checked(out, grads, len(xs))
        return Value.node(out, parents, grads, self)

    def checked(self, out: Any, grads: tuple[Any, ...], n: int) -> tuple[float, tuple[Any, ...]]:
        """out and grads as floats; TypeError or ValueError saying what is wrong with them"""
        if len(grads) != n:
            raise ValueError(f"{self.name!r} gave {len(grads)} derivatives for {n} inputs")
        return as_float(out, f"the value of {self.name!r}"), tuple(map(as_float, grads))

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


def _made_by_hand(m: Any, *inputs: Any) -> Any:
    raise TypeError("no operation computed this Value: it is a leaf, or a node made by hand")


# fmt: off
LEAF = Operation("", _made_by_hand, _made_by_hand)  # for leaves, and nodes made by hand
# name, value, and d(result)/d(each input)
ADD = Operation("+", lambda m, x, y: x + y, lambda m, x, y, out: (1.0, 1.0))
SUB = Operation("-", lambda m, x, y: x - y, lambda m, x, y, out: (1.0, -1.0))
MUL = Operation("*", lambda m, x, y: x * y, lambda m, x, y, out: (y, x))
DIV = Operation("/", lambda m, x, y: m.divide(x, y),
                lambda m, x, y, q: (m.divide(1.0, y), -m.divide(q, y)))
NEG = Operation("neg", lambda m, x: -x, lambda m, x, out: (-1.0,))
RELU = Operation("ReLU", lambda m, x: m.where(m.real(x) <= 0, 0.0, x),
                 lambda m, x, out: (m.step(x),))
TANH = Operation("tanh", lambda m, x: m.tanh(x), lambda m, x, t: (1.0 - t * t,))
EXP = Operation("exp", lambda m, x: m.exp(x), lambda m, x, e: (e,))
LOG = Operation("log", lambda m, x: m.log(x), lambda m, x, out: (m.divide(1.0, x),))
SIGMOID = Operation("sigmoid", lambda m, x: m.sigmoid(x), lambda m, x, s: (s * (1.0 - s),))
# x ** y: d/dx = y x^(y-1) and d/dy = x^y ln x, each 0 where PyTorch makes it 0 (y = 0; x = 0 <= y);
# the branch not taken is computed at x = 1, so that it holds no inf (whose 0 * inf would be nan)
POW = Operation("**", lambda m, x, y: m.power(x, y), lambda m, x, y, out: (
    m.where(c := m.real(y) == 0, 0.0, y * m.power(m.where(c, 1.0, x), y - 1.0)),
    m.where(c := (m.real(x) == 0) & (m.real(y) >= 0), 0.0, out * m.log(m.where(c, 1.0, x)))))
# fmt: on
POWERS: dict[float, Operation] = {}  # x ** c for each number c, named as micrograd: "**2"
PARENTS_DONE = Value(0.0, label="parents done")  # a marker that the walk puts on its stack


# fmt: off
def power_by(c: float) -> Operation:
    """x ** c; d/dx = c x^(c-1), and 0 for c = 0 (so 0 ** 0 has slope 0, as in PyTorch)"""
    if c not in POWERS:  # x ** ±0.5 as PyTorch: √x and 1 / √x (unlike pow at -0.0 and -inf)
        def value(m: Any, x: Any) -> Any: return m.power(x, c)
        def root(m: Any, x: Any) -> Any: return m.sqrt(x) if c > 0 else m.divide(1.0, m.sqrt(x))
        def slope(m: Any, x: Any, out: Any) -> Any: return (c * power_by(c - 1).value(m, x),)
        zero = (lambda m, x, out: (0.0,)) if c == 0 else slope
        POWERS[c] = Operation(f"**{c:g}", root if c in (0.5, -0.5) else value, zero)
    return POWERS[c]
