"""Pickling and copying graphs of any depth, registered with the standard library's copyreg.

pickle and copy.deepcopy would save a node's parents from inside the node, one level of recursion
per level of the graph, and fail past Python's recursion limit (micrograd's demo sums 337 squares
into its loss). So a node with parents is saved as its whole graph in a flat list, each node after
its parents: leaves as themselves (so parameters pickled beside a loss stay one with its graph),
every other node as its numbers, its operation and the positions of its parents. copy.copy of a
node is the same graph over the same leaves.

A node made by hand, Value(data, children, op) with a _backward of its own, is refused: that
function refers to the original nodes, so a copy's gradients would silently go to them.
Operations are saved by name: the built-in ones (ADD, the losses, ...) come back as themselves.
"""

from __future__ import annotations

import copyreg
import importlib
import sys
from typing import Any

from gradengine.engine import POWERS, Operation, Value, power_by, topological_order

#: A node as saved: a leaf itself, or (data, grad, label, _op, operation, parent positions, d/dp)
Row = Value | tuple[float, float, str, str, Operation, tuple[int, ...], tuple[Any, ...]]


def _check_copyable(node: Value) -> None:
    if "_backward" in vars(node):
        raise TypeError(
            f"cannot copy or pickle {node!r}: it was made by hand, Value(data, children, "
            f"{node._op!r}), with a _backward of its own, which refers to the original nodes, so "
            "a copy's gradients would go to them; define its operation with gradengine.Operation"
        )


def _reduce_value(node: Value) -> tuple[Any, ...]:
    """pickle's and copy's recipe for node: a leaf as its fields, any other as its whole graph."""
    _check_copyable(node)
    if not node._parents:
        return (_leaf, (node.data, node.grad, node.label, node._op), dict(vars(node)) or None)
    order = topological_order(node)
    where = {id(n): i for i, n in enumerate(order)}
    rows: list[Row] = []
    for n in order:
        _check_copyable(n)
        if n._parents:
            parents = tuple(where[id(p)] for p in n._parents)
            rows.append((n.data, n.grad, n.label, n._op, n._operation, parents, n._local_grads))
        else:
            rows.append(n)
    return (_graph, (rows,))


def _leaf(data: float, grad: float, label: str, op: str) -> Value:
    leaf = Value(data, label=label, _op=op)
    leaf.grad = grad
    return leaf


def _graph(rows: list[Row]) -> Value:
    """The last node of rows, made again with every node before it."""
    nodes: list[Value] = []
    for row in rows:
        if isinstance(row, Value):
            nodes.append(row)
            continue
        data, grad, label, op, operation, parents, local_grads = row
        node = object.__new__(Value)
        node.data, node.grad, node.label, node._op = data, grad, label, op
        node._parents = tuple(nodes[i] for i in parents)
        node._local_grads, node._operation = local_grads, operation
        nodes.append(node)
    return nodes[-1]


def _reduce_operation(op: Operation) -> str | tuple[Any, ...]:
    """An operation by name: the module constant it is, or x ** c by its exponent c."""
    for c, power in POWERS.items():
        if power is op:
            return (power_by, (c,))
    for module_name in ("gradengine.engine", "gradengine.fast.neurons", "gradengine.losses"):
        module = sys.modules.get(module_name)
        for name, constant in vars(module).items() if module else ():
            if constant is op:
                return (_constant, (module_name, name))
    module = sys.modules.get(getattr(op.value, "__module__", ""))
    for name, constant in vars(module).items() if module else ():
        if constant is op:  # a user's operation, held by their module
            return (_constant, (module.__name__, name))  # type: ignore[union-attr]
    return op.__reduce_ex__(4)  # pickled as it is: fails with pickle's reason for a lambda


def _constant(module: str, name: str) -> Operation:
    """The operation a module holds under name (how a pickled one is found again)."""
    operation: Operation = getattr(importlib.import_module(module), name)
    return operation


copyreg.pickle(Value, _reduce_value)
copyreg.pickle(Operation, _reduce_operation)
