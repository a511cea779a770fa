"""Pickling and deep-copying a graph of any depth: the root lists its graph's nodes first.

pickle and copy.deepcopy save an object's parents from inside the object's own state, one level
of recursion per level of the graph, so a graph deeper than Python's recursion limit (about
1,000: micrograd's demo sums 337 squares into its loss) raised RecursionError. So the root's
pickle begins with every other node of its graph in the walk's order, each after its parents:
each of them is saved in full and finds its parents saved already (pickle refers back to them),
so no save goes more than a node deep. Unpickling runs a flat list of instructions: it never
recursed. Each node is still one object, saved once, so a graph shared with other objects
pickled beside it comes back shared.
"""

from __future__ import annotations

import copy
import copyreg
import threading
import weakref
from typing import Any, SupportsIndex

from gradengine.walk import exclusive, walk

#: In each thread, a weak reference to the _EndOfList of the root being saved, which holds the
#: nodes that root listed: each is saved in full, not as a root.
_listed = threading.local()
#: What pickle's own reduction of an object of a class with slots makes it with: cls.__new__(cls).
_NEW_OBJECT: Any = copyreg.__newobj__  # type: ignore[attr-defined]


def reduce(node: Any, protocol: SupportsIndex) -> str | tuple[Any, ...]:
    """node.__reduce_ex__(protocol): pickle's own, with the graph's other nodes listed first."""
    saved = object.__reduce_ex__(node, protocol)
    end = getattr(_listed, "end", _gone)()
    if end is not None and end.nodes.pop(id(node), None) is node:
        return saved
    if isinstance(saved, str) or saved[0] is not _NEW_OBJECT or not node._sources:
        return saved  # a leaf, or a class that pickles itself its own way
    with exclusive("pickling a graph"):
        others = walk(node)[0][:-1]  # each after its parents; node itself is last
    end = _EndOfList({id(other): other for other in others})
    _listed.end = weakref.ref(end)
    return (_made_after, (saved[1][0], tuple(others), end), *saved[2:])


class _EndOfList:
    """Saved after a root's list of nodes, which it holds until then. The save holds it: one that
    fails halfway lets it go, and the list with it, so no later save finds a stale list."""

    __slots__ = ("nodes", "__weakref__")

    def __init__(self, nodes: dict[int, Any]) -> None:
        self.nodes = nodes

    def __reduce__(self) -> tuple[Any, ...]:
        self.nodes = {}  # the list is saved: nodes saved after it are saved as roots again
        return (_nothing, ())


def _gone() -> None:
    """A weak reference whose object is gone: what _listed.end is before the first save."""


def _nothing() -> None:
    """What an _EndOfList comes back as."""


def _made_after(cls: Any, others: tuple[Any, ...], end: None) -> Any:
    """A new, empty cls; others, the nodes it was computed from, are made already."""
    return cls.__new__(cls)


def shallow_copy(node: Any) -> Any:
    """copy.copy(node): a new node with the same fields, that is, the same parents."""
    # Not through reduce(): copy.copy would never save the list's _EndOfList, which clears it.
    return copy._reconstruct(node, None, *object.__reduce_ex__(node, 4))  # type: ignore[attr-defined]
