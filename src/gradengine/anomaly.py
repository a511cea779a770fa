"""Anomaly mode: stop at the first operation, forward or backward, that creates a nan or an inf.

Outside ``detect_anomaly()`` every operation follows IEEE-754 (``1 / Value(0)`` is inf,
``inf - inf`` is nan) and nothing is checked. Inside it, the forward pass raises
``FloatingPointError`` at the first operation whose result is non-finite although all of its
inputs are finite, and the backward pass raises at the first gradient contribution
``upstream grad * local derivative`` that is not finite, naming the node's operation, the
parent, and both factors.

Why swap methods instead of testing a flag inside ``Value``: every operation builds its result
through ``Value._node`` and every gradient flows through ``Value.backward``, so replacing those two
for the duration of the ``with`` block checks everything, while outside it the engine runs its
original, unchecked code: anomaly mode costs nothing when it is off, not even a flag test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gradengine.value import Value, interior_nodes

_MAX_INPUTS_SHOWN = 8
_depth = 0  # how many detect_anomaly() blocks are open; only the outermost swaps the methods
_originals: dict[str, object] = {}  # Value's own class attributes, put back on the way out
_NodeBuilder = Callable[[float, tuple[Value, ...], tuple[float, ...], str], Value]
_build_node: _NodeBuilder = Value._node


def _describe(values: tuple[Value, ...]) -> str:
    """'Value(data=1.0), Value(data=0.0)', cut after a few inputs for fused operations."""
    shown = ", ".join(f"Value(data={v.data!r})" for v in values[:_MAX_INPUTS_SHOWN])
    hidden = len(values) - _MAX_INPUTS_SHOWN
    return shown + (f", ... ({hidden} more)" if hidden > 0 else "")


def _checked_node(
    data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], op: str
) -> Value:
    """Value._node, raising FloatingPointError when finite inputs give a non-finite result."""
    if not math.isfinite(data) and all(math.isfinite(p.data) for p in parents):
        raise FloatingPointError(
            f"anomaly in the forward pass: operation {op!r} produced {data!r} "
            f"from finite inputs ({_describe(parents)})"
        )
    return _build_node(data, parents, local_grads, op)


def _checked_backward(self: Value) -> None:
    """Value.backward, raising FloatingPointError at the first non-finite gradient contribution."""
    if not math.isfinite(self.data):
        raise FloatingPointError(
            f"anomaly in the backward pass: the output itself is {self.data!r} "
            f"(operation {self._op or 'leaf'!r}), so no gradient of it is meaningful"
        )
    # The same loop as Value.backward, with a check on each product it accumulates.
    nodes = interior_nodes(self)
    for node in nodes:
        node.grad = 0.0
    self.grad += 1.0
    for node in reversed(nodes):
        grad = node.grad
        for parent, local_grad in zip(node._parents, node._local_grads, strict=True):
            contribution = grad * local_grad
            if not math.isfinite(contribution):
                raise FloatingPointError(
                    f"anomaly in the backward pass: operation {node._op!r} sends the gradient "
                    f"{contribution!r} to its parent Value(data={parent.data!r}, op="
                    f"{parent._op or 'leaf'!r}): upstream grad {grad!r} * local derivative "
                    f"{local_grad!r}"
                )
            parent.grad += contribution
            if not math.isfinite(parent.grad):
                raise FloatingPointError(
                    f"anomaly in the backward pass: the grad of Value(data={parent.data!r}, op="
                    f"{parent._op or 'leaf'!r}) became {parent.grad!r} when operation "
                    f"{node._op!r} added {contribution!r} (upstream grad {grad!r} * local "
                    f"derivative {local_grad!r})"
                )


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Within the block, the first nan or inf created, forward or backward, raises an error."""
    global _depth, _build_node
    if _depth == 0:
        _build_node = Value._node
        _originals["_node"] = Value.__dict__["_node"]
        _originals["backward"] = Value.__dict__["backward"]
        setattr(Value, "_node", staticmethod(_checked_node))  # noqa: B010
        setattr(Value, "backward", _checked_backward)  # noqa: B010
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            setattr(Value, "_node", _originals.pop("_node"))  # noqa: B010
            setattr(Value, "backward", _originals.pop("backward"))  # noqa: B010


def is_anomaly_enabled() -> bool:
    """True inside a detect_anomaly() block."""
    return _depth > 0
