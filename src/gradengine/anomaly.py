"""Anomaly mode: stop at the first operation, forward or backward, that creates a nan or an inf.

Outside ``detect_anomaly()`` every operation follows IEEE-754 (``1 / Value(0)`` is inf,
``inf - inf`` is nan) and nothing is checked. Inside it, the forward pass raises
``FloatingPointError`` at the first operation whose result is non-finite although all of its
inputs are finite; ``backward()`` raises at the first gradient contribution
``upstream grad * local derivative`` that is not finite, naming the node's operation, the
parent, and both factors; every leaf then holds the grad it held before the call.

Anomaly mode belongs to the thread (more exactly, the context) that entered it: another thread
computing at the same time is not checked, and ``Value(1) / 0`` there stays inf.

Why swap methods instead of testing a flag inside ``Value``: every operation builds its result
through ``Value._node`` (a neuron through ``Value._neuron``) and every gradient flows through
``Value.backward``, so replacing those while any thread is in a ``with`` block checks everything,
while otherwise the engine runs its original, unchecked code: anomaly mode costs nothing when it
is off, not even a flag test. While it is on somewhere, the checked versions first ask whether it
is on in the calling context.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from gradengine.value import NeuronMaker, NodeMaker, Operation, Value
from gradengine.walk import Shared, topological_order

_MAX_INPUTS_SHOWN = 8
# How many detect_anomaly() blocks are open in this context (threads start with none).
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("gradengine_anomaly", default=0)
_switch = threading.Lock()  # guards _open and the swapping of Value's methods
_open = 0  # open blocks in all threads; the first swaps the methods in, the last swaps them out
_originals: dict[str, object] = {}  # Value's own class attributes, put back on the way out
_build_node: NodeMaker  # the engine's own, while the checked ones are swapped in
_build_neuron: NeuronMaker
_run_backward: Callable[[Value], None]


def _describe(values: tuple[Value, ...]) -> str:
    """'Value(data=1.0), Value(data=0.0)', cut after a few inputs for fused operations."""
    shown = ", ".join(f"Value(data={v.data!r})" for v in values[:_MAX_INPUTS_SHOWN])
    hidden = len(values) - _MAX_INPUTS_SHOWN
    return shown + (f", ... ({hidden} more)" if hidden > 0 else "")


def _check_forward(data: float, parents: tuple[Value, ...], op: Operation) -> None:
    """FloatingPointError in anomaly mode when finite inputs gave op a non-finite result."""
    # A node without parents is a constant such as the inf in `x + math.inf`: no operation made it.
    if (
        _depth.get()
        and not math.isfinite(data)
        and parents
        and all(math.isfinite(p.data) for p in parents)
    ):
        raise FloatingPointError(
            f"anomaly in the forward pass: operation {op.name!r} produced {data!r} "
            f"from finite inputs ({_describe(parents)})"
        )


def _checked_node(
    data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], op: Operation
) -> Value:
    """Value._node, checked by _check_forward."""
    _check_forward(data, parents, op)
    return _build_node(data, parents, local_grads, op)


def _checked_neuron(
    data: float,
    params: Shared,
    inputs: Shared,
    b: float,
    w: list[float],
    x: Sequence[float],
    op: Operation,
) -> Value:
    """Value._neuron, checked by _check_forward."""
    if not math.isfinite(data):
        _check_forward(data, params._sources + inputs._sources, op)
    return _build_neuron(data, params, inputs, b, w, x, op)


def _checked_backward(self: Value) -> None:
    """Value.backward, then FloatingPointError at the first non-finite gradient it computed.

    As after any failed backward(), every leaf then holds the grad it held before the call.
    """
    if not _depth.get():
        _run_backward(self)
        return
    order = topological_order(self)
    leaves = [node for node in order if not node._parents]
    held = [leaf.grad for leaf in leaves]
    _run_backward(self)
    non_finite = {id(leaf) for leaf, grad in zip(leaves, held) if not math.isfinite(grad)}
    problem = _first_anomaly(order, non_finite)
    if problem is not None:
        for leaf, grad in zip(leaves, held, strict=True):
            leaf.grad = grad
        raise FloatingPointError(problem)


def _first_anomaly(order: list[Value], held_non_finite: set[int]) -> str | None:
    """What went non-finite first in the backward pass just run over order, or None."""
    # The engine's own backward has run (so anomaly mode cannot change its results); now replay
    # its arithmetic in the same order, latest node first: every interior grad is final by the
    # time its node sends gradient to its parents, so each contribution is recomputed exactly.
    for node in reversed(order):
        grad = node.grad
        if not math.isfinite(grad):
            cause = (
                "it already held that before this backward()"
                if id(node) in held_non_finite
                else "adding up finite contributions overflowed"
            )
            return f"anomaly in the backward pass: the grad of {_name(node)} is {grad!r}: {cause}"
        for parent, local_grad in zip(node._parents, node._local_grads, strict=True):
            contribution = grad * local_grad
            if not math.isfinite(contribution):
                return (
                    f"anomaly in the backward pass: operation {node._op!r} sends the gradient "
                    f"{contribution!r} to its parent {_name(parent)}: upstream grad {grad!r} "
                    f"* local derivative {local_grad!r}"
                )
    return None


def _name(node: Value) -> str:
    """Value(data=..., op=...) for a message; op is 'leaf' for a leaf."""
    label = f", label={node.label!r}" if node.label else ""
    return f"Value(data={node.data!r}, op={node._op or 'leaf'!r}{label})"


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Within the block, the first nan or inf created, forward or backward, raises an error.

    Only this thread's (this context's) computations are checked.
    """
    global _open, _build_node, _build_neuron, _run_backward
    with _switch:
        if _open == 0:
            _build_node, _build_neuron = Value._node, Value._neuron
            _run_backward = Value.backward
            for name in ("_node", "_neuron", "backward"):
                _originals[name] = Value.__dict__[name]
            setattr(Value, "_node", staticmethod(_checked_node))  # noqa: B010
            setattr(Value, "_neuron", staticmethod(_checked_neuron))  # noqa: B010
            setattr(Value, "backward", _checked_backward)  # noqa: B010
        _open += 1
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)
        with _switch:
            _open -= 1
            if _open == 0:
                for name in ("_node", "_neuron", "backward"):
                    setattr(Value, name, _originals.pop(name))


def is_anomaly_enabled() -> bool:
    """True inside a detect_anomaly() block of this thread (context)."""
    return _depth.get() > 0
