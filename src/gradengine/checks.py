"""The checks every public function makes of its arguments, and how error messages name values."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet


def as_float(x: object, what: str = "a number") -> float:
    """float(x) for a real number (int, float, bool, numpy scalar); TypeError for anything else."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        try:
            return float(x)
        except OverflowError:  # an int beyond the float range rounds to ±inf, as in IEEE-754
            return -math.inf if x < 0 else math.inf
    raise TypeError(
        f"{what} must be a real number (int, float, bool or numpy scalar), got {describe(x)}"
    )


def type_name(x: object) -> str:
    """What an error message calls x's type: "Value" for any node of a graph."""
    # Every node of a graph is an instance of a subclass of Value; checks.py cannot import Value
    # (value.py imports checks.py), so it recognises the class by its name and module.
    for cls in type(x).__mro__:
        if cls.__name__ == "Value" and cls.__module__ == "gradengine.value":
            return "Value"
    return type(x).__name__


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
