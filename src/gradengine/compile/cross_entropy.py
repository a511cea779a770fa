"""Replaying gradengine.losses.cross_entropy, whose node computes with floats only.

The node keeps its parents (the logits that are Values, row after row) and the local derivatives
``(p_j - [j = c]) / n`` of the pass that built it, but not the classes or the number of rows. They
can be read back from those numbers: in each row exactly the class has a negative derivative
(or, if its probability rounds to 1, every derivative is 0 and the class is the largest logit).
A layout of n rows of width w, with those classes, is accepted only if recomputing the loss and
its derivatives from the logits' data with it gives every recorded number bit for bit, and only
if exactly one width does; otherwise the node is refused, naming why.

``CrossEntropy`` is the replayable operation that takes the node's place in the recording: its
value and derivatives are those of losses.cross_entropy (the same float code, so the Python
backend replays it bit for bit), and the NumPy backend runs it as array operations on the
n x w matrix of logits.
"""

from __future__ import annotations

import math
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
            log_total, _ = losses._log_softmax_row(z)
            terms.append(log_total - z[c])
        return losses._mean(terms)

    def _derivatives(self, m: Any, *xs_and_value: Any) -> list[float]:
        """d/dz_j = (p_j - [j = c]) / n"""
        rows = self._rows(xs_and_value[:-1])
        n = len(rows)
        grads: list[float] = []
        for z, c in zip(rows, self.classes, strict=True):
            _, softmax = losses._log_softmax_row(z)
            grads += [(s - 1.0 if j == c else s) / n for j, s in enumerate(softmax)]
        return grads


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _classes(logits: list[float], grads: Sequence[float], width: int) -> list[int] | None:
    """The class of each row of this width, as its derivatives tell it; None if they cannot."""
    classes = []
    for start in range(0, len(logits), width):
        row = grads[start : start + width]
        negative = [j for j, g in enumerate(row) if g < 0]
        if len(negative) == 1:
            classes.append(negative[0])
        elif not negative and all(g == 0 for g in row):  # p_c = 1: c is the largest logit
            z = logits[start : start + width]
            classes.append(z.index(max(z)))
        else:
            return None
    return classes


def replay_operation(node: Value) -> CrossEntropy:
    """The operation that recomputes this cross_entropy node; TypeError if it cannot be found."""
    parents = node._parents
    logits = [p.data for p in parents]
    grads = node._local_grads
    found: list[CrossEntropy] = []
    for width in range(1, len(logits) + 1):
        if len(logits) % width:
            continue
        classes = _classes(logits, grads, width)
        if classes is None:
            continue
        op = CrossEntropy(classes, width)
        value = op.value(None, *logits)
        again = op.derivatives(None, *logits, value)
        if _same(value, node.data) and all(map(_same, again, grads)):
            found.append(op)
    if len(found) != 1:
        why = (
            "no layout of rows reproduces it"
            if not found
            else f"{len(found)} layouts of rows reproduce it"
        )
        raise TypeError(
            f"cannot compile the 'cross_entropy' node (loss {node.data!r}, {len(parents)} "
            f"logits): the node does not keep its classes, and reading them back from its "
            f"derivatives failed: {why}. Every logit must be a Value (no plain numbers), and "
            "the recorded logits finite; or write the loss with Value operations (exp, log, "
            "total)"
        )
    return found[0]
