"""gradengine: a scalar automatic-differentiation engine with a small neural-network library."""

from gradengine.anomaly import detect_anomaly
from gradengine.gradcheck import gradcheck
from gradengine.nn import MLP, Layer, Module, Neuron
from gradengine.value import Value, total, weighted_sum

__all__ = [
    "MLP",
    "Layer",
    "Module",
    "Neuron",
    "Value",
    "detect_anomaly",
    "gradcheck",
    "total",
    "weighted_sum",
]
__version__ = "0.1.0"
