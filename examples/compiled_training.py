"""Training in compiled mode: write the model and the loss with Values, record one minibatch's
graph, and replay it for every minibatch.

    python examples/compiled_training.py [--epochs N] [--backend auto|python|numpy]

Two tasks: micrograd's moons (MLP(2, [16, 16, 1]), max-margin loss, minibatches of 32) and
scikit-learn's handwritten digits (MLP(64, [32, 10]), softmax cross-entropy, minibatches of 32).
The inputs and the labels of the minibatch are leaves given to ``compile_graph`` as inputs, so
each ``program.run(batch)`` computes the loss and the gradients of another minibatch. A last
minibatch smaller than 32 is left out: the program was recorded for 32 samples.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

from gradengine import MLP, Program, Value, compile_graph, total

BATCH = 32


def flat(rows: list[list[Value]]) -> list[Value]:
    return [v for row in rows for v in row]


def hinge_loss(model: MLP, xs: list[list[Value]], ys: list[Value]) -> Value:
    """mean max(0, 1 - y s) + 1e-4 * Σ p², as micrograd's demo."""
    scores = [model(x) for x in xs]
    losses = [(1 + -y * s).relu() for y, s in zip(ys, scores, strict=True)]  # type: ignore[operator]
    return total(losses) * (1.0 / len(losses)) + 1e-4 * total([p * p for p in model.parameters()])


def cross_entropy_loss(model: MLP, xs: list[list[Value]], onehots: list[list[Value]]) -> Value:
    """mean over rows of ln Σ e^z - Σ t z, with the target as a one-hot row of input leaves."""
    rows = []
    for x, t in zip(xs, onehots, strict=True):
        z = model(x)
        assert isinstance(z, list)
        # The shift by the recorded max(z) is frozen into the program (it read .data): it only
        # keeps e^z from overflowing, the loss is the same for any constant shift.
        top = max(zj.data for zj in z)
        shifted = [zj - top for zj in z]
        log_total = total([s.exp() for s in shifted]).log()
        rows.append(log_total - total([tj * s for tj, s in zip(t, shifted, strict=True)]))
    return total(rows) * (1.0 / len(rows))


def train(
    program: Program, model: MLP, batches: Sequence[list[float]], epochs: int, lr: float
) -> list[float]:
    """SGD over the minibatches, each epoch; the mean loss of each epoch."""
    means = []
    params = model.parameters()
    for _ in range(epochs):
        losses = []
        for batch in batches:
            model.zero_grad()
            losses.append(program.run(batch))
            for p in params:
                p.data -= lr * p.grad
        means.append(sum(losses) / len(losses))
    return means


def moons_task(epochs: int, backend: str, n_samples: int = 256) -> list[float]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=0.1, random_state=1)
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    xs = [[Value(0.0), Value(0.0)] for _ in range(BATCH)]
    ys = [Value(1.0) for _ in range(BATCH)]
    start = time.perf_counter()
    program = compile_graph(
        hinge_loss(model, xs, ys), model.parameters(), [*flat(xs), *ys], backend=backend
    )
    print(f"moons: recorded and compiled in {time.perf_counter() - start:.2f} s")
    batches = []
    for b in range(len(X) // BATCH):
        rows = range(b * BATCH, (b + 1) * BATCH)
        batches.append([float(a) for r in rows for a in X[r]] + [2.0 * y[r] - 1.0 for r in rows])
    start = time.perf_counter()
    means = train(program, model, batches, epochs, lr=0.1)
    print(f"moons: {epochs} epochs in {time.perf_counter() - start:.2f} s, losses {means}")
    return means


def digits_task(epochs: int, backend: str, n_samples: int = 1024) -> list[float]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data[:n_samples] / 16.0
    y = digits.target[:n_samples]
    model = MLP(64, [32, 10], seed=0)
    xs = [[Value(0.0) for _ in range(64)] for _ in range(BATCH)]
    ts = [[Value(0.0) for _ in range(10)] for _ in range(BATCH)]
    start = time.perf_counter()
    loss = cross_entropy_loss(model, xs, ts)
    program = compile_graph(loss, model.parameters(), [*flat(xs), *flat(ts)], backend=backend)
    print(f"digits: recorded and compiled in {time.perf_counter() - start:.2f} s")
    batches = []
    for b in range(len(X) // BATCH):
        rows = range(b * BATCH, (b + 1) * BATCH)
        onehot = [1.0 if j == y[r] else 0.0 for r in rows for j in range(10)]
        batches.append([float(a) for r in rows for a in X[r]] + onehot)
    start = time.perf_counter()
    means = train(program, model, batches, epochs, lr=0.5)
    print(f"digits: {epochs} epochs in {time.perf_counter() - start:.2f} s, losses {means}")
    return means


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--backend", default="auto", choices=["auto", "python", "numpy"])
    args = parser.parse_args(argv)
    moons_task(args.epochs, args.backend)
    digits_task(args.epochs, args.backend)


if __name__ == "__main__":
    main()
