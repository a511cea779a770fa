"""Compiled mode in the benchmark: one engine on one workload, in a fresh interpreter.

    python compiled_bench.py digits ENGINE SIZES_JSON        # ENGINE: eager, compiled-python,
                                                             #   compiled-numpy, torch
    python compiled_bench.py scaling ENGINE CELL_JSON        # ENGINE: eager, compiled-numpy, torch

Prints the raw measurements as JSON, with the process's peak resident set size. run.py starts
one process per engine (and per scaling cell), as measure.py does for the other workloads; the
moons step in compiled mode is measure.py's (``moons_compiled`` below trains it).

- digits: scikit-learn's handwritten digits, MLP(64, [32, 10]) (ReLU hidden layer), softmax
  cross-entropy, SGD at lr 0.5: one epoch of minibatches of 32 (the last partial one left
  out), and one full-batch epoch (one step over every sample). Eager mode calls
  ``losses.cross_entropy`` with each batch's classes. Compiled mode records one minibatch with
  its inputs and one-hot targets as input leaves and the loss written with Value operations
  (exp, log, total), since a recording's classes would be frozen, and no gradients for its
  inputs (``input_grads=False``); the full batch, whose classes never change, records
  ``losses.cross_entropy`` itself. PyTorch: float64 tensors, F.cross_entropy.
- scaling: the moons demo's step (SVM max-margin loss + 1e-4 L2) with a 2 -> H -> H -> 1 MLP on
  N samples, ms per step and peak memory.
"""

from __future__ import annotations

import json
import operator
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rss import current_rss_bytes, peak_rss_bytes

DIGITS_ENGINES = ("eager", "compiled-python", "compiled-numpy", "torch")
SCALING_ENGINES = ("eager", "compiled-numpy", "torch")
DIGITS_LR = 0.5
DIGITS_SEED = 0


@dataclass(frozen=True)
class CompiledSizes:
    """How big the compiled-mode workloads are."""

    digits_samples: int  # the first this many of the 1,797 digits
    digits_batch: int
    digits_epochs: int  # timed epochs of each kind per engine
    scaling_samples: tuple[int, ...]
    scaling_widths: tuple[int, ...]
    scaling_steps: int  # timed steps per cell (eager: min(this, 3))
    scaling_limit_seconds: float  # a cell whose estimated time exceeds this is skipped


FULL_COMPILED = CompiledSizes(1797, 32, 3, (100, 1_000, 10_000), (16, 64, 256), 5, 60.0)
# --quick: two batches of digits; two scaling cells (4 steps; eager runs 3), the second skipped
# (limit 0 s) for every engine, so that both kinds of cell are reported
QUICK_COMPILED = CompiledSizes(64, 32, 3, (20,), (4, 8), 4, 0.0)


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """min, median and mean, in ms."""
    return {
        "ms_min": min(seconds) * 1e3,
        "ms_median": statistics.median(seconds) * 1e3,
        "ms_mean": statistics.mean(seconds) * 1e3,
    }


# -- the moons step, compiled (measure.py's moons workload) ----------------------------------------


def float_accuracy(model: Any, weights: list[float], X: Any, y: Any) -> float:
    """The demo's accuracy with these weights (model.parameters() order), in floats (ReLU
    hidden layers, linear output, as the demo's)."""
    values = iter(weights)
    layers = []
    for layer in model.layers:
        rows = []
        for neuron in layer.neurons:
            w = [next(values) for _ in neuron.w]
            rows.append((w, next(values)))
        layers.append(rows)
    right = 0
    for xrow, yi in zip(X.tolist(), y.tolist(), strict=True):
        h = xrow
        for k, layer in enumerate(layers):
            z = [sum(map(operator.mul, w, h), b) for w, b in layer]
            h = z if k == len(layers) - 1 else [0.0 if v <= 0 else v for v in z]
        right += (yi > 0) == (h[0] > 0)
    return right / len(y)


def moons_compiled(backend: str, X: Any, y: Any, steps: int) -> tuple[Any, float]:
    """The demo's steps, its loss recorded once and replayed: (moons.Run, record+compile s)."""
    import moons

    from gradengine import MLP, Value, compile_graph

    model = moons.seeded_model(MLP)
    start = time.perf_counter()
    loss, _ = moons.demo_loss(Value, model, X, y)
    program = compile_graph(loss, model.parameters(), backend=backend)
    setup = time.perf_counter() - start
    del loss
    parameters = model.parameters()
    run = moons.Run()
    before = []  # each step's accuracy is of the weights before it: computed after the loop,
    for k in range(steps):  # so that no work between timed steps leaves the caches cold
        before.append([p.data for p in parameters])
        start = time.perf_counter()
        for p in parameters:
            p.grad = 0.0
        out = program.run()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in parameters:
            p.data -= learning_rate * p.grad
        run.step_seconds.append(time.perf_counter() - start)
        run.losses.append(out)
    run.accuracies = [float_accuracy(model, weights, X, y) for weights in before]
    return run, setup


# -- digits ----------------------------------------------------------------------------------------


def digits_data(n_samples: int) -> tuple[list[list[float]], list[int]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data[:n_samples] / 16.0).tolist()
    return X, [int(c) for c in digits.target[:n_samples]]


def onehot_loss(model: Any, xs: list[list[Any]], targets: list[list[Any]]) -> Any:
    """mean over rows of ln Σ e^(z - top) - Σ t (z - top), t a one-hot row of input leaves.

    top, the recorded max(z) of each row, is frozen into the recording (it read .data): it only
    keeps e^z from overflowing; the loss is the same for any shift.
    """
    from gradengine import total

    rows = []
    for x, t in zip(xs, targets, strict=True):
        z = model(x)
        top = max(zj.data for zj in z)
        shifted = [zj - top for zj in z]
        log_total = total([s.exp() for s in shifted]).log()
        rows.append(log_total - total([tj * s for tj, s in zip(t, shifted, strict=True)]))
    return total(rows) * (1.0 / len(rows))


def sgd(parameters: list[Any], lr: float) -> None:
    for p in parameters:
        p.data -= lr * p.grad


def digits_scalar(engine: str, sizes: CompiledSizes) -> dict[str, Any]:
    """Eager or compiled: epoch times and mean losses, minibatch epochs then full-batch ones."""
    from gradengine import MLP, Value, compile_graph
    from gradengine.losses import cross_entropy

    X, y = digits_data(sizes.digits_samples)
    B = sizes.digits_batch
    batches = [range(b * B, (b + 1) * B) for b in range(len(X) // B)]
    model = MLP(64, [32, 10], seed=DIGITS_SEED)
    parameters = model.parameters()
    result: dict[str, Any] = {}
    if engine == "eager":
        rows = [[X[r] for r in batch] for batch in batches]
        labels = [[y[r] for r in batch] for batch in batches]

        def minibatch_epoch() -> list[float]:
            losses = []
            for xs, cs in zip(rows, labels, strict=True):
                loss = cross_entropy([model([Value(a) for a in x]) for x in xs], cs)
                model.zero_grad()
                loss.backward()
                sgd(parameters, DIGITS_LR)
                losses.append(loss.data)
            return losses

        def full_epoch() -> list[float]:
            loss = cross_entropy([model([Value(a) for a in x]) for x in X], y)
            model.zero_grad()
            loss.backward()
            sgd(parameters, DIGITS_LR)
            return [loss.data]

        result["minibatch"] = epochs(minibatch_epoch, sizes.digits_epochs, 0.0)
        result["full"] = epochs(full_epoch, sizes.digits_epochs, 0.0)
        return result
    backend = engine.removeprefix("compiled-")
    start = time.perf_counter()
    xs = [[Value(0.0) for _ in range(64)] for _ in range(B)]
    ts = [[Value(0.0) for _ in range(10)] for _ in range(B)]
    loss = onehot_loss(model, xs, ts)
    inputs = [v for row in xs + ts for v in row]
    # the inputs' gradients are never read (PyTorch computes none either)
    program = compile_graph(loss, parameters, inputs, backend=backend, input_grads=False)
    setup = time.perf_counter() - start
    del loss, xs, ts, inputs
    feeds = [
        [a for r in batch for a in X[r]] + [float(j == y[r]) for r in batch for j in range(10)]
        for batch in batches
    ]

    def compiled_minibatch_epoch() -> list[float]:
        losses = []
        for feed in feeds:
            for p in parameters:
                p.grad = 0.0
            losses.append(program.run(feed))
            sgd(parameters, DIGITS_LR)
        return losses

    result["minibatch"] = epochs(compiled_minibatch_epoch, sizes.digits_epochs, setup)
    start = time.perf_counter()
    full_loss = cross_entropy([model([Value(a) for a in x]) for x in X], y)
    full = compile_graph(full_loss, parameters, backend=backend)
    setup = time.perf_counter() - start
    del full_loss

    def compiled_full_epoch() -> list[float]:
        for p in parameters:
            p.grad = 0.0
        out = full.run()
        sgd(parameters, DIGITS_LR)
        return [out]

    result["full"] = epochs(compiled_full_epoch, sizes.digits_epochs, setup)
    return result


def epochs(epoch: Any, count: int, setup: float) -> dict[str, Any]:
    """Time `count` calls of epoch(): seconds, the mean loss of each, the one-off setup."""
    seconds, losses = [], []
    for _ in range(count):
        start = time.perf_counter()
        batch_losses = epoch()
        seconds.append(time.perf_counter() - start)
        losses.append(sum(batch_losses) / len(batch_losses))
    return {"seconds": seconds, "losses": losses, "setup_seconds": setup}


def digits_torch(sizes: CompiledSizes) -> dict[str, Any]:
    """The same training with float64 tensors: one matmul per layer, F.cross_entropy."""
    import torch
    import torch.nn.functional as F
    from moons import initial_weights

    from gradengine import MLP

    X, y = digits_data(sizes.digits_samples)
    B = sizes.digits_batch
    params = []
    for layer in initial_weights(MLP(64, [32, 10], seed=DIGITS_SEED)):
        rows = torch.tensor(layer, dtype=torch.float64)
        params += [rows[:, :-1].clone().requires_grad_(), rows[:, -1].clone().requires_grad_()]
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.long)
    batches = [
        (inputs[b * B : (b + 1) * B], labels[b * B : (b + 1) * B]) for b in range(len(X) // B)
    ]

    def step(x: Any, c: Any) -> float:
        h = (x @ params[0].T + params[1]).relu()
        loss = F.cross_entropy(h @ params[2].T + params[3], c)
        for p in params:
            p.grad = None
        loss.backward()  # type: ignore[no-untyped-call]
        with torch.no_grad():
            for p in params:
                p -= DIGITS_LR * p.grad
        return float(loss.item())

    return {
        "minibatch": epochs(lambda: [step(x, c) for x, c in batches], sizes.digits_epochs, 0.0),
        "full": epochs(lambda: [step(inputs, labels)], sizes.digits_epochs, 0.0),
        "threads": torch.get_num_threads(),
    }


# -- scaling ---------------------------------------------------------------------------------------


def multiply_adds(samples: int, width: int) -> int:
    """Multiply-adds of one forward pass of 2 -> H -> H -> 1 over the samples."""
    return samples * (2 * width + width * width + width)


def scaling_cell(engine: str, samples: int, width: int, steps: int) -> dict[str, Any]:
    """ms per step of the moons step with a 2 -> H -> H -> 1 MLP on N samples."""
    import moons

    from gradengine import MLP, Value

    X, y = moons.moons(samples)

    def seeded() -> Any:
        random.seed(1337)
        return MLP(2, [width, width, 1])

    setup = 0.0
    if engine == "eager":
        run = moons.train(Value, seeded(), X, y, steps)
        seconds, losses = run.step_seconds, run.losses
    elif engine == "compiled-numpy":
        from gradengine import compile_graph

        model = seeded()
        start = time.perf_counter()
        loss, _ = moons.demo_loss(Value, model, X, y)
        program = compile_graph(loss, model.parameters(), backend="numpy")
        setup = time.perf_counter() - start
        del loss
        parameters = model.parameters()
        seconds, losses = [], []
        for k in range(steps):
            start = time.perf_counter()
            for p in parameters:
                p.grad = 0.0
            out = program.run()
            sgd(parameters, 1.0 - 0.9 * k / 100)
            seconds.append(time.perf_counter() - start)
            losses.append(out)
    else:
        import batched

        run = batched.train_torch(moons.initial_weights(seeded()), X, y, steps)
        seconds, losses = run.step_seconds, run.losses
    return {"seconds": seconds, "losses": losses, "setup_seconds": setup}


# -- command line ----------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    usage = (
        "usage: python compiled_bench.py digits ENGINE SIZES_JSON | "
        "scaling ENGINE CELL_JSON ({samples, width, steps})"
    )
    if len(argv) != 3:
        raise SystemExit(usage)
    workload, engine, arguments = argv[0], argv[1], json.loads(argv[2])
    base = current_rss_bytes()
    if workload == "digits" and engine in DIGITS_ENGINES:
        sizes = CompiledSizes(**{**arguments, "scaling_samples": (), "scaling_widths": ()})
        result = digits_torch(sizes) if engine == "torch" else digits_scalar(engine, sizes)
    elif workload == "scaling" and engine in SCALING_ENGINES:
        result = scaling_cell(engine, arguments["samples"], arguments["width"], arguments["steps"])
    else:
        raise SystemExit(usage)
    result["base_rss"] = base
    result["peak_rss"] = peak_rss_bytes()
    print(json.dumps(result, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
