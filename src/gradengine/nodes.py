"""The nodes that operations make: how each keeps its parents and sends gradient back to them.

Every result is a subclass of Value. One or two parents are kept in the node's own slots rather
than in tuples, which halves the objects that the cyclic garbage collector walks while a graph
grows (random 200,000-node graph: 1.8x faster); fused nodes (weighted_sum, total, the losses)
keep tuples. A node made the lecture's way, ``Value(data, children, op)`` with a ``_backward``
of its own, is a LectureNode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from gradengine.checks import describe
from gradengine.value import Operation, Value


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


def _nothing() -> None:
    """micrograd's default _backward: a node whose backward was never set passes nothing back."""


class LectureNode(Value):
    """A node made as micrograd and its lecture make one: Value(data, (parents...), op).

    Its user sets ``_backward``, a function of no arguments that adds this node's grad times the
    local derivatives into the parents' grads; backward() calls it in topological order. The
    closure refers to the node and the node to the closure: a reference cycle, freed by the
    cyclic garbage collector rather than at once. Nodes made by gradengine's operations have none.
    """

    __slots__ = ("_parents", "_op", "_backward")
    _parents: tuple[Value, ...]  # each parent once, in the order given, as micrograd's set
    _op: str
    _backward: Callable[[], None]

    def __init__(
        self, data: object, _children: Iterable[Value] = (), _op: str = "", label: str = ""
    ) -> None:
        super().__init__(data, label=label)
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
        self._parents = tuple(dict.fromkeys(children))
        self._op = _op
        self._operation = LECTURE
        self._backward = _nothing

    def _send_grad(self) -> None:
        """whatever the user's _backward adds to the parents' grads"""
        self._backward()

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


#: The operation of every LectureNode (its own _op holds the name it was given).
LECTURE = Operation("lecture", _no_value, _no_derivatives, variadic=True)

Value._node = staticmethod(make_node)
Value._lecture_node = LectureNode
