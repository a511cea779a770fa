"""micrograd's internals on every Value, so that its notebooks and the lecture's code run as is.

micrograd's notebooks walk a graph through ``v._prev`` and ``v._op``, and its lecture calls each
node's ``v._backward()`` by hand. gradengine keeps a node's parents and local derivatives in its
own way (nodes.py); this mixin reads them back in micrograd's terms. ``_op`` itself is a property
of Value, and a node made micrograd's way, ``Value(data, children, op)``, is a LectureNode.
Its graph drawn inline in Jupyter comes from viz/notebook.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

Node = TypeVar("Node", bound="MicrogradSurface")


class MicrogradSurface:
    """``_prev`` and ``_backward``, as micrograd's Value has them."""

    __slots__ = ()

    if TYPE_CHECKING:  # what Value provides
        _parents: tuple[Any, ...]

        def _send_grad(self) -> None: ...

    @property
    def _prev(self: Node) -> tuple[Node, ...]:
        """The Values this one was computed from, each once (micrograd keeps a set of them)."""
        return tuple(dict.fromkeys(self._parents))

    @property
    def _backward(self) -> Callable[[], None]:
        """Apply the chain rule at this node only: parent.grad += grad * d(self)/d(parent).

        As in the lecture: set ``o.grad = 1.0``, then call ``_backward()`` on each node from the
        output back. It is a bound method, made when read, so no node holds a closure.
        """
        return self._send_grad
