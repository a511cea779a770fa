"""Replaying gradengine.losses.cross_entropy over the NumPy backend's arrays.

The loss node's operation (a ``losses.LossOperation`` of kind "cross_entropy") keeps its classes
as the fixed one-hot targets among its inputs, and the width of its rows. When every logit is a
parent (a Value) and every target a number, ``CrossEntropy`` takes its place in the recording:
its value and derivatives are those of losses.cross_entropy (the same float code, so the Python
backend replays it bit for bit), and the NumPy backend runs it as array operations on the
n x w matrix of logits. Any other cross_entropy node replays through its own operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradengine import losses
from gradengine.engine import Operation, Value


class CrossEntropy(Operation):
    """Softmax cross entropy, mean over ``len(classes)`` rows of ``width`` logits each."""

    __slots__ = ("classes", "width")

    def __init__(self, classes: Sequence[int], width: int) -> None:
        self.classes = list(classes)
        self.width = width
        super().__init__("cross_entropy", self._value, self._derivatives)

    def _rows(self, xs: Sequence[Any]) -> list[list[float]]:
        w = self.width
        return [[float(z) for z in xs[r * w : (r + 1) * w]] for r in range(len(self.classes))]

    def _value(self, m: Any, *xs: Any) -> float:
        """mean over rows of ln Σ_j e^z_j - z_c"""
        rows = self._rows(xs)
        terms = []
        for z, c in zip(rows, self.classes, strict=True):
            log_total, _ = losses.log_softmax_row(z)
            terms.append(log_total - z[c])
        return float(losses.mean(terms))

    def _derivatives(self, m: Any, *xs_and_value: Any) -> list[float]:
        """d/dz_j = (p_j - [j = c]) / n"""
        rows = self._rows(xs_and_value[:-1])
        n = len(rows)
        grads: list[float] = []
        for z, c in zip(rows, self.classes, strict=True):
            _, softmax = losses.log_softmax_row(z)
            grads += [(s - 1.0 if j == c else s) / n for j, s in enumerate(softmax)]
        return grads


def replay_operation(node: Value, op: losses.LossOperation) -> Operation:
    """CrossEntropy for a node whose logits are all Values and targets all numbers, else op."""
    half = op.size // 2
    fixed = dict(op.numbers)
    if len(node._parents) != half or any(i not in fixed for i in range(half, op.size)):
        return op
    targets = [fixed[i] for i in range(half, op.size)]
    w = op.width
    classes = [targets[r : r + w].index(1.0) for r in range(0, half, w)]
    return CrossEntropy(classes, w)
