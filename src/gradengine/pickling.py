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
from typing import Any, SupportsIndex

from gradengine.walk import exclusive, walk

#: In each thread, the nodes the root being saved listed, by id: each is saved in full, not as
#: a root. The root's _EndOfList clears them once they are saved.
_listed = threading.local()
#: What pickle's own reduction of an object of a class with slots makes it with: cls.__new__(cls).
_NEW_OBJECT: Any = copyreg.__newobj__  # type: ignore[attr-defined]


def reduce(node: Any, protocol: SupportsIndex) -> str | tuple[Any, ...]:
    """node.__reduce_ex__(protocol): pickle's own, with the graph's other nodes listed first."""
    saved = object.__reduce_ex__(node, protocol)
    listed: dict[int, Any] = getattr(_listed, "nodes", {})
    if listed.pop(id(node), None) is node:
        return saved
    if isinstance(saved, str) or saved[0] is not _NEW_OBJECT or not node._sources:
        return saved  # a leaf, or a class that pickles itself its own way
    with exclusive("pickling a graph"):
        others = walk(node)[0][:-1]  # each after its parents; node itself is last
    _listed.nodes = {id(other): other for other in others}
    return (_made_after, (saved[1][0], tuple(others), _EndOfList()), *saved[2:])


class _EndOfList:
    """Saved after a root's list of nodes, which it clears. A save that fails halfway leaves the
    list until the next root's replaces it; a node still on it is saved in full, as if listed."""

    def __reduce__(self) -> tuple[Any, ...]:
        _listed.nodes = {}
        return (_nothing, ())


def _nothing() -> None:
    """What an _EndOfList comes back as."""


def _made_after(cls: Any, others: tuple[Any, ...], end: None) -> Any:
    """A new, empty cls; others, the nodes it was computed from, are made already."""
    return cls.__new__(cls)


def shallow_copy(node: Any) -> Any:
    """copy.copy(node): a new node with the same fields, that is, the same parents."""
    # Not through reduce(): copy.copy would never save the list's _EndOfList, which clears it.
    return copy._reconstruct(node, None, *object.__reduce_ex__(node, 4))  # type: ignore[attr-defined]
