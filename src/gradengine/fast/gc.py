"""Running a block without Python's cyclic garbage collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run a block with the cyclic collector off, then restore it as it was.

    Values make no reference cycles, so the collector finds nothing in a graph; a pass that makes
    a million small objects would otherwise set off full collections over every live node.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
