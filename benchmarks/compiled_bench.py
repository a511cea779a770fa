"""Compiled mode in the benchmark: one engine on one workload, in a fresh interpreter.

    python compiled_bench.py digits ENGINE SIZES_JSON        # ENGINE: eager, compiled-python,
                                                             #   compiled-numpy, torch
    python compiled_bench.py scaling ENGINE CELL_JSON        # ENGINE: eager, compiled-numpy, torch

Prints the raw measurements as JSON, with the process's peak resident set size. run.py starts
one process per engine (and per scaling cell), as measure.py does for the other workloads; the
moons step in compiled mode is measure.py's (``moons_compiled`` below trains it).

Compiled mode runs as ``fit(engine="compiled")`` runs it: batched replay (``compile_batched``)
records ONE sample's loss, with its inputs and label as input leaves, and replays it over every
batch; the parameters stay in the program's array, updated by the optimizer's ``step_arrays``.

- digits: scikit-learn's handwritten digits, MLP(64, [32, 10]) (ReLU hidden layer), softmax
  cross-entropy, SGD at lr 0.5: one epoch of minibatches of 32 (the last partial one left
  out), and one full-batch epoch (one step over every sample). Eager mode calls
  ``losses.cross_entropy`` with each batch's classes. Compiled mode records one sample's
  cross-entropy with its 64 pixels and one-hot class as inputs, once, and replays that one
  program over the minibatches and the full batch alike. PyTorch: float64 tensors,
  F.cross_entropy.
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


def demo_program(
    model: Any, X: Any, y: Any, backend: str, l2_node: bool = False
) -> tuple[Any, Any, float]:
    """The demo's loss as batched replay: (program, the batch it replays, record+compile s).

    One sample is (x0, x1, label); its loss is the demo's ``(1 + -y * score).relu()``, the
    batch's is their mean plus ``1e-4 * Σ p²`` once: summed node by node as the notebook spells
    it, or (l2_node) as one ``losses.l2`` node, as fit records it.
    """
    from gradengine import compile_batched, losses

    rows = [[*x, float(t)] for x, t in zip(X.tolist(), y.tolist(), strict=True)]
    if backend == "numpy":
        import numpy as np

        batch: Any = np.array(rows, dtype=np.float64)
    else:
        batch = rows
    parameters = model.parameters()

    def sample(v: list[Any]) -> tuple[Any, list[Any]]:
        score = model(v[:2])
        return (1 + -v[2] * score).relu(), [score]

    start = time.perf_counter()
    if l2_node:
        penalty = losses.l2(parameters, alpha=1e-4)
    else:  # spelled exactly as micrograd's demo notebook spells it
        penalty = 1e-4 * sum((p * p for p in parameters))  # noqa: UP034
    # check=0, as fit's: an MLP's graph has the same shape for every sample
    program = compile_batched(sample, parameters, batch, penalty=penalty, backend=backend, check=0)
    return program, batch, time.perf_counter() - start


def demo_replay(program: Any, batch: Any, steps: int) -> tuple[list[float], list[float], list[Any]]:
    """The demo's steps on the program: (seconds per step, losses, each step's scores)."""
    from gradengine.optim import SGD

    optimizer = SGD(program.parameters, lr=1.0)
    seconds, losses, scores = [], [], []
    for k in range(steps):
        start = time.perf_counter()
        optimizer.lr = 1.0 - 0.9 * k / 100
        result = program.step(batch)
        optimizer.step_arrays(program.params, program.grads)
        seconds.append(time.perf_counter() - start)
        losses.append(result.loss)
        scores.append(result.outputs[0])
    return seconds, losses, scores


def moons_compiled(backend: str, X: Any, y: Any, steps: int) -> tuple[Any, float]:
    """The demo's steps, one sample's loss recorded once and replayed over the batch:
    (moons.Run, record+compile s)."""
    import moons

    from gradengine import MLP

    program, batch, setup = demo_program(moons.seeded_model(MLP), X, y, backend)
    run = moons.Run()
    run.step_seconds, run.losses, scores = demo_replay(program, batch, steps)
    # each step's accuracy, of the scores it computed before its update: untimed, after the loop
    labels = [t > 0 for t in y.tolist()]
    run.accuracies = [
        sum((float(s) > 0) == t for s, t in zip(row, labels, strict=True)) / len(labels)
        for row in scores
    ]
    return run, setup


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


def moons_per_sample(backend: str, X: Any, y: Any, steps: int) -> tuple[Any, float]:
    """The demo's steps as compile_graph replays them, every sample's graph recorded once:
    (moons.Run, record+compile s)."""
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


def sgd(parameters: list[Any], lr: float) -> None:
    for p in parameters:
        p.data -= lr * p.grad


def digits_scalar(engine: str, sizes: CompiledSizes) -> dict[str, Any]:
    """Eager or compiled: epoch times and mean losses, minibatch epochs then full-batch ones."""
    from gradengine import MLP, Value
    from gradengine.losses import cross_entropy
    from gradengine.optim import SGD

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
                loss = cross_entropy([model.forward([Value(a) for a in x]) for x in xs], cs)
                model.zero_grad()
                loss.backward()
                sgd(parameters, DIGITS_LR)
                losses.append(loss.data)
            return losses

        def full_epoch() -> list[float]:
            loss = cross_entropy([model.forward([Value(a) for a in x]) for x in X], y)
            model.zero_grad()
            loss.backward()
            sgd(parameters, DIGITS_LR)
            return [loss.data]

        result["minibatch"] = epochs(minibatch_epoch, sizes.digits_epochs, 0.0)
        result["full"] = epochs(full_epoch, sizes.digits_epochs, 0.0)
        return result
    backend = engine.removeprefix("compiled-")
    program, feeds, full_batch, setup = digits_program(model, X, y, batches, backend)
    optimizer = SGD(parameters, lr=DIGITS_LR)

    def compiled_minibatch_epoch() -> list[float]:
        losses = []
        for feed in feeds:
            losses.append(program.step(feed).loss)
            optimizer.step_arrays(program.params, program.grads)
        return losses

    def compiled_full_epoch() -> list[float]:
        loss = program.step(full_batch).loss
        optimizer.step_arrays(program.params, program.grads)
        return [loss]

    result["minibatch"] = epochs(compiled_minibatch_epoch, sizes.digits_epochs, setup)
    result["full"] = epochs(compiled_full_epoch, sizes.digits_epochs, setup)
    return result


def digits_program(
    model: Any, X: list[list[float]], y: list[int], batches: list[range], backend: str
) -> tuple[Any, list[Any], Any, float]:
    """One sample's cross-entropy recorded once, its pixels and one-hot class as inputs:
    (program, the minibatches, the full batch, record+compile s)."""
    from gradengine import compile_batched, losses

    rows = [[*x, *(float(j == c) for j in range(10))] for x, c in zip(X, y, strict=True)]
    if backend == "numpy":
        import numpy as np

        full: Any = np.array(rows, dtype=np.float64)
    else:
        full = rows
    feeds = [full[batch.start : batch.stop] for batch in batches]

    def sample(v: list[Any]) -> tuple[Any, list[Any]]:
        scores = model(v[:64])
        return losses.loss_of_inputs("cross_entropy", [*scores, *v[64:]], 10), scores

    start = time.perf_counter()
    # check=0, as fit's: an MLP's graph has the same shape for every sample
    program = compile_batched(sample, model.parameters(), full, backend=backend, check=0)
    return program, feeds, full, time.perf_counter() - start


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
                assert p.grad is not None  # backward() filled it in
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
        program, batch, setup = demo_program(seeded(), X, y, "numpy", l2_node=True)
        seconds, losses, _ = demo_replay(program, batch, steps)
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
