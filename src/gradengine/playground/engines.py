"""How a playground run computes: one step's loss and gradients, and the scores it draws.

Two small interfaces, so that another way of running them can replace these:

- a stepper's ``loss(X, labels)`` returns the loss of one batch and adds its gradients to the
  model's ``.grad`` (eager: the graph built anew; compiled: one recording replayed);
- a ``Scores`` program gives, for fixed points, the output and (optionally) every neuron's
  output at the model's current weights: the heatmaps and the accuracies.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Protocol

from gradengine import losses
from gradengine.compile import Program, compile_graph
from gradengine.engine import Value
from gradengine.fast import total
from gradengine.nn import MLP

Points = Sequence[Sequence[float]]


def targets(labels: Sequence[int], loss: str) -> list[float]:
    """What the loss compares a score with: ±1 (hinge, mse), 0 or 1 (bce)."""
    return [float(c) if loss == "bce" else 2.0 * c - 1.0 for c in labels]


def data_loss(scores: Sequence[Value], wanted: Sequence[float | Value], loss: str) -> Value:
    """mean max(0, 1 - y s) (hinge), mean (s - y)² (mse) or the logistic loss (bce)."""
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits(scores, wanted)
    if loss == "hinge":
        terms = [(1 + -y * s).relu() for s, y in zip(scores, wanted, strict=True)]
    else:
        terms = [(s - y) ** 2 for s, y in zip(scores, wanted, strict=True)]
    return total(terms) * (1.0 / len(terms))


def objective(
    mlp: MLP,
    X: Sequence[Sequence[float | Value]],
    wanted: Sequence[float | Value],
    loss: str,
    l2: float,
) -> Value:
    """data_loss of the MLP's scores on X, plus l2 Σ p² when l2 > 0."""
    scores = [mlp.forward(x)[0] for x in X]
    result = data_loss(scores, wanted, loss)
    if l2 > 0:
        result = result + losses.l2(mlp.parameters(), alpha=l2)
    return result


class Stepper(Protocol):
    """Computes one batch's loss and adds its gradients to the model's parameters."""

    def loss(self, X: Points, labels: Sequence[int]) -> float: ...


class Eager:
    """Builds the batch's graph of Values and calls backward()."""

    def __init__(self, mlp: MLP, loss: str, l2: float) -> None:
        self.mlp, self.loss_name, self.l2 = mlp, loss, l2

    def loss(self, X: Points, labels: Sequence[int]) -> float:
        result = objective(self.mlp, X, targets(labels, self.loss_name), self.loss_name, self.l2)
        result.backward()
        return result.data


class Compiled:
    """Records one batch's loss once (points and labels as inputs) and replays it."""

    def __init__(self, mlp: MLP, loss: str, l2: float) -> None:
        self.mlp, self.loss_name, self.l2 = mlp, loss, l2
        self.program: Program | None = None
        self.size = 0

    def _record(self, size: int) -> Program:
        xs = [[Value(0.0), Value(0.0)] for _ in range(size)]
        wanted = [Value(0.0) for _ in range(size)]
        result = objective(self.mlp, xs, wanted, self.loss_name, self.l2)
        inputs = [*(v for x in xs for v in x), *wanted]
        return compile_graph(
            result, self.mlp.parameters(), inputs, allow_unused=True, input_grads=False
        )

    def loss(self, X: Points, labels: Sequence[int]) -> float:
        if self.program is None or self.size != len(X):  # a batch of another size: record again
            self.program, self.size = self._record(len(X)), len(X)
        values = [float(a) for x in X for a in x] + targets(labels, self.loss_name)
        return self.program.run(values)

    @property
    def source(self) -> str | None:
        """The generated Python of the replay, when the program shows it."""
        if self.program is None:
            return None
        source = getattr(self.program, "source", None)
        return source if isinstance(source, str) else None

    def describe(self) -> str:
        """print(program): how the replay runs."""
        return "" if self.program is None else str(self.program)


def make_stepper(engine: str, mlp: MLP, loss: str, l2: float) -> Eager | Compiled:
    """The stepper of the named engine."""
    return Compiled(mlp, loss, l2) if engine == "compiled" else Eager(mlp, loss, l2)


class Scores:
    """A compiled program that reads the MLP's output (and every neuron's) at fixed points.

    A replay keeps no interior values, so each wanted output o gets a probe leaf p, always 0,
    added to the graph as p * o: d/dp = o. The program runs on a copy of the MLP whose weights
    are inputs, so the model's own .grad is never touched.
    """

    def __init__(self, mlp: MLP, points: Points, *, neurons: bool) -> None:
        self.n_points = len(points)
        self.parameters = mlp.parameters()
        twin = copy.deepcopy(mlp)
        self.probes: list[Value] = []
        terms: list[Value] = []
        self.width = 0
        for point in points:
            outputs: list[Value] = []
            if neurons:  # layer by layer, so that every neuron is a node of its own
                layer_out: Sequence[Value] = [Value(float(a)) for a in point]
                for layer in twin.layers:
                    layer_out = layer.forward(layer_out)
                    outputs.extend(layer_out)
            else:
                outputs = twin.forward([float(a) for a in point])[:1]
            self.width = len(outputs)
            for output in outputs:
                probe = Value(0.0)
                self.probes.append(probe)
                terms.append(probe * output)
        self.program: Program | None = None
        if terms:
            self.program = compile_graph(
                total(terms), [], [*twin.parameters(), *self.probes], allow_unused=True
            )
        self.zeros = [0.0] * len(self.probes)

    def run(self) -> list[list[float]]:
        """One row per point: its outputs (the network's score last) at the current weights."""
        if self.program is None:
            return []
        probes = self.probes
        for p in probes:
            p.grad = 0.0
        self.program.run([p.data for p in self.parameters] + self.zeros)
        w = self.width
        grads = [p.grad for p in probes]
        return [grads[i : i + w] for i in range(0, len(grads), w)]
