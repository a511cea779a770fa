"""What exists only for speed in eager mode: a whole neuron as one node, a sum as one node.

The engine (gradengine.engine) is complete without this package; nn.py calls ``neuron`` once per
neuron so that a network's graph has one node per neuron instead of micrograd's 2n + 1.
"""

from gradengine.fast.gc import paused_gc
from gradengine.fast.neurons import (
    ACTIVATIONS,
    NEURONS,
    RELU_WEIGHTED_SUM,
    SIGMOID_WEIGHTED_SUM,
    TANH_WEIGHTED_SUM,
    TOTAL,
    WEIGHTED_SUM,
    layer,
    neuron,
    sum_left_to_right,
    total,
    weighted_sum,
)

__all__ = [
    "ACTIVATIONS",
    "NEURONS",
    "RELU_WEIGHTED_SUM",
    "SIGMOID_WEIGHTED_SUM",
    "TANH_WEIGHTED_SUM",
    "TOTAL",
    "WEIGHTED_SUM",
    "layer",
    "neuron",
    "paused_gc",
    "sum_left_to_right",
    "total",
    "weighted_sum",
]
