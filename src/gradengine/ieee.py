"""Float functions that follow IEEE-754 as PyTorch does: they return inf or nan, never raise.

Python's own operators raise where IEEE-754 gives an answer (``1 / 0``, ``math.log(0)``,
``math.exp(1000)``) and ``**`` even returns a complex number for ``(-8) ** (1 / 3)``.
"""

import math

inf = math.inf
nan = math.nan


def divide(x: float, y: float) -> float:
    """x / y, with x / ±0 = ±inf (or nan for 0 / 0)."""
    try:
        return x / y
    except ZeroDivisionError:
        if x == 0 or x != x:
            return nan
        return math.copysign(inf, x) * math.copysign(1.0, y)


def _is_odd_integer(y: float) -> bool:
    """True for ..., -3, -1, 1, 3, ..."""
    return math.isfinite(y) and y.is_integer() and y % 2 == 1


def power(x: float, y: float) -> float:
    """x ** y as C's pow: overflow gives ±inf, 0 ** negative gives inf, negative ** fraction nan."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return -inf if x < 0 and _is_odd_integer(y) else inf
    except ValueError:
        if x == 0:
            return math.copysign(inf, x) if _is_odd_integer(y) else inf
        return nan


def exp(x: float) -> float:
    """e ** x, inf on overflow."""
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def log(x: float) -> float:
    """ln x: -inf at 0, nan below 0."""
    try:
        return math.log(x)
    except ValueError:
        return -inf if x == 0 else nan


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def tanh(x: float) -> float:
    """tanh x (never overflows)."""
    return math.tanh(x)


def step(x: float) -> float:
    """0 for x <= 0, else 1 (so 1 for nan): the derivative of relu."""
    return 0.0 if x <= 0 else 1.0


def where(condition: bool, a: float, b: float) -> float:
    """a if condition else b."""
    return a if condition else b


#: The number a float holds: x itself (a Value's is its data). float, not a function of our own:
#: a call of a builtin is half the cost, and relu neurons ask once each (moons step: 0.1 ms).
real = float


def sqrt(x: float) -> float:
    """√x: nan below 0 (-inf included), and -0.0 at -0.0, as C's sqrt."""
    try:
        return math.sqrt(x)
    except ValueError:
        return nan
