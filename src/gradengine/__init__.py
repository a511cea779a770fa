"""gradengine: a scalar automatic-differentiation engine with a small neural-network library."""

from gradengine import nodes as _nodes  # noqa: F401  (gives Value the node classes it makes)
from gradengine.anomaly import detect_anomaly
from gradengine.compile import Program, compile_graph
from gradengine.compile.batched import BatchedProgram, compile_batched
from gradengine.gradcheck import gradcheck
from gradengine.higher import grad, hessian, hvp, jvp, value_and_grad
from gradengine.nn import MLP, Layer, Module, Neuron
from gradengine.value import Operation, Value, total, weighted_sum
from gradengine.viz import notebook as _notebook  # noqa: F401  (Value's and MLP's displays)

__all__ = [
    "MLP",
    "BatchedProgram",
    "Layer",
    "Module",
    "Neuron",
    "Operation",
    "Program",
    "Value",
    "compile_batched",
    "compile_graph",
    "detect_anomaly",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "jvp",
    "total",
    "value_and_grad",
    "weighted_sum",
]
__version__ = "0.1.0"
