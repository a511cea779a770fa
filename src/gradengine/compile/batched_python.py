"""Batched replay in pure Python: one sample's graph over N samples. Needs no NumPy.

Two ways to run it, with the same numbers bit for bit (zeros up to their sign):

- generated code (batched_loop.py), used when the graph's code fits ``MAX_LINES``: one Python
  function, a loop over the samples whose body is straight-line code over local names;
- the walk (``PythonBatched.walk``), for larger graphs: node by node in topological order, a row
  node's value a list of N floats computed by its operation's own definition on floats
  (``operation.value(floats, ...)``, as eager mode), with a scalar parent (a parameter, a node
  of parameters only) repeated for every sample. A node of parameters only is computed once.
  Backward walks the nodes in reverse: each sample's gradient times the local derivatives goes
  back to the parents, summed over the samples (in order) for a scalar parent.

The values are eager mode's bit for bit; gradients agree to rounding (eager mode divides by N
inside the loss, this replay seeds each sample with 1/N).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import reduce
from itertools import repeat
from operator import add, mul
from typing import Any

from gradengine.compile import NODE, PARAMETER, Recording
from gradengine.compile.batched_loop import LoopWriter, TooLarge, compile_loop
from gradengine.compile.sample_graph import BatchResult, SampleGraph, rows_of
from gradengine.engine import floats
from gradengine.fast import sum_left_to_right

# b + w1*x1 + ... left to right, as a neuron node sums (value.py): sum() up to Python 3.11,
# whose sum() from 3.12 on compensates rounding.


def _relu(z: float) -> float:
    return 0.0 if z <= 0 else z


def _relu_slope(out: float) -> float:
    return 0.0 if out <= 0 else 1.0  # relu's output: 0 exactly where z <= 0


def _tanh_slope(t: float) -> float:
    return 1.0 - t * t


def _sigmoid_slope(s: float) -> float:
    return s * (1.0 - s)


def _one(out: float) -> float:
    return 1.0


#: A neuron's activation by its operation's name: (out from z, d out / dz from out).
ACTIVATION: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "relu(weighted_sum)": (_relu, _relu_slope),
    "tanh(weighted_sum)": (floats.tanh, _tanh_slope),
    "sigmoid(weighted_sum)": (floats.sigmoid, _sigmoid_slope),
    "weighted_sum": (float, _one),
}


def _columns(ids: Sequence[int], values: list[Any], row: list[bool], n: int) -> list[Any]:
    """Each node's row; a scalar repeated n times."""
    return [values[p] if row[p] else [values[p]] * n for p in ids]


def _neuron_values(
    activation: Any, ps: Sequence[int], values: list[Any], row: list[bool], n: int
) -> list[float]:
    """act(b + w1*x1 + ... + wn*xn) for every sample, summed left to right as eager mode."""
    k = len(ps) // 2
    b, ws = values[ps[0]], [values[p] for p in ps[1 : k + 1]]
    act = activation[0]
    samples = zip(*_columns(ps[k + 1 :], values, row, n), strict=True)
    return [act(sum_left_to_right(map(mul, ws, xs), b)) for xs in samples]


def _neuron_grads(
    dz: list[float],
    ps: Sequence[int],
    wanted: list[bool],
    values: list[Any],
    grads: list[Any],
    row: list[bool],
    n: int,
) -> None:
    """d/db = dz, d/dw_j = dz x_j (summed over the samples), d/dx_j = dz w_j."""
    k = len(ps) // 2
    xs = _columns(ps[k + 1 :], values, row, n)
    if wanted[0]:
        grads[ps[0]] += sum_left_to_right(dz, 0.0)
    for j in range(k):
        w, x = ps[1 + j], ps[k + 1 + j]
        if wanted[1 + j]:
            grads[w] += sum_left_to_right(map(mul, dz, xs[j]), 0.0)
        if wanted[k + 1 + j]:
            wj = values[w]
            if row[x]:
                grads[x] = [a + d * wj for a, d in zip(grads[x], dz, strict=True)]
            else:
                grads[x] += wj * sum_left_to_right(dz, 0.0)


#: Lines of generated code above which a graph is replayed node by node: CPython compiles one
#: function in time and memory that grow with its length (MLP(2, [128, 128, 1]): 86,000 lines,
#: 0.6 s and 300 MB; [256, 256, 1]: 336,000 lines, 3 s and 1.1 GB).
MAX_LINES = 120_000


class PythonBatched:
    """The pure-Python engine of compile_batched (see the module doc)."""

    def __init__(
        self, graph: SampleGraph, straight_line: bool = True, max_lines: int = MAX_LINES
    ) -> None:
        rec: Recording = graph.rec
        self.graph = graph
        self.rec = rec
        self.nodes = [i for i, kind in enumerate(rec.kinds) if kind == NODE and i != graph.root]
        self.wanted = [i for i in self.nodes if rec.needs_grad[i] and rec.kinds[i] != PARAMETER]
        # Neurons of the parameters (bias and weights one number each) over rows of inputs:
        # computed as eager mode's neurons are, without a tuple of derivatives per sample.
        row = graph.row
        self.neurons = {
            i: ACTIVATION[rec.operations[i].name]
            for i in self.nodes
            if row[i]
            and rec.operations[i].name in ACTIVATION
            and not any(row[p] for p in rec.parents[i][: len(rec.parents[i]) // 2 + 1])
        }
        self.loop: LoopWriter | None = None  # the generated code, if it runs
        self.why_not = "" if straight_line else "asked for"  # why it does not
        self._replay: Any = None
        if straight_line and graph.penalty >= 0 and row[graph.penalty]:
            self.why_not = "the penalty depends on the sample"
        elif straight_line:
            try:
                self._replay, self.loop = compile_loop(graph, self.neurons, max_lines)
            except TooLarge as error:
                self.why_not = f"its straight-line code would have {error}"

    @property
    def source(self) -> str:
        """The generated Python that runs ("" when the replay walks the nodes)."""
        return "" if self.loop is None else self.loop.text

    def new_parameters(self) -> Any:
        return [0.0] * len(self.graph.parameter_nodes)

    def set_parameters(self, params: Any, data: list[float]) -> None:
        params[:] = data

    def batch(self, batch: object, width: int) -> Any:
        return rows_of(batch, width)

    def run(
        self, params: Any, data: Any, gradients: bool, reduction: str
    ) -> tuple[BatchResult, Any]:
        if self._replay is None:
            return self.walk(params, data, gradients, reduction)
        n = len(data)
        seed = 1.0 / n if reduction == "mean" else 1.0
        losses, outputs, penalty, grads = self._replay(params, data, gradients, seed)
        total = reduce(add, losses)
        loss = total / n if reduction == "mean" else total
        if penalty is not None:
            loss = loss + penalty
        return BatchResult(loss, losses, outputs), grads

    def walk(
        self, params: Any, data: Any, gradients: bool, reduction: str
    ) -> tuple[BatchResult, Any]:
        """The replay node by node, each row node a list of N floats."""
        rec, graph, row = self.rec, self.graph, self.graph.row
        n = len(data)
        values: list[Any] = [None] * len(rec)
        for i, (kind, slot) in enumerate(zip(rec.kinds, rec.slots, strict=True)):
            if kind == PARAMETER:
                values[i] = params[slot]
            elif kind != NODE:
                values[i] = [r[slot] for r in data] if row[i] else rec.constants[slot]
        parents, operations = rec.parents, rec.operations
        neurons = self.neurons
        for i in self.nodes:
            op = operations[i]
            if i in neurons:
                values[i] = _neuron_values(neurons[i], parents[i], values, row, n)
                continue
            inputs = [values[p] if row[p] else repeat(values[p]) for p in parents[i]]
            if row[i]:
                values[i] = [op.value(floats, *xs) for xs in zip(*inputs)]
            else:
                values[i] = op.value(floats, *[values[p] for p in parents[i]])
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
                local = tuple(op.derivatives(floats, *[values[p] for p in ps], values[i]))
                for p, d, w in zip(ps, local, wanted, strict=True):
                    if w:
                        grads[p] = g * d if grads[p] is None else grads[p] + g * d
                continue
            for p, w in zip(ps, wanted, strict=True):
                if w and grads[p] is None:
                    grads[p] = [0.0] * n if row[p] else 0.0
            if i in self.neurons:
                slope = self.neurons[i][1]
                dz = [gs * slope(o) for gs, o in zip(g, values[i], strict=True)]
                _neuron_grads(dz, ps, wanted, values, grads, row, n)
                continue
            inputs = [values[p] if row[p] else repeat(values[p]) for p in ps]
            for s, (xs, out, gs) in enumerate(zip(zip(*inputs), values[i], g, strict=False)):
                local = tuple(op.derivatives(floats, *xs, out))
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
        loop = self.loop
        if loop is None:
            how = [f"node by node, each row a list of N floats ({self.why_not})"]
            per_row = "a list of N numbers each"
        else:
            forward, backward = loop.lines_per_sample()
            how = [
                "one generated Python function: a loop over the samples, each sample's "
                f"{forward} lines of nodes (then {backward} of gradients, for a step) "
                "straight-line code over local names; each parameter's gradient summed over "
                f"the samples in a local name; {len(loop.before)} lines of the parameters only, "
                "once, before the loop"
            ]
            per_row = "one number per sample, in the loop"
        return how + [
            f"{name} x{count}: {per_row if is_row else 'parameters only, once'}"
            for (name, is_row), count in sorted(counts.items(), key=lambda item: -item[1])
        ]
