"""Value: a scalar that remembers how it was computed, and backpropagates through that history.

Every operation below computes its result and, beside it, the local derivative of the result
with respect to each input. ``backward`` visits the nodes from the output back, and each node
adds its grad times the local derivative to each parent's grad (the chain rule); no operation
has backward code of its own. The node classes at the end of the file hold those parents.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial, reduce
from operator import add, mul

from gradengine import ieee
from gradengine.checks import as_float, as_list, describe, type_name

Number = int | float


class Value:
    """A scalar node: data, grad = d(output)/d(self), and the parents it was computed from."""

    __slots__ = ("data", "grad", "label", "_op", "_seen_by", "__weakref__")
    # Value(x) is a leaf: computed from nothing. Operations return the node classes at the end of
    # this file, subclasses of Value that hold the parents and local derivatives.
    _parents: tuple[Value, ...] = ()
    _local_grads: tuple[float, ...] = ()

    def __init__(self, data: object, label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError(
                "Value(data) must be a real number, got a Value: use it directly, "
                "or Value(v.data) for a new leaf with the same number"
            )
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {describe(label)}")
        self.data: float = as_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self._op = ""  # the operation that computed this node; none for a leaf
        self._seen_by: object = None  # the last walk of the graph that reached this node

    # -- how a result is recorded -------------------------------------------------------------

    @staticmethod
    def _node(
        data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], op: str
    ) -> Value:
        """A new node: data, its parents, and d(data)/d(parent) for each parent."""
        # Nodes skip __init__'s checks: data is already a float. One or two parents are kept in
        # the node itself rather than in tuples, which halves the objects that the cyclic garbage
        # collector walks while a graph grows (random 200,000-node graph: 1.8x faster).
        node: Value
        if len(parents) == 2:
            node = object.__new__(_Binary)
            node._x, node._y = parents
            node._dx, node._dy = local_grads
        elif len(parents) == 1:
            node = object.__new__(_Unary)
            (node._x,), (node._dx,) = parents, local_grads
        elif parents:
            node = object.__new__(_Fused)
            node._parents, node._local_grads = parents, local_grads
        else:  # a constant, such as the 2 in x * 2
            node = object.__new__(Value)
        node.data = data
        node.grad = 0.0
        node.label = ""
        node._op = op
        node._seen_by = None
        return node

    def _send_grad(self) -> None:
        """parent.grad += self.grad * d(self)/d(parent), for each parent (a leaf has none)"""

    # -- arithmetic -----------------------------------------------------------------------------

    def __add__(self, other: ValueLike) -> Value:
        """x + y; d/dx = 1, d/dy = 1"""
        other = as_value(other)
        return Value._node(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __radd__(self, other: Number) -> Value:
        """y + x"""
        return as_value(other) + self

    def __sub__(self, other: ValueLike) -> Value:
        """x - y; d/dx = 1, d/dy = -1"""
        other = as_value(other)
        return Value._node(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __rsub__(self, other: Number) -> Value:
        """y - x"""
        return as_value(other) - self

    def __mul__(self, other: ValueLike) -> Value:
        """x * y; d/dx = y, d/dy = x"""
        other = as_value(other)
        return Value._node(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __rmul__(self, other: Number) -> Value:
        """y * x"""
        return as_value(other) * self

    def __truediv__(self, other: ValueLike) -> Value:
        """x / y; d/dx = 1/y, d/dy = -x/y^2"""
        other = as_value(other)
        x, y = self.data, other.data
        return Value._node(
            ieee.divide(x, y),
            (self, other),
            (ieee.divide(1.0, y), -ieee.divide(x, y * y)),
            "/",
        )

    def __rtruediv__(self, other: Number) -> Value:
        """y / x"""
        return as_value(other) / self

    def __neg__(self) -> Value:
        """-x; d/dx = -1"""
        return Value._node(-self.data, (self,), (-1.0,), "neg")

    def __pow__(self, exponent: ValueLike) -> Value:
        """x ** y; d/dx = y * x^(y-1), d/dy = x^y * ln x (both 0 where PyTorch makes them 0)"""
        x = self.data
        if isinstance(exponent, Value):
            y = exponent.data
            out = ieee.power(x, y)
            d_exponent = 0.0 if x == 0 and y >= 0 else out * ieee.log(x)
            return Value._node(out, (self, exponent), (_d_power_d_base(x, y), d_exponent), "**")
        y = as_float(exponent, "the exponent")
        # A number exponent is no node of its own: it is part of the operation, as in "**2".
        return Value._node(ieee.power(x, y), (self,), (_d_power_d_base(x, y),), f"**{y:g}")

    def __rpow__(self, base: Number) -> Value:
        """b ** x"""
        return as_value(base) ** self

    def pow(self, exponent: ValueLike) -> Value:
        """x ** y"""
        return self**exponent

    # -- functions --------------------------------------------------------------------------------

    def relu(self) -> Value:
        """max(x, 0); d/dx = 0 if x <= 0 else 1 (so nan passes through, as in PyTorch)"""
        if self.data <= 0:
            return Value._node(0.0, (self,), (0.0,), "relu")
        return Value._node(self.data, (self,), (1.0,), "relu")

    def tanh(self) -> Value:
        """tanh(x); d/dx = 1 - tanh(x)^2"""
        t = math.tanh(self.data)
        return Value._node(t, (self,), (1.0 - t * t,), "tanh")

    def exp(self) -> Value:
        """e^x; d/dx = e^x"""
        e = ieee.exp(self.data)
        return Value._node(e, (self,), (e,), "exp")

    def log(self) -> Value:
        """ln x; d/dx = 1/x"""
        x = self.data
        return Value._node(ieee.log(x), (self,), (ieee.divide(1.0, x),), "log")

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^-x); d/dx = σ(x)(1 - σ(x))"""
        s = ieee.sigmoid(self.data)
        return Value._node(s, (self,), (s * (1.0 - s),), "sigmoid")

    # -- gradients ------------------------------------------------------------------------------

    def backward(self) -> None:
        """grad of every node := d(self)/d(node); leaves accumulate across calls, as in PyTorch."""
        # The walk allocates no reference cycles, so the cyclic collector has nothing to find
        # here; left on, it rescans the whole graph many times (1,000,000-node chain: 1.5x).
        with paused_gc():
            order, leaves = _walk(self)
            held = [leaf.grad for leaf in leaves]
            for node in order:
                node.grad = 0.0
            self.grad = 1.0
            for node in reversed(order):
                node._send_grad()
            # Leaves accumulate as in PyTorch: this call's total is added to what they held, so two
            # calls give exactly twice the gradient. Interior nodes keep this call's result only.
            for leaf, before in zip(leaves, held):
                leaf.grad = before + leaf.grad

    def zero_grad(self) -> None:
        """grad := 0"""
        self.grad = 0.0

    def update(self, lr: float) -> None:
        """data := data - lr * grad (one step of gradient descent)"""
        rate = as_float(lr, "the learning rate lr")
        if not math.isfinite(rate):
            raise ValueError(f"the learning rate lr must be finite, got {rate}")
        self.data -= rate * self.grad

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"


ValueLike = Value | int | float


def as_value(x: object) -> Value:
    """x itself if it is a Value, else a constant: a leaf holding float(x)."""
    if isinstance(x, Value):
        return x
    return Value._node(as_float(x, "an operand of a Value operation"), (), (), "")


def _d_power_d_base(x: float, y: float) -> float:
    """d(x^y)/dx = y * x^(y-1), and 0 when y = 0 (as PyTorch, instead of 0 * inf at x = 0)"""
    return 0.0 if y == 0 else y * ieee.power(x, y - 1.0)


def weighted_sum(
    bias: Value, weights: Sequence[Value], inputs: Sequence[ValueLike], *, relu: bool = False
) -> Value:
    """z = b + w1*x1 + ... + wn*xn, summed left to right; d/db = 1, d/dwi = xi, d/dxi = wi.

    With relu=True the node is relu(z), a whole ReLU neuron: each derivative times 1[z > 0].
    """
    ws = as_list(weights, "the weights as a list of Values")
    xs = [as_value(x) for x in as_list(inputs, "the inputs as a list of Values or numbers")]
    for name, v in [("bias", bias), *(("weight", w) for w in ws)]:
        if not isinstance(v, Value):
            raise TypeError(f"weighted_sum: each {name} must be a Value, got {type_name(v)}")
    if not isinstance(relu, bool):
        raise TypeError(f"weighted_sum: relu must be True or False, got {type_name(relu)}")
    if len(ws) != len(xs):
        raise ValueError(f"expected {len(ws)} inputs (one per weight), got {len(xs)}")
    return _weighted_sum(bias, ws, xs, [v.data for v in xs], relu)  # type: ignore[arg-type]


def _weighted_sum(
    bias: Value, weights: Sequence[Value], xs: list[Value], x: list[float], relu: bool
) -> Value:
    """weighted_sum, given the inputs as Values and their data (a Layer computes those once)."""
    # One node instead of micrograd's 2n + 1: the moons benchmark builds and walks 15x fewer.
    w = [p.data for p in weights]
    z = _sum_left_to_right(map(mul, w, x), bias.data)
    parents = (bias, *weights, *xs)
    if relu and z <= 0:  # an inactive ReLU: nothing flows back through it
        return Value._node(0.0, parents, (0.0,) * len(parents), "relu(weighted_sum)")
    return Value._node(z, parents, (1.0, *x, *w), "relu(weighted_sum)" if relu else "weighted_sum")


# Results must be bit-identical to micrograd's chain of additions. sum() adds left to right
# and is twice as fast as reduce() on Python <= 3.11; from 3.12 on it compensates rounding.
_sum_left_to_right = sum if sys.version_info < (3, 12) else partial(reduce, add)


def total(values: Sequence[ValueLike]) -> Value:
    """x1 + x2 + ... + xn, summed left to right; d/dxi = 1"""
    xs = tuple(as_value(v) for v in as_list(values, "a list of Values or numbers to total"))
    if not xs:
        raise ValueError("total() needs at least one value, got an empty sequence")
    data = _sum_left_to_right([v.data for v in xs[1:]], xs[0].data)
    return Value._node(data, xs, (1.0,) * len(xs), "sum")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run a block without the cyclic garbage collector, then restore it as it was.

    Values form no reference cycles, so the collector has nothing to find in a graph; passes that
    create a million small objects would otherwise set off full collections over every live node.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Two threads marking the same nodes at once would each take the other's marks for their own.
_one_walk_at_a_time = threading.Lock()


def _walk(root: Value) -> tuple[list[Value], list[Value]]:
    """(every node reachable from root, each after all of its parents; the leaves among them)"""
    if not root._parents:
        return [root], [root]
    order: list[Value] = []
    leaves: list[Value] = []
    # Each walk marks the nodes it reaches with a token of its own, so it never has to unmark
    # them. Marks use less memory than a set of the nodes seen, and are faster to test
    # (tracemalloc, 10,000-node chain, build + backward: 496 -> 337 bytes per node).
    with _one_walk_at_a_time:
        walk = object()
        root._seen_by = walk
        path = [root]  # the nodes being explored, each a parent of the one before it,
        unexplored = [iter(root._parents)]  # and the parents each has not looked at yet
        while path:
            for parent in unexplored[-1]:
                if parent._seen_by is not walk:
                    parent._seen_by = walk
                    grandparents = parent._parents
                    if grandparents:
                        path.append(parent)
                        unexplored.append(iter(grandparents))
                        break
                    order.append(parent)
                    leaves.append(parent)
            else:
                unexplored.pop()
                order.append(path.pop())  # all of its parents are in order now
    return order, leaves


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from root, leaves included, each after all of its parents."""
    return _walk(root)[0]


def interior_nodes(root: Value) -> list[Value]:
    """The nodes computed on the way to root (leaves excluded), each after all of its parents."""
    return [node for node in _walk(root)[0] if node._parents]


class _Unary(Value):
    """A result of one parent x, such as relu(x); _dx = d(self)/dx."""

    __slots__ = ("_x", "_dx")
    _x: Value
    _dx: float

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        return (self._x,)

    @property
    def _local_grads(self) -> tuple[float, ...]:  # type: ignore[override]
        return (self._dx,)

    def _send_grad(self) -> None:
        """x.grad += grad * dx"""
        self._x.grad += self.grad * self._dx


class _Binary(Value):
    """A result of two parents x and y, such as x * y; _dx = d(self)/dx, _dy = d(self)/dy."""

    __slots__ = ("_x", "_y", "_dx", "_dy")
    _x: Value
    _y: Value
    _dx: float
    _dy: float

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        return (self._x, self._y)

    @property
    def _local_grads(self) -> tuple[float, ...]:  # type: ignore[override]
        return (self._dx, self._dy)

    def _send_grad(self) -> None:
        """x.grad += grad * dx; y.grad += grad * dy"""
        grad = self.grad
        self._x.grad += grad * self._dx
        self._y.grad += grad * self._dy


class _Fused(Value):
    """A result of any number of parents, such as weighted_sum or total."""

    __slots__ = ("_parents", "_local_grads")
    _parents: tuple[Value, ...]
    _local_grads: tuple[float, ...]

    def _send_grad(self) -> None:
        """parent.grad += grad * local_grad, for each parent"""
        grad, local_grads = self.grad, self._local_grads
        if (grad == 0.0 or not any(local_grads)) and math.isfinite(grad * sum(local_grads)):
            # Every contribution grad * local_grad is exactly 0: nothing to add. Inactive ReLU
            # neurons make this common (moons benchmark: backward 1.2x faster). A nan or inf on
            # either side still propagates (0 * inf = nan), as in IEEE-754 and PyTorch.
            return
        for parent, local_grad in zip(self._parents, local_grads):
            parent.grad += grad * local_grad
