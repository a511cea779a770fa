"""gradengine: a scalar automatic-differentiation engine with a small neural-network library.

The learner's engine is gradengine.engine (Value, its operations, backward); gradengine.nn builds
networks of Values, as micrograd's nn.py.
"""

from gradengine import pickling as _pickling  # noqa: F401  (graphs of any depth pickle and copy)
from gradengine.anomaly import detect_anomaly
from gradengine.compile import Program, compile_graph
from gradengine.compile.batched import BatchedProgram, compile_batched
from gradengine.engine import Operation, Value
from gradengine.fast import total, weighted_sum
from gradengine.gradcheck import gradcheck
from gradengine.higher import grad, hessian, hvp, jvp, value_and_grad
from gradengine.nn import MLP, Layer, Module, Neuron
from gradengine.viz import draw_dot
from gradengine.viz import notebook as _notebook

_notebook.register()  # in Jupyter, a Value shows its graph and an MLP its layers

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
    "draw_dot",
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
