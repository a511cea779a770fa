"""How a playground run computes: its optimizer steps, and the scores it draws.

Two small interfaces, so that another way of running them can replace these:

- a stepper's ``step(X, labels)`` takes one optimizer step on one batch and returns its loss;
  ``sync()`` gives the model's Values the parameters and the last step's gradients, ``reload()``
  takes the parameters back from them after an edit (eager: the graph built anew on the Values
  themselves; compiled: one sample's loss recorded once and replayed over every batch, with the
  parameters in the program's array, updated there by the optimizer's ``step_arrays``);
- a ``Scores`` program gives, for fixed points, the output and (optionally) every neuron's
  output at the model's current weights: the heatmaps and the accuracies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gradengine import losses
from gradengine.compile.batched import compile_batched
from gradengine.engine import Value
from gradengine.fast import total
from gradengine.nn import MLP
from gradengine.optim import Optimizer

Points = Sequence[Sequence[float]]


def targets(labels: Sequence[int], loss: str) -> list[float]:
    """What the loss compares a score with: ±1 (hinge, mse), 0 or 1 (bce)."""
    return [float(c) if loss == "bce" else 2.0 * c - 1.0 for c in labels]


def sample_loss(score: Value, wanted: float | Value, loss: str) -> Value:
    """One point's loss: max(0, 1 - y s) (hinge), (s - y)² (mse) or the logistic loss (bce)."""
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits([score], [wanted])
    if loss == "hinge":
        return (1 + -wanted * score).relu()
    return (score - wanted) ** 2


def data_loss(scores: Sequence[Value], wanted: Sequence[float | Value], loss: str) -> Value:
    """The mean of sample_loss over the points."""
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits(scores, wanted)
    terms = [sample_loss(s, y, loss) for s, y in zip(scores, wanted, strict=True)]
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
    """Takes optimizer steps on batches; keeps the model's Values in step on request."""

    def step(self, X: Points, labels: Sequence[int]) -> float: ...

    def sync(self) -> None: ...

    def reload(self) -> None: ...


class Eager:
    """Builds the batch's graph of Values, calls backward() and the optimizer's step()."""

    def __init__(self, mlp: MLP, loss: str, l2: float, optimizer: Optimizer) -> None:
        self.mlp, self.loss_name, self.l2, self.optimizer = mlp, loss, l2, optimizer

    def step(self, X: Points, labels: Sequence[int]) -> float:
        self.optimizer.zero_grad()
        result = objective(self.mlp, X, targets(labels, self.loss_name), self.loss_name, self.l2)
        result.backward()
        self.optimizer.step()  # FloatingPointError, before any change, on a non-finite grad
        return result.data

    def sync(self) -> None:
        """Nothing to do: the Values are the parameters."""

    def reload(self) -> None:
        """Nothing to do: the Values are the parameters."""


class Compiled:
    """One point's loss recorded once (its x, y and target as inputs), replayed over every
    batch (compile_batched): the batch's loss is the mean, plus L2 once. The parameters stay in
    the program's array between steps; the optimizer updates them there (step_arrays)."""

    def __init__(self, mlp: MLP, loss: str, l2: float, optimizer: Optimizer) -> None:
        self.loss_name, self.optimizer = loss, optimizer

        def sample(v: list[Value]) -> Value:
            return sample_loss(mlp.forward(v[:2])[0], v[2], loss)

        penalty = losses.l2(mlp.parameters(), alpha=l2) if l2 > 0 else None
        # check=0: an MLP's graph has the same shape for every point (no control flow on .data).
        self.program = compile_batched(
            sample, optimizer.params, [[0.0, 0.0, 1.0]], penalty=penalty, check=0
        )

    def step(self, X: Points, labels: Sequence[int]) -> float:
        wanted = targets(labels, self.loss_name)
        rows = [[float(x[0]), float(x[1]), y] for x, y in zip(X, wanted, strict=True)]
        result = self.program.step(rows)
        # FloatingPointError, before any change, on a non-finite grad
        self.optimizer.step_arrays(self.program.params, self.program.grads)
        return float(result.loss)

    def sync(self) -> None:
        self.program.store_parameters()

    def reload(self) -> None:
        self.program.load_parameters()


def make_stepper(engine: str, mlp: MLP, loss: str, l2: float, optimizer: Optimizer) -> Stepper:
    """The stepper of the named engine."""
    kind = Compiled if engine == "compiled" else Eager
    return kind(mlp, loss, l2, optimizer)


class Scores:
    """A batched program that reads the MLP's output (and every neuron's) at fixed points.

    One point's forward pass is recorded, each neuron's output (or only the score) asked for
    as an output, and replayed over all the points at the model's current weights; the
    model's .grad is never touched.
    """

    def __init__(self, mlp: MLP, points: Points, *, neurons: bool) -> None:
        self.rows = [[float(a) for a in point] for point in points]
        sizes = [len(layer.neurons) for layer in mlp.layers]
        self.width = sum(sizes) if neurons else 1

        def sample(v: list[Value]) -> tuple[Value, list[Value]]:
            if not neurons:
                score = mlp.forward(v)[0]
                return score, [score]
            outputs: list[Value] = []
            layer_out: Sequence[Value] = v
            for layer in mlp.layers:  # layer by layer, so that every neuron is an output
                layer_out = layer.forward(layer_out)
                outputs.extend(layer_out)
            return outputs[-1], outputs

        self.program = None
        self.batch: Any = self.rows
        if self.rows:
            self.program = compile_batched(sample, mlp.parameters(), self.rows, check=0)
            if self.program.backend == "numpy":  # converted once, not at every frame
                import numpy

                self.batch = numpy.array(self.rows, dtype=numpy.float64)

    def columns(self) -> list[list[float]]:
        """One column per output (the network's score last): its value at every point."""
        if self.program is None:
            return [[] for _ in range(self.width)]
        self.program.load_parameters()
        outputs: list[Any] = self.program.forward(self.batch).outputs
        return [
            column.tolist() if hasattr(column, "tolist") else list(column) for column in outputs
        ]
