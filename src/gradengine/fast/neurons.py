"""A whole neuron, act(b + w·x), as one node of the graph, and a sum of many terms as one node.

micrograd builds a neuron of n inputs from n products, n additions and an activation: 2n + 1
nodes. Here it is one Value whose parents are (b, w1..wn, x1..xn) and whose local derivatives are
the chain rule through it, with s = act'(z): d/db = s, d/dwi = s xi, d/dxi = s wi. It is one more
row of derivatives, as in the engine's table; micrograd's moons demo builds and walks about 15x
fewer nodes, and each step runs about 10x faster (benchmarks/run.py). The numbers are micrograd's:
z is summed left to right, as its chain of additions, and each gradient is the same product.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from functools import partial, reduce
from operator import add, mul
from typing import Any

from gradengine.checks import as_list, as_value, describe
from gradengine.engine import RELU, Operation, Value, as_float, floats

#: b + w1*x1 + ... + wn*xn, left to right: micrograd's chain of additions, bit for bit. sum() adds
#: left to right up to Python 3.11 and twice as fast as reduce(); from 3.12 on it compensates.
sum_left_to_right: Callable[..., Any] = sum if sys.version_info < (3, 12) else partial(reduce, add)

#: The activations a neuron can have; "linear" is none (micrograd's nonlin=False).
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def _split(b: Any, *rest: Any) -> tuple[Any, Sequence[Any], Sequence[Any], Any]:
    """(b, [w1..wn], [x1..xn], y) from the inputs (b, w1..wn, x1..xn) and the value y"""
    n = len(rest) // 2
    return b, rest[:n], rest[n : 2 * n], rest[-1]


def _z(b: Any, w: Sequence[Any], x: Sequence[Any]) -> Any:
    """b + w1*x1 + ... + wn*xn"""
    return sum_left_to_right(map(mul, w, x), b)


def _value(act: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """value(m, b, w1..wn, x1..xn) = act(b + w·x)"""
    return lambda m, b, *wx: act(m, _z(b, wx[: len(wx) // 2], wx[len(wx) // 2 :]))


def _derivatives(slope: Callable[[Any, Any], Any]) -> Callable[..., tuple[Any, ...]]:
    """derivatives(m, b, w1..wn, x1..xn, y): s, s x1..s xn, s w1..s wn for s = slope(m, y)"""

    def derivatives(m: Any, *inputs: Any) -> tuple[Any, ...]:
        _, w, x, y = _split(*inputs)
        return _scaled(slope(m, y), w, x)

    return derivatives


def _scaled(s: Any, w: Sequence[Any], x: Sequence[Any]) -> tuple[Any, ...]:
    """(s, s x1..s xn, s w1..s wn): d/db, d/dwi, d/dxi of act(b + w·x), for act'(z) = s"""
    return (s, *[s * xi for xi in x], *[s * wi for wi in w])


# A neuron's operation for each activation: its inputs are (b, w1..wn, x1..xn), and its slope
# act'(z) is read from its value y (relu: 1 if y > 0, so nan passes as relu's own step).
WEIGHTED_SUM = Operation("weighted_sum", _value(lambda m, z: z), _derivatives(lambda m, y: 1.0))


def _relu_derivatives(m: Any, *inputs: Any) -> tuple[Any, ...]:
    """(1, x1..xn, w1..wn) while active; all 0 when not: an inactive ReLU passes nothing back"""
    _, w, x, y = _split(*inputs)
    inactive = m.real(y) <= 0  # a decision m records (a node, with Values), not an if
    return tuple([m.where(inactive, 0.0, d) for d in (1.0, *x, *w)])


RELU_WEIGHTED_SUM = Operation("relu(weighted_sum)", _value(RELU.value), _relu_derivatives)
TANH_WEIGHTED_SUM = Operation(
    "tanh(weighted_sum)", _value(lambda m, z: m.tanh(z)), _derivatives(lambda m, t: 1.0 - t * t)
)
SIGMOID_WEIGHTED_SUM = Operation(
    "sigmoid(weighted_sum)",
    _value(lambda m, z: m.sigmoid(z)),
    _derivatives(lambda m, s: s * (1.0 - s)),
)
#: The operation of a neuron node, for each activation.
NEURONS = {
    "relu": RELU_WEIGHTED_SUM,
    "tanh": TANH_WEIGHTED_SUM,
    "sigmoid": SIGMOID_WEIGHTED_SUM,
    "linear": WEIGHTED_SUM,
}


def layer(neurons: Sequence[Any], x: Sequence[Value]) -> list[Value]:
    """[act(b + w·x) for each neuron (its .b, .w and .kind)], reading the inputs' numbers once"""
    xd = [v.data for v in x]
    return [neuron(n.b, n.w, x, n.kind, xd) for n in neurons]


def neuron(
    b: Value, w: Sequence[Value], x: Sequence[Value], activation: str, xd: list[float] | None = None
) -> Value:
    """act(b + w·x) as one node; d/db = s, d/dwi = s xi, d/dxi = s wi with s = act'(z)

    xd, if given, holds the inputs' numbers (a layer reads them once for all its neurons).
    """
    wd = [p.data for p in w]
    xd = [v.data for v in x] if xd is None else xd
    z = sum_left_to_right(map(mul, wd, xd), b.data)
    if activation == "relu":
        out, s = (0.0, 0.0) if z <= 0 else (z, 1.0)
    elif activation == "tanh":
        out = math.tanh(z)
        s = 1.0 - out * out
    elif activation == "sigmoid":
        out = floats.sigmoid(z)
        s = out * (1.0 - out)
    else:
        out, s = z, 1.0
    if s == 1.0:  # the derivatives are the numbers themselves: no new float for each
        grads = (1.0, *xd, *wd)
    elif activation == "relu":  # an inactive ReLU passes nothing back (not even 0 * inf)
        grads = (0.0,) * (1 + 2 * len(xd))
    else:
        grads = _scaled(s, wd, xd)
    return Value.node(out, (b, *w, *x), grads, NEURONS[activation])


def weighted_sum(
    bias: Value, weights: Sequence[Value], inputs: Sequence[Value | float], *, relu: bool = False
) -> Value:
    """z = b + w1*x1 + ... + wn*xn as one node (relu=True: max(z, 0)); d/db = 1, d/dwi = xi"""
    ws = as_list(weights, "the weights as a list of Values")
    xs = [as_value(v) for v in as_list(inputs, "the inputs as a list of Values or numbers")]
    if not isinstance(relu, bool):
        raise TypeError(f"weighted_sum: relu must be True or False, got {type(relu).__name__}")
    params = [p for p in [bias, *ws] if isinstance(p, Value)]
    if len(params) != 1 + len(ws):
        wrong = next(p for p in [bias, *ws] if not isinstance(p, Value))
        raise TypeError(f"weighted_sum: the bias and weights must be Values, got {describe(wrong)}")
    if len(ws) != len(xs):
        raise ValueError(f"expected {len(ws)} inputs (one per weight), got {len(xs)}")
    return neuron(params[0], params[1:], xs, "relu" if relu else "linear")


TOTAL = Operation(
    "sum",
    lambda m, *xs: sum_left_to_right(xs[1:], xs[0]),
    lambda m, *xs_and_out: (1.0,) * (len(xs_and_out) - 1),
)


def total(values: Sequence[Value | float]) -> Value:
    """x1 + x2 + ... + xn as one node, summed left to right; d/dxi = 1"""
    xs = tuple(as_value(v) for v in as_list(values, "a list of Values or numbers to total"))
    if not xs:
        raise ValueError("total() needs at least one value, got an empty sequence")
    data = [as_float(v.data) for v in xs]
    return Value.node(sum_left_to_right(data[1:], data[0]), xs, (1.0,) * len(xs), TOTAL)
