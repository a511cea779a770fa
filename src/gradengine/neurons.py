"""Whole neurons as one node each: act(b + w·x) for act = relu, tanh, sigmoid or none (linear).

value.py defines weighted_sum and relu(weighted_sum); this module adds tanh(weighted_sum) and
sigmoid(weighted_sum) the same way (an Operation with its value and local derivatives), and
``neuron_output``, which nn.Neuron and nn.Layer call to build the node for any activation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul
from typing import Any

from gradengine import ieee
from gradengine.value import (
    RELU_WEIGHTED_SUM,
    SIGMOID,
    TANH,
    WEIGHTED_SUM,
    Value,
    _parameter_data,
    _sum_left_to_right,
    _weighted_sum,
    _weighted_sum_value,
    _WeightedSum,
)
from gradengine.walk import Shared

#: The activations a Neuron can have; "linear" is none (micrograd's nonlin=False).
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def _tanh_weighted_sum_derivatives(
    m: Any, b: Any, w: Sequence[Any], x: Sequence[Any], t: Any
) -> tuple[Any, ...]:
    """those of weighted_sum, times d tanh(z)/dz = 1 - t^2"""
    s = 1.0 - t * t
    return (s, *(s * xi for xi in x), *(s * wi for wi in w))


def _sigmoid_weighted_sum_derivatives(
    m: Any, b: Any, w: Sequence[Any], x: Sequence[Any], s: Any
) -> tuple[Any, ...]:
    """those of weighted_sum, times d σ(z)/dz = s (1 - s)"""
    d = s * (1.0 - s)
    return (d, *(d * xi for xi in x), *(d * wi for wi in w))


TANH_WEIGHTED_SUM = _WeightedSum(
    "tanh(weighted_sum)",
    lambda m, b, w, x: TANH.value(m, _weighted_sum_value(m, b, w, x)),
    _tanh_weighted_sum_derivatives,
)
SIGMOID_WEIGHTED_SUM = _WeightedSum(
    "sigmoid(weighted_sum)",
    lambda m, b, w, x: SIGMOID.value(m, _weighted_sum_value(m, b, w, x)),
    _sigmoid_weighted_sum_derivatives,
)


#: The operation of a neuron node of each activation (hidden.py's Hidden nodes use them too).
OPERATIONS = {
    "relu": RELU_WEIGHTED_SUM,
    "linear": WEIGHTED_SUM,
    "tanh": TANH_WEIGHTED_SUM,
    "sigmoid": SIGMOID_WEIGHTED_SUM,
}


def check_activation(activation: object) -> str:
    """activation itself if it names one of ACTIVATIONS; ValueError (or TypeError) if not."""
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
            f"got {type(activation).__name__}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}"
        )
    return activation


def neuron_output(params: Shared, inputs: Shared, x: list[float], activation: str) -> Value:
    """act(b + w·x) as one node of params (b, w1..wn) and inputs, given the inputs' data."""
    if activation == "relu":
        return _weighted_sum(params, inputs, x, True)
    if activation == "linear":
        return _weighted_sum(params, inputs, x, False)
    b, w = _parameter_data(params)
    z = _sum_left_to_right(map(mul, w, x), b)
    out = math.tanh(z) if activation == "tanh" else ieee.sigmoid(z)
    return Value._neuron(out, params, inputs, b, w, x, OPERATIONS[activation])
