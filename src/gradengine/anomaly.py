"""Anomaly mode: stop at the first operation, forward or backward, that creates a nan or an inf.

Outside ``detect_anomaly()`` every operation follows IEEE-754 (``1 / Value(0)`` is inf,
``inf - inf`` is nan) and nothing is checked. Inside it, the forward pass raises
``FloatingPointError`` at the first operation whose result is non-finite although all of its
inputs are finite; ``backward()`` raises at the first gradient contribution
``upstream grad * local derivative`` that is not finite, naming the node's operation, the
parent, and both factors; every leaf then holds the grad it held before the call.

Anomaly mode belongs to the thread (more exactly, the context) that entered it: another thread
computing at the same time is not checked, and ``Value(1) / 0`` there stays inf.

It watches through the engine's two documented seams: ``engine.WATCHERS``, called with every new
node, and ``engine.CHECKS``, called after every backward pass. Its functions are in them only
while some thread is inside a block, so it costs nothing when it is off.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gradengine import engine
from gradengine.engine import Value

_MAX_INPUTS_SHOWN = 8
# How many detect_anomaly() blocks are open in this context (threads start with none).
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("gradengine_anomaly", default=0)
_switch = threading.Lock()  # guards _open and the engine's lists of watchers
_open = 0  # open blocks in all threads: the first adds the watchers, the last removes them


def _describe(values: tuple[Value, ...]) -> str:
    """'Value(data=1.0), Value(data=0.0)', cut after a few inputs for fused operations."""
    shown = ", ".join(f"Value(data={v.data!r})" for v in values[:_MAX_INPUTS_SHOWN])
    hidden = len(values) - _MAX_INPUTS_SHOWN
    return shown + (f", ... ({hidden} more)" if hidden > 0 else "")


def _watch(node: Value) -> None:
    """FloatingPointError in anomaly mode when finite inputs gave a node a non-finite value."""
    # A node without parents is a constant such as the inf in `x + math.inf`: no operation made it.
    parents = node._parents
    if (
        _depth.get()
        and not math.isfinite(node.data)
        and parents
        and all(math.isfinite(p.data) for p in parents)
    ):
        raise FloatingPointError(
            f"anomaly in the forward pass: operation {node._op!r} produced {node.data!r} "
            f"from finite inputs ({_describe(parents)})"
        )


def _check(order: list[Value], held: list[float]) -> None:
    """FloatingPointError in anomaly mode at the first non-finite gradient a backward() computed.

    backward() then gives every leaf back the grad it held before the call.
    """
    if not _depth.get():
        return
    non_finite = {
        id(n) for n, grad in zip(order, held) if not n._parents and not math.isfinite(grad)
    }
    problem = _first_anomaly(order, non_finite)
    if problem is not None:
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
        # (A node made by hand has no local derivatives to check: only its own _backward.)
        for parent, local_grad in zip(node._parents, node._local_grads):
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
    global _open
    with _switch:
        if _open == 0:
            engine.WATCHERS.append(_watch)
            engine.CHECKS.append(_check)
        _open += 1
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)
        with _switch:
            _open -= 1
            if _open == 0:
                engine.WATCHERS.remove(_watch)
                engine.CHECKS.remove(_check)


@contextmanager
def paused() -> Iterator[None]:
    """Within the block, this context's computations are not checked (see check_results)."""
    token = _depth.set(0)
    try:
        yield
    finally:
        _depth.reset(token)


def check_results(results: list[Value], known: set[int]) -> None:
    """In anomaly mode, FloatingPointError at the first node of results' graphs (but those known)
    that made a nan or inf from finite inputs: what paused() let through, judged where used."""
    if not _depth.get():
        return
    seen = set(known)
    for root in results:
        for node in engine.topological_order(root):
            if id(node) not in seen:
                seen.add(id(node))
                _watch(node)


def is_anomaly_enabled() -> bool:
    """True inside a detect_anomaly() block of this thread (context)."""
    return _depth.get() > 0
