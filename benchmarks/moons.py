"""micrograd's moons demo, written as its notebook writes it, for any engine with micrograd's API.

The same functions train micrograd, gradengine and a model of 0-d PyTorch tensors: only the
`Value` constructor and the model change, so every engine does exactly the same arithmetic.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only the data needs NumPy: run.py imports this file before its checks
    import numpy as np

# A layer's initial weights: one row [w1, ..., wn, b] per neuron.
LayerWeights = list[list[float]]


@dataclass
class Run:
    """What one training run recorded, step by step."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    #: Each collection of the cyclic garbage collector: (generation, step, seconds it took).
    collections: list[tuple[int, int, float]] = field(default_factory=list)


def moons(n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The demo's data: make_moons(noise=0.1, random_state=1), labels mapped from {0, 1} to ±1."""
    from sklearn.datasets import make_moons  # here: benchmarks/collector.py runs without it

    X, y = make_moons(n_samples=n_samples, noise=0.1, random_state=1)
    return X, y * 2 - 1


def demo_loss(Value: Callable[[Any], Any], model: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """The notebook's loss(): mean SVM max-margin loss + 1e-4 * Σ p², and the accuracy."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    # Spelled exactly as micrograd's demo notebook spells it.
    reg_loss = alpha * sum((p * p for p in model.parameters()))  # noqa: UP034
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores, strict=True)]
    return total_loss, sum(accuracy) / len(accuracy)


def demo_steps(
    Value: Callable[[Any], Any], model: Any, X: Any, y: Any, steps: int
) -> Iterator[tuple[float, float]]:
    """The notebook's loop: step k is loss, zero_grad, backward, SGD with lr = 1 - 0.9 k / 100.

    Yields each step's loss and accuracy as numbers, so that each graph lives as long as the
    notebook's ``total_loss`` keeps it: from its step's loss() until the next step's returns.
    """
    for k in range(steps):
        total_loss, acc = demo_loss(Value, model, X, y)
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        yield float(total_loss.data), float(acc)


def slow_steps(seconds: Sequence[float]) -> list[int]:
    """The steps after the fifth that took over twice the run's median step (the eager target)."""
    median = statistics.median(seconds)
    return [k for k, s in enumerate(seconds) if k >= 5 and s > 2 * median]


def train(Value: Callable[[Any], Any], model: Any, X: Any, y: Any, steps: int) -> Run:
    """Run the demo's first `steps` steps, timing each step and each garbage collection."""
    run = Run()
    started = 0.0

    def note(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            step = len(run.step_seconds)
            run.collections.append((info["generation"], step, time.perf_counter() - started))

    gc.callbacks.append(note)
    try:
        start = time.perf_counter()
        for loss, acc in demo_steps(Value, model, X, y, steps):
            run.step_seconds.append(time.perf_counter() - start)
            run.losses.append(loss)
            run.accuracies.append(acc)
            start = time.perf_counter()
    finally:
        gc.callbacks.remove(note)
    return run


def seeded_model(MLP: Callable[..., Any]) -> Any:
    """The demo's model: random.seed(1337), then MLP(2, [16, 16, 1])."""
    random.seed(1337)
    return MLP(2, [16, 16, 1])


def initial_weights(model: Any) -> list[LayerWeights]:
    """The weights of a micrograd-style MLP (layers of neurons with .w and .b), as floats."""
    return [
        [[float(w.data) for w in neuron.w] + [float(neuron.b.data)] for neuron in layer.neurons]
        for layer in model.layers
    ]


class ScalarTorchMLP:
    """micrograd's MLP with every weight a 0-d float64 PyTorch tensor that requires grad."""

    def __init__(self, weights: Sequence[LayerWeights]) -> None:
        import torch

        def scalar(x: float) -> Any:
            return torch.tensor(x, dtype=torch.float64, requires_grad=True)

        self.layers = [[[scalar(x) for x in row] for row in layer] for layer in weights]

    def __call__(self, x: list[Any]) -> Any:
        """relu(b + Σ w_i x_i) per hidden neuron, summed in micrograd's order; linear output."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            outs = []
            for *w, b in layer:
                act = sum((wi * xi for wi, xi in zip(w, x, strict=True)), b)
                outs.append(act.relu() if i != last else act)
            x = outs
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for row in layer for p in row]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None


def scalar_tensor(x: float) -> Any:
    """A constant 0-d float64 tensor: the per-scalar PyTorch stand-in for Value(x)."""
    import torch

    return torch.tensor(float(x), dtype=torch.float64)
