"""The nodes that operations make: how each keeps its parents and sends gradient back to them.

Every result is a subclass of Value. One or two parents are kept in the node's own slots rather
than in tuples, which halves the objects that the cyclic garbage collector walks while a graph
grows (random 200,000-node graph: 1.8x faster); fused nodes (total, the losses) keep tuples. A
neuron keeps two Shared groups (walk.py): its parameters, the same group for every sample, and
its inputs, the same group for every neuron of the layer. A node made the lecture's way,
``Value(data, children, op)`` with a ``_backward`` of its own, is a LectureNode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import chain

from gradengine import ieee
from gradengine.checks import describe
from gradengine.value import Operation, Value
from gradengine.walk import Shared


def make_node(
    data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], operation: Operation
) -> Value:
    """A new node: data, its parents, d(data)/d(parent) for each parent, and its operation."""
    # Nodes skip Value.__init__'s checks: data is already a float.
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
    node._operation = operation
    node._seen_by = None
    return node


def make_neuron(
    data: float,
    params: Shared,
    inputs: Shared,
    b: float,
    w: list[float],
    x: Sequence[float],
    operation: Operation,
) -> Value:
    """make_node for a neuron of parents (b, w1..wn) and (x1..xn), from the numbers b, w, x."""
    node = object.__new__(_Neuron)
    node._params, node._inputs = params, inputs
    node._b, node._w, node._x, node._out = b, w, x, data
    # What every node holds, as make_node sets it: written out, as a call would cost every neuron.
    node.data = data
    node.grad = 0.0
    node.label = ""
    node._operation = operation
    node._seen_by = None
    return node


def _send(parents: Iterable[Value], grad: float, local_grads: tuple[float, ...]) -> None:
    """parent.grad += grad * local_grad, for each parent"""
    if (grad == 0.0 or not any(local_grads)) and math.isfinite(grad * sum(local_grads)):
        # Every contribution grad * local_grad is exactly 0: nothing to add. Inactive ReLU
        # neurons make this common (moons benchmark: backward 1.2x faster). A nan or inf on
        # either side still propagates (0 * inf = nan), as in IEEE-754 and PyTorch.
        return
    for parent, local_grad in zip(parents, local_grads):
        parent.grad += grad * local_grad


class _Unary(Value):
    """A result of one parent x, such as relu(x); _dx = d(self)/dx."""

    __slots__ = ("_x", "_dx")
    _x: Value
    _dx: float

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        return (self._x,)

    _sources = _parents

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

    _sources = _parents

    @property
    def _local_grads(self) -> tuple[float, ...]:  # type: ignore[override]
        return (self._dx, self._dy)

    def _send_grad(self) -> None:
        """x.grad += grad * dx; y.grad += grad * dy"""
        grad = self.grad
        self._x.grad += grad * self._dx
        self._y.grad += grad * self._dy


class _Fused(Value):
    """A result of any number of parents kept in a tuple, such as total or a loss."""

    __slots__ = ("_parents", "_local_grads")
    _parents: tuple[Value, ...]
    _local_grads: tuple[float, ...]

    @property
    def _sources(self) -> tuple[Value, ...]:  # type: ignore[override]
        return self._parents

    def _send_grad(self) -> None:
        """parent.grad += grad * local_grad, for each parent"""
        _send(self._parents, self.grad, self._local_grads)


class _Neuron(Value):
    """act(b + w·x) as one node, its parents in two Shared groups: (b, w1..wn) and (x1..xn).

    It keeps the numbers b, w, x it was computed from (lists that the other nodes of its layer
    and step share) and computes its local derivatives from them when asked, with its operation's
    derivatives function: one new object per neuron, where tuples of parents and of derivatives
    made three (moons step: 3,300 fewer objects for the garbage collector to count and scan).
    """

    __slots__ = ("_params", "_inputs", "_b", "_w", "_x", "_out")
    _params: Shared
    _inputs: Shared
    _b: float
    _w: list[float]
    _x: Sequence[float]
    _out: float  # the value it computed (data may be set by hand later)

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        return self._params._sources + self._inputs._sources

    @property
    def _sources(self) -> tuple[Shared, ...]:  # type: ignore[override]
        return (self._params, self._inputs)

    @property
    def _local_grads(self) -> tuple[float, ...]:  # type: ignore[override]
        """d(self)/d(parent) for b, w1..wn, x1..xn, at the numbers it was computed from."""
        return tuple(self._operation.derivatives(ieee, self._b, self._w, self._x, self._out))

    def _send_grad(self) -> None:
        """parent.grad += grad * local_grad, for each parent"""
        local_grads = self._operation.derivatives(ieee, self._b, self._w, self._x, self._out)
        _send(chain(self._params._sources, self._inputs._sources), self.grad, local_grads)


def _nothing() -> None:
    """micrograd's default _backward: a node whose backward was never set passes nothing back."""


class LectureNode(Value):
    """A node made as micrograd and its lecture make one: Value(data, (parents...), op).

    Its user sets ``_backward``, a function of no arguments that adds this node's grad times the
    local derivatives into the parents' grads; backward() calls it in topological order. The
    closure refers to the node and the node to the closure: a reference cycle, freed by the
    cyclic garbage collector rather than at once. Nodes made by gradengine's operations have none.
    Its parents, symbol and _backward are kept by its operation, one of its own (so a LectureNode
    has Value's layout, and Value(...) becomes one without a __new__ that every leaf would pay for).
    """

    __slots__ = ()
    _operation: LectureOperation

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        """Each parent once, in the order given, as micrograd's set of children."""
        return self._operation.parents

    _sources = _parents

    @property
    def _backward(self) -> Callable[[], None]:
        """What the user set: adds grad * d(self)/d(parent) into each parent's grad."""
        return self._operation.backward

    @_backward.setter
    def _backward(self, backward: Callable[[], None]) -> None:
        self._operation.backward = backward

    def _send_grad(self) -> None:
        """whatever the user's _backward adds to the parents' grads"""
        self._operation.backward()

    @property
    def _local_grads(self) -> tuple[float, ...]:  # type: ignore[override]
        """d(self)/d(parent) for each parent, found by running _backward once with grad = 1."""
        # The chain rule is linear in the upstream grad, so _backward with grad 1 and the
        # parents at 0 leaves exactly the local derivatives in the parents' grads.
        parents = self._parents
        held = [p.grad for p in parents], self.grad
        try:
            for p in parents:
                p.grad = 0.0
            self.grad = 1.0
            self._backward()
            return tuple(float(p.grad) for p in parents)
        finally:
            for p, grad in zip(parents, held[0]):
                p.grad = grad
            self.grad = held[1]


def _no_value(m: object, *inputs: object) -> float:
    raise TypeError(
        "a node made as Value(data, children, op) has its value computed by your own code: "
        "it cannot be recomputed from its parents"
    )


def _no_derivatives(m: object, *inputs: object) -> tuple[float, ...]:
    raise TypeError(
        "a node made as Value(data, children, op) has only the _backward you gave it; its "
        "derivatives are numbers, not functions, so they cannot be differentiated again or "
        "compiled: define it with gradengine.Operation instead"
    )


class LectureOperation(Operation):
    """The operation of one LectureNode: the symbol it was given, its parents, its _backward."""

    __slots__ = ("parents", "backward")

    def __init__(self, symbol: str, parents: tuple[Value, ...]) -> None:
        super().__init__(symbol, _no_value, _no_derivatives, variadic=True)
        self.parents = parents
        self.backward: Callable[[], None] = _nothing


def made_the_lectures_way(node: Value, _children: Iterable[Value], _op: object) -> None:
    """Value(data, _children, _op): the new Value becomes a LectureNode with those parents."""
    if isinstance(_children, (str, bytes)) or not isinstance(_children, Iterable):
        raise TypeError(
            "Value(data, _children, _op, label): _children must be a tuple of the Values "
            f"the node was computed from, got {describe(_children)}; to name a leaf write "
            "Value(data, label='x')"
        )
    children = tuple(_children)
    for i, child in enumerate(children):
        if not isinstance(child, Value):
            raise TypeError(f"_children[{i}] must be a Value, got {describe(child)}")
    if not isinstance(_op, str):
        raise TypeError(f"_op must be a str such as 'tanh', got {describe(_op)}")
    if not children:
        if _op:
            raise TypeError(
                f"a leaf has no operation, got _op={_op!r}: Value(data, _children, _op) records "
                "an operation only with the Values it was computed from"
            )
        return  # Value(data, []) is a leaf, as in micrograd
    if type(node) is not Value:
        raise TypeError(
            f"{type(node).__name__}(data, _children, _op) with children is micrograd's way "
            "to make a node, for Value itself only; subclasses make leaves"
        )
    node.__class__ = LectureNode
    node._operation = LectureOperation(_op, tuple(dict.fromkeys(children)))


Value._node = staticmethod(make_node)
Value._neuron = staticmethod(make_neuron)
Value._made_the_lectures_way = made_the_lectures_way
