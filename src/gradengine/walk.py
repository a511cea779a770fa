"""Walking a graph: every node reachable from a root, each after its parents, one walk at a time.

The walk is an explicit stack, never recursion (a 1,000,000-deep chain walks like any other), and
visits parents in operand order, so the order is the same on every run. It follows each node's
``_sources``: its parents, or the Shared groups that hold them, each followed once per walk.

Walks and gradient passes mark and change the nodes they visit, so they take turns: a second
thread waits for the first to finish. A walk started from inside another in the same thread (a
signal handler calling backward(), or an operation's own ``_backward`` calling it) would corrupt
the first, so it is refused with a RuntimeError instead of waiting for itself forever.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self


class Node(Protocol):
    """What the walk reads and marks on a node (value.py's Value has both)."""

    _seen_by: object
    _packed: ClassVar[bool]  # True for a node that stands for Values not made yet (hidden.py)

    @property
    def _sources(self) -> tuple[Self | Shared, ...]: ...


N = TypeVar("N", bound=Node)


class Shared:
    """Parents that many nodes have in common, such as a neuron's (b, w1..wn) or a layer's inputs.

    A node that keeps its parents in Shared groups gives the walk the groups, and the walk follows
    each group's members once, however many nodes share it: the moons step's walk tests 3,223
    marks (with an MLP's Hidden nodes) where one node per multiply-add would make 66,154. A group
    is no node: it never appears in a walk's order.
    """

    __slots__ = ("_sources", "_seen_by", "data")

    def __init__(self, members: tuple[Any, ...]) -> None:
        self._sources = members
        self._seen_by: object = None
        #: Numbers read from the members, kept for reuse by whoever reads them (value.py keeps
        #: a neuron's weights there and hidden.py a layer's, so that the nodes of one training
        #: step share one list).
        self.data: Any = None


_turn = threading.Lock()
_holder: int | None = None  # the thread that has the turn


@contextmanager
def exclusive(what: str) -> Iterator[None]:
    """Hold the one turn that walks and gradient passes share, for `what` (named in errors)."""
    global _holder
    me = threading.get_ident()
    if _holder == me:
        raise RuntimeError(
            f"{what} was called while this thread is already walking a graph (from a signal "
            "handler, or from inside an operation's _backward?); gradients would be corrupted, "
            "so it is refused: call it after the running backward() returns"
        )
    with _turn:
        _holder = me
        try:
            yield
        finally:
            _holder = None


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


def walk(root: N) -> tuple[list[N], list[N]]:
    """(every node reachable from root, each after all of its parents; the leaves among them)

    The nodes are those that backward() sends gradient through: Values, and an MLP's Hidden
    nodes, which stand for Values (topological_order gives the Values). The caller holds the
    turn (``exclusive``).
    """
    if not root._sources:
        return [root], [root]
    order: list[Any] = []  # of N: the walk leaves the Shared groups out
    leaves: list[Any] = []
    # Each walk marks the nodes it reaches with a token of its own, so it never has to unmark
    # them. Marks use less memory than a set of the nodes seen, and are faster to test
    # (tracemalloc, 10,000-node chain, build + backward: 496 -> 337 bytes per node).
    walk = object()
    root._seen_by = walk
    path: list[Any] = [root]  # the nodes being explored, each a parent of the one before it,
    unexplored = [iter(root._sources)]  # and the parents each has not looked at yet
    while path:
        for parent in unexplored[-1]:
            if parent._seen_by is walk:
                continue
            parent._seen_by = walk
            sources = parent._sources
            for source in sources:
                if source._seen_by is not walk:  # one still to explore: go down into it
                    path.append(parent)
                    unexplored.append(iter(sources))
                    break
            else:  # a leaf, or a node whose sources are all explored (a neuron's, mostly)
                if parent.__class__ is not Shared:
                    order.append(parent)
                    if not sources:
                        leaves.append(parent)
                continue
            break
        else:
            unexplored.pop()
            done = path.pop()  # all of its parents are in order now
            if done.__class__ is not Shared:
                order.append(done)
    return order, leaves


def topological_order(root: N) -> list[N]:
    """Every node reachable from root, leaves included, each after all of its parents.

    These are Values only: a node that stands for Values not made yet (hidden.py) is made into
    them first, so what reads the order sees every Value of the graph.
    """
    with exclusive("topological_order()"), paused_gc():
        order = walk(root)[0]
        packed: list[Any] = [node for node in order if node._packed]
        if not packed:
            return order
        for node in packed:
            node._unpack()
        return walk(root)[0]


def interior_nodes(root: N) -> list[N]:
    """The nodes computed on the way to root (leaves excluded), each after all of its parents."""
    return [node for node in topological_order(root) if node._sources]
