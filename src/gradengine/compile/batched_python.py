"""Batched replay in pure Python: one sample's graph over N samples, each row a list of floats.

Node by node in topological order, a row node's value is a list of N floats, computed by its
operation's own definition on floats (``operation.evaluate(ieee, ...)``, as eager mode), with
a scalar parent (a parameter, a node of parameters only) repeated for every sample. A node of
parameters only is computed once. Backward walks the nodes in reverse: each sample's gradient
times the local derivatives goes back to the parents, summed over the samples (in order) for a
scalar parent. The values are eager mode's bit for bit; gradients agree to rounding (eager mode
divides by N inside the loss, this replay seeds each sample with 1/N). Needs no NumPy.
"""

from __future__ import annotations

from collections import Counter
from functools import reduce
from itertools import repeat
from operator import add
from typing import Any

from gradengine import ieee
from gradengine.compile import NODE, PARAMETER, Recording
from gradengine.compile.batched import BatchResult, SampleGraph, _rows_of


class PythonBatched:
    """The pure-Python engine of compile_batched (see the module doc)."""

    def __init__(self, graph: SampleGraph) -> None:
        rec: Recording = graph.rec
        self.graph = graph
        self.rec = rec
        self.nodes = [i for i, kind in enumerate(rec.kinds) if kind == NODE and i != graph.root]
        self.wanted = [i for i in self.nodes if rec.needs_grad[i] and rec.kinds[i] != PARAMETER]

    def new_parameters(self) -> Any:
        return [0.0] * len(self.graph.parameter_nodes)

    def set_parameters(self, params: Any, data: list[float]) -> None:
        params[:] = data

    def batch(self, batch: object, width: int) -> Any:
        return _rows_of(batch, width)

    def run(
        self, params: Any, data: Any, gradients: bool, reduction: str
    ) -> tuple[BatchResult, Any]:
        rec, graph, row = self.rec, self.graph, self.graph.row
        n = len(data)
        values: list[Any] = [None] * len(rec)
        for i, (kind, slot) in enumerate(zip(rec.kinds, rec.slots, strict=True)):
            if kind == PARAMETER:
                values[i] = params[slot]
            elif kind != NODE:
                values[i] = [r[slot] for r in data] if row[i] else rec.constants[slot]
        parents, operations = rec.parents, rec.operations
        for i in self.nodes:
            op = operations[i]
            inputs = [values[p] if row[p] else repeat(values[p]) for p in parents[i]]
            if row[i]:
                values[i] = [op.evaluate(ieee, xs) for xs in zip(*inputs)]
            else:
                values[i] = op.evaluate(ieee, [values[p] for p in parents[i]])
        losses = values[graph.loss]
        total = reduce(add, losses)
        loss = total / n if reduction == "mean" else total
        if graph.penalty >= 0:
            loss = loss + values[graph.penalty]
        outputs = [list(values[i]) if row[i] else [values[i]] * n for i in graph.outputs]
        result = BatchResult(loss, list(losses), outputs)
        if not gradients:
            return result, None
        return result, self._backward(values, n, reduction)

    def _backward(self, values: list[Any], n: int, reduction: str) -> list[float]:
        rec, graph, row = self.rec, self.graph, self.graph.row
        grads: list[Any] = [None] * len(rec)
        seed = 1.0 / n if reduction == "mean" else 1.0
        grads[graph.loss] = [seed] * n
        if graph.penalty >= 0:
            grads[graph.penalty] = 1.0
        needs = rec.needs_grad
        parents, operations = rec.parents, rec.operations
        for i in reversed(self.wanted):
            g = grads[i]
            if g is None:
                continue
            op, ps = operations[i], parents[i]
            wanted = [needs[p] for p in ps]
            if not row[i]:
                local = op.local_grads(ieee, [values[p] for p in ps], values[i])
                for p, d, w in zip(ps, local, wanted, strict=True):
                    if w:
                        grads[p] = g * d if grads[p] is None else grads[p] + g * d
                continue
            for p, w in zip(ps, wanted, strict=True):
                if w and grads[p] is None:
                    grads[p] = [0.0] * n if row[p] else 0.0
            inputs = [values[p] if row[p] else repeat(values[p]) for p in ps]
            for s, (xs, out, gs) in enumerate(zip(zip(*inputs), values[i], g, strict=False)):
                local = op.local_grads(ieee, xs, out)
                for p, d, w in zip(ps, local, wanted, strict=True):
                    if not w:
                        continue
                    if row[p]:
                        grads[p][s] += gs * d
                    else:
                        grads[p] += gs * d
        out = [0.0] * len(graph.parameter_nodes)
        for slot, i in enumerate(graph.parameter_nodes):
            if i >= 0 and grads[i] is not None:
                out[slot] = grads[i]
        return out

    def describe(self) -> list[str]:
        rec, row = self.rec, self.graph.row
        counts = Counter((rec.operations[i].name, row[i]) for i in self.nodes)
        return [
            f"{name} x{count}: {'a list of N numbers each' if is_row else 'parameters only, once'}"
            for (name, is_row), count in sorted(counts.items(), key=lambda item: -item[1])
        ]
