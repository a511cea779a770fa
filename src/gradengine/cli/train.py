"""Training a classifier on 2-D points: the loop shared by the `gradengine` command and notebook.

One step: forward every training point, loss = data loss + L2 penalty, backward, update.
Two classes use one output (its sign is the class); k > 2 classes use k outputs (the argmax).
``fit(..., engine="compiled")`` records one step's graph once and replays it every step
(gradengine.compile): the same records, many times faster.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gradengine import data, losses
from gradengine.checks import check_size, type_name
from gradengine.compile import BACKENDS
from gradengine.compile.batched import compile_batched
from gradengine.engine import Value
from gradengine.nn import MLP
from gradengine.optim import SGD, Adam, LinearSchedule, Optimizer

Points = Sequence[Sequence[float]]
Labels = Sequence[int]

DATASETS = ("moons", "circles", "blobs", "xor", "spiral")
#: The datasets whose number of classes can be chosen (load_dataset's n_classes).
MULTICLASS_DATASETS = ("blobs", "spiral")
LOSSES = ("hinge", "bce", "cross_entropy")
ENGINES = ("eager", "compiled")


@dataclass(frozen=True)
class Dataset:
    """Points X (each [x1, x2]) with labels y in 0..n_classes-1, split into train and test."""

    name: str
    X_train: list[list[float]]
    y_train: list[int]
    X_test: list[list[float]]
    y_test: list[int]
    n_classes: int


@dataclass(frozen=True)
class StepRecord:
    """What one training step measured; loss and both accuracies are of the parameters before
    the step's update (the same parameters), lr is the rate the update used."""

    step: int
    loss: float
    train_accuracy: float
    test_accuracy: float | None
    lr: float
    seconds: float  # forward + backward + update (compiled: the replay + update)
    eval_seconds: float  # the test-set forward pass (compiled: its replay)


@dataclass
class History:
    """Every step's record, and the accuracies of the final parameters."""

    loss_name: str
    steps: list[StepRecord] = field(default_factory=list)
    final_train_accuracy: float = math.nan
    final_test_accuracy: float | None = None
    engine: str = "eager"
    compile_seconds: float = 0.0  # recording and compiling, once, before the first step

    @property
    def train_seconds(self) -> float:
        """Σ seconds over the steps (the test evaluations excluded)"""
        return sum(record.seconds for record in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: loss name, final accuracies, timings and one dict per step."""
        seconds = [record.seconds for record in self.steps]
        return {
            "loss": self.loss_name,
            "engine": self.engine,
            "final_train_accuracy": self.final_train_accuracy,
            "final_test_accuracy": self.final_test_accuracy,
            "timings": {
                "compile_seconds": self.compile_seconds,
                "train_seconds": self.train_seconds,
                "eval_seconds": sum(record.eval_seconds for record in self.steps),
                "mean_step_seconds": self.train_seconds / len(seconds) if seconds else None,
                "min_step_seconds": min(seconds, default=None),
            },
            "steps": [asdict(record) for record in self.steps],
        }


def default_classes(name: str) -> int:
    """The number of classes load_dataset gives the named dataset unless told: 3 blobs, else 2."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}")
    return 3 if name == "blobs" else 2


def load_dataset(
    name: str,
    n_samples: int,
    *,
    test_size: float = 0.25,
    seed: int | None = None,
    n_classes: int | None = None,
) -> Dataset:
    """The named dataset at the noise level this module trains it at, split train/test.

    n_classes (blobs and spiral only; default_classes(name) if None) is the number of blobs or
    spiral arms; the other datasets have two classes.
    """
    classes = default_classes(name)
    if n_classes is not None:
        classes = check_size(n_classes, "n_classes")
        if classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {classes}")
        if name not in MULTICLASS_DATASETS and classes != 2:
            raise ValueError(
                f"{name} has two classes; n_classes applies to {' and '.join(MULTICLASS_DATASETS)}"
                f", got n_classes={classes}"
            )
    if name == "moons":
        X, y = data.make_moons(n_samples, noise=0.1, random_state=seed)
    elif name == "circles":
        X, y = data.make_circles(n_samples, noise=0.08, factor=0.5, random_state=seed)
    elif name == "blobs":
        X, y = data.make_blobs(n_samples, centers=classes, random_state=seed)
    elif name == "xor":
        X, y = data.make_xor(n_samples, noise=0.1, random_state=seed)
    else:
        X, y = data.make_spiral(n_samples, n_classes=classes, noise=0.05, random_state=seed)
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_size=test_size, random_state=seed)
    return Dataset(name, X_tr, y_tr, X_te, y_te, classes)


def n_outputs(n_classes: int) -> int:
    """1 output for two classes (its sign decides), else one output per class."""
    return 1 if n_classes == 2 else n_classes


def predict(mlp: MLP, X: Points) -> list[int]:
    """The class of each point: 1 if the score > 0 (one output), else the argmax output."""
    # One point at a time: only one point's graph is alive at once, not the whole test set's.
    return [classes([mlp.forward(x)])[0] for x in X]


def classes(outputs: Sequence[Sequence[Value]]) -> list[int]:
    """The class each row of outputs stands for: sign of a single score, else the argmax."""
    return classes_of_scores([[v.data for v in row] for row in outputs])


def classes_of_scores(scores: Sequence[Sequence[float]]) -> list[int]:
    """classes() of rows of numbers: 1 if a single score > 0 (else 0), else the argmax."""
    if not scores:
        return []
    if len(scores[0]) == 1:
        return [1 if row[0] > 0 else 0 for row in scores]
    return [_argmax(list(row)) for row in scores]


def _argmax(scores: list[float]) -> int:
    """The index of the largest score (the first, on a tie)."""
    return max(range(len(scores)), key=scores.__getitem__)


def data_loss(outputs: Sequence[Sequence[Value]], labels: Labels, loss_name: str) -> Value:
    """The mean loss of the outputs against the labels (0..k-1); hinge and bce want one output."""
    if loss_name == "hinge":
        return losses.hinge([row[0] for row in outputs], [2 * c - 1 for c in labels])
    if loss_name == "bce":
        return losses.binary_cross_entropy_with_logits([row[0] for row in outputs], list(labels))
    if loss_name == "cross_entropy":
        return losses.cross_entropy(outputs, list(labels))
    raise ValueError(f"unknown loss {loss_name!r}; expected one of: {', '.join(LOSSES)}")


def make_optimizer(name: str, mlp: MLP, lr: float) -> Optimizer:
    """Plain SGD or Adam over the MLP's parameters."""
    if name == "sgd":
        return SGD(mlp.parameters(), lr=lr)
    if name == "adam":
        return Adam(mlp.parameters(), lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; expected 'sgd' or 'adam'")


def fit(
    mlp: MLP,
    dataset: Dataset,
    optimizer: Optimizer,
    *,
    steps: int,
    loss_name: str | None = None,
    alpha: float = 1e-4,
    lr_end_factor: float = 0.1,
    batch_size: int | None = None,
    seed: int | None = None,
    callback: Callable[[StepRecord], None] | None = None,
    engine: str = "eager",
    backend: str = "auto",
    sync_every: int | None = None,
) -> History:
    """Train for `steps` steps; loss = data loss + alpha Σ p², lr decays linearly to lr·end_factor.

    loss_name defaults to "hinge" for two classes and "cross_entropy" for more. batch_size=None
    uses every training point in every step; otherwise each step draws a minibatch (seeded).
    callback, if given, receives each step's record as soon as it is measured.

    engine="compiled" records the loss of ONE sample (its point and label as inputs) once,
    before the first step, and replays it over every batch and the test set
    (gradengine.compile.batched, with backend "auto", "python" or "numpy"): the same records to
    rounding. While it trains, the parameters live in the program's array and the optimizer
    updates them there (``step_arrays``); the model's Values get them back when training ends
    (or stops on an error), and every ``sync_every`` steps if given (1: before every callback,
    for a callback that reads the model). A model it cannot replay (a node made the lecture's
    way, an operation that cannot recompute itself from floats) is a ValueError before any step.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type_name(mlp)}")
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"dataset must be a Dataset such as load_dataset('moons', 200) returns, "
            f"got {type_name(dataset)}"
        )
    steps = check_size(steps, "steps")
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'eager' or 'compiled', got {engine!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    n_train = len(dataset.X_train)
    if n_train == 0:
        raise ValueError("dataset.X_train is empty: there is nothing to train on")
    binary = dataset.n_classes == 2
    loss_name = loss_name or ("hinge" if binary else "cross_entropy")
    if loss_name not in LOSSES:
        raise ValueError(f"unknown loss {loss_name!r}; expected one of: {', '.join(LOSSES)}")
    width = len(mlp.forward(dataset.X_train[0]))
    expected = 1 if loss_name in ("hinge", "bce") else dataset.n_classes
    if loss_name in ("hinge", "bce") and not binary:
        raise ValueError(f"the {loss_name} loss needs two classes, got {dataset.n_classes}")
    if width != expected:
        raise ValueError(
            f"the {loss_name} loss on {dataset.n_classes} classes needs an MLP with {expected}"
            f" output{'s' if expected > 1 else ''}, got one with {width}"
        )
    if batch_size is not None:
        batch_size = check_size(batch_size, "batch_size")
        if batch_size > n_train:
            raise ValueError(
                f"batch_size must be in 1..{n_train} (the training set), got {batch_size}"
            )
    if sync_every is not None:
        sync_every = check_size(sync_every, "sync_every")
    rng = random.Random(seed)
    schedule = LinearSchedule(optimizer, total_steps=steps, end_factor=lr_end_factor)
    parameters = mlp.parameters()
    history = History(loss_name, engine=engine)
    replay: _Replay | None = None
    if engine == "compiled":
        start = time.perf_counter()
        replay = _Replay(mlp, dataset, loss_name, alpha, optimizer, backend)
        history.compile_seconds = time.perf_counter() - start

    try:
        for step in range(steps):
            start = time.perf_counter()
            batch = None if batch_size is None else rng.sample(range(n_train), batch_size)
            # Both accuracies are of the parameters this step's loss was computed with, so the
            # test set is evaluated before the update (and timed on its own).
            if replay is None:
                if batch is None:
                    X, y = dataset.X_train, dataset.y_train
                else:
                    X = [dataset.X_train[i] for i in batch]
                    y = [dataset.y_train[i] for i in batch]
                outputs = [mlp.forward(x) for x in X]
                loss = data_loss(outputs, y, loss_name) + losses.l2(parameters, alpha=alpha)
                optimizer.zero_grad()
                loss.backward()
                loss_value = loss.data
                seconds = time.perf_counter() - start
                train_accuracy = data.accuracy(classes(outputs), y)
                start = time.perf_counter()
                test_accuracy = _accuracy_or_none(mlp, dataset.X_test, dataset.y_test)
            else:
                loss_value, train_accuracy = replay.step(batch)
                seconds = time.perf_counter() - start
                start = time.perf_counter()
                test_accuracy = replay.test_accuracy()
            eval_seconds = time.perf_counter() - start

            start = time.perf_counter()
            lr = optimizer.lr
            if replay is None:
                optimizer.step()
            else:
                replay.update()
            schedule.step()
            seconds += time.perf_counter() - start

            if replay is not None and sync_every is not None and (step + 1) % sync_every == 0:
                replay.store()
            record = StepRecord(
                step, loss_value, train_accuracy, test_accuracy, lr, seconds, eval_seconds
            )
            history.steps.append(record)
            if callback is not None:
                callback(record)
    finally:
        if replay is not None:
            replay.store()  # the model holds what training reached, even if it stopped early

    if replay is None:
        history.final_train_accuracy = data.accuracy(predict(mlp, dataset.X_train), dataset.y_train)
        history.final_test_accuracy = _accuracy_or_none(mlp, dataset.X_test, dataset.y_test)
    else:  # the same predictions, replayed over the whole set at once
        history.final_train_accuracy = replay.train_accuracy()
        history.final_test_accuracy = replay.test_accuracy()
    return history


# -- compiled mode --------------------------------------------------------------------------------


class _Replay:
    """fit's compiled mode: one sample's loss recorded once, replayed over every batch.

    The sample's inputs are its point and its label as the loss reads it (±1 for hinge, 0 or 1
    for bce, a one-hot row for cross_entropy), so every batch, minibatch or test set replays
    the one recording (gradengine.compile.batched). The parameters stay in the program's array
    while training runs; the optimizer updates them there (step_arrays), and the model's Values
    get them back from store() (at the end, and every sync_every steps).
    """

    def __init__(
        self,
        mlp: MLP,
        dataset: Dataset,
        loss_name: str,
        alpha: float,
        optimizer: Optimizer,
        backend: str,
    ) -> None:
        self.loss_name = loss_name
        self.width = 1 if loss_name in ("hinge", "bce") else dataset.n_classes
        for what, ys in (("y_train", dataset.y_train), ("y_test", dataset.y_test)):
            for i, c in enumerate(ys):
                if c not in range(dataset.n_classes):
                    raise ValueError(
                        f"dataset.{what}[{i}] must be a class in 0..{dataset.n_classes - 1}, "
                        f"got {c!r}"
                    )
        self.d = len(dataset.X_train[0])
        self.optimizer = optimizer
        train_rows = self._rows(dataset.X_train, dataset.y_train)
        kind = {"hinge": "hinge", "bce": "bce_logits"}.get(loss_name, "cross_entropy")
        width, d = self.width, self.d

        def sample(v: list[Value]) -> tuple[Value, list[Value]]:
            scores = mlp.forward(v[:d])
            return losses.loss_of_inputs(kind, [*scores, *v[d:]], width), scores

        penalty = losses.l2(mlp.parameters(), alpha=alpha)
        try:
            # check=0: an MLP's graph has the same shape for every sample (no control flow on
            # .data in its neurons or the losses), so no other sample needs recording.
            self.program = compile_batched(
                sample, optimizer.params, train_rows, penalty=penalty, backend=backend, check=0
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"engine='compiled' cannot replay this model, so training has not started: "
                f"{error}. Train it with engine='eager'"
            ) from error
        self.numpy = self.program.backend == "numpy"
        self.train_rows = self._array(train_rows)
        self.y_train = self._array(dataset.y_train)
        self.test_rows = self._array(self._rows(dataset.X_test, dataset.y_test))
        self.y_test = self._array(dataset.y_test)

    def _rows(self, X: Points, y: Labels) -> list[list[float]]:
        """Each point, then its label as the loss reads it (±1, 0 or 1, a one-hot row)."""
        if self.loss_name == "hinge":
            return [[*x, 2.0 * c - 1.0] for x, c in zip(X, y, strict=True)]
        if self.loss_name == "bce":
            return [[*x, float(c)] for x, c in zip(X, y, strict=True)]
        w = self.width
        return [
            [*x, *(1.0 if j == c else 0.0 for j in range(w))] for x, c in zip(X, y, strict=True)
        ]

    def _array(self, rows: Any) -> Any:
        if not self.numpy:
            return rows
        import numpy as np

        return np.array(rows, dtype=np.float64)

    def _accuracy(self, outputs: list[Any], y: Any) -> float:
        """The share of rows whose scores give the label: sign of one score, else the argmax."""
        if not self.numpy:
            return data.accuracy(classes_of_scores(list(zip(*outputs, strict=True))), y)
        import numpy as np

        if len(outputs) == 1:
            predicted = (outputs[0] > 0).astype(np.int64)
        else:
            predicted = np.argmax(np.stack(outputs, axis=1), axis=1)
        return float(np.mean(predicted == y))

    def step(self, batch: list[int] | None) -> tuple[float, float]:
        """The loss and accuracy of the batch (None: every training point), gradients kept."""
        rows, y = self.train_rows, self.y_train
        if batch is not None:
            rows = rows[batch] if self.numpy else [rows[i] for i in batch]
            y = y[batch] if self.numpy else [y[i] for i in batch]
        result = self.program.step(rows)
        return result.loss, self._accuracy(result.outputs, y)

    def train_accuracy(self) -> float:
        """The accuracy of the current parameters on the whole training set."""
        return self._accuracy(self.program.forward(self.train_rows).outputs, self.y_train)

    def test_accuracy(self) -> float | None:
        """The accuracy of the current parameters on the test set, None if it is empty."""
        if len(self.test_rows) == 0:
            return None
        return self._accuracy(self.program.forward(self.test_rows).outputs, self.y_test)

    def update(self) -> None:
        """One optimizer step of the parameters in the program's array."""
        self.optimizer.step_arrays(self.program.params, self.program.grads)

    def store(self) -> None:
        """The model's Values get the parameters (and the last gradients) back."""
        self.program.store_parameters()


def _accuracy_or_none(mlp: MLP, X: Points, y: Labels) -> float | None:
    """accuracy of mlp on (X, y), or None for an empty test set."""
    return data.accuracy(predict(mlp, X), y) if X else None
