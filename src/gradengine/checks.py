"""The checks every public function makes of its arguments, and how error messages name values."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

from gradengine.engine import Value, as_float

__all__ = ["as_float", "as_list", "as_value", "check_size", "describe", "type_name"]


def as_value(x: object) -> Value:
    """x if it is a Value, else a constant: a leaf holding x"""
    return x if isinstance(x, Value) else Value(x)


def type_name(x: object) -> str:
    """What an error message calls x's type: "Value" for any node of a graph."""
    return "Value" if isinstance(x, Value) else type(x).__name__


def describe(x: object) -> str:
    """x's type and the start of its repr, for an error message."""
    return f"{type_name(x)} {x!r:.60}"


def as_list(x: object, expected: str) -> list[object]:
    """x as a list, for an ordered collection (list, tuple, numpy array, ...); else TypeError."""
    if type(x) is list:
        return x
    if isinstance(x, (str, bytes, Mapping, AbstractSet)) or not isinstance(x, Iterable):
        raise TypeError(f"expected {expected}, got {describe(x)}")
    return list(x)


def check_size(n: object, what: str, minimum: int = 1) -> int:
    """n as an int >= minimum (numpy integers too); TypeError or ValueError naming `what`."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an integer >= {minimum}, got {describe(n)}")
    if n < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {n}")
    return int(n)
