"""Training a classifier on 2-D points: the loop shared by the `gradengine` command and notebook.

One step: forward every training point, loss = data loss + L2 penalty, backward, update.
Two classes use one output (its sign is the class); k > 2 classes use k outputs (the argmax).
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
from gradengine.nn import MLP
from gradengine.optim import SGD, Adam, LinearSchedule, Optimizer
from gradengine.value import Value

Points = Sequence[Sequence[float]]
Labels = Sequence[int]

DATASETS = ("moons", "circles", "blobs", "xor", "spiral")
LOSSES = ("hinge", "bce", "cross_entropy")


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
    seconds: float  # forward + backward + update
    eval_seconds: float  # the test-set forward pass


@dataclass
class History:
    """Every step's record, and the accuracies of the final parameters."""

    loss_name: str
    steps: list[StepRecord] = field(default_factory=list)
    final_train_accuracy: float = math.nan
    final_test_accuracy: float | None = None

    @property
    def train_seconds(self) -> float:
        """Σ seconds over the steps (the test evaluations excluded)"""
        return sum(record.seconds for record in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: loss name, final accuracies, timings and one dict per step."""
        seconds = [record.seconds for record in self.steps]
        return {
            "loss": self.loss_name,
            "final_train_accuracy": self.final_train_accuracy,
            "final_test_accuracy": self.final_test_accuracy,
            "timings": {
                "train_seconds": self.train_seconds,
                "eval_seconds": sum(record.eval_seconds for record in self.steps),
                "mean_step_seconds": self.train_seconds / len(seconds) if seconds else None,
                "min_step_seconds": min(seconds, default=None),
            },
            "steps": [asdict(record) for record in self.steps],
        }


def load_dataset(
    name: str, n_samples: int, *, test_size: float = 0.25, seed: int | None = None
) -> Dataset:
    """The named dataset at the noise level this module trains it at, split train/test."""
    if name == "moons":
        X, y = data.make_moons(n_samples, noise=0.1, random_state=seed)
    elif name == "circles":
        X, y = data.make_circles(n_samples, noise=0.08, factor=0.5, random_state=seed)
    elif name == "blobs":
        X, y = data.make_blobs(n_samples, centers=3, random_state=seed)
    elif name == "xor":
        X, y = data.make_xor(n_samples, noise=0.1, random_state=seed)
    elif name == "spiral":
        X, y = data.make_spiral(n_samples, noise=0.05, random_state=seed)
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}")
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_size=test_size, random_state=seed)
    n_classes = max(y) + 1
    return Dataset(name, X_tr, y_tr, X_te, y_te, n_classes)


def n_outputs(n_classes: int) -> int:
    """1 output for two classes (its sign decides), else one output per class."""
    return 1 if n_classes == 2 else n_classes


def predict(mlp: MLP, X: Points) -> list[int]:
    """The class of each point: 1 if the score > 0 (one output), else the argmax output."""
    # One point at a time: only one point's graph is alive at once, not the whole test set's.
    return [classes([mlp.forward(x)])[0] for x in X]


def classes(outputs: Sequence[Sequence[Value]]) -> list[int]:
    """The class each row of outputs stands for: sign of a single score, else the argmax."""
    if not outputs:
        return []
    if len(outputs[0]) == 1:
        return [1 if row[0].data > 0 else 0 for row in outputs]
    return [_argmax([v.data for v in row]) for row in outputs]


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
) -> History:
    """Train for `steps` steps; loss = data loss + alpha Σ p², lr decays linearly to lr·end_factor.

    loss_name defaults to "hinge" for two classes and "cross_entropy" for more. batch_size=None
    uses every training point in every step; otherwise each step draws a minibatch (seeded).
    callback, if given, receives each step's record as soon as it is measured.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type_name(mlp)}")
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"dataset must be a Dataset such as load_dataset('moons', 200) returns, "
            f"got {type_name(dataset)}"
        )
    steps = check_size(steps, "steps")
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
    rng = random.Random(seed)
    schedule = LinearSchedule(optimizer, total_steps=steps, end_factor=lr_end_factor)
    parameters = mlp.parameters()
    history = History(loss_name)

    for step in range(steps):
        start = time.perf_counter()
        if batch_size is None:
            X, y = dataset.X_train, dataset.y_train
        else:
            batch = rng.sample(range(n_train), batch_size)
            X, y = [dataset.X_train[i] for i in batch], [dataset.y_train[i] for i in batch]
        outputs = [mlp.forward(x) for x in X]
        loss = data_loss(outputs, y, loss_name) + losses.l2(parameters, alpha=alpha)
        optimizer.zero_grad()
        loss.backward()
        seconds = time.perf_counter() - start

        # Both accuracies are of the parameters this step's loss was computed with, so the test
        # set is evaluated before the update (and timed on its own).
        train_accuracy = data.accuracy(classes(outputs), y)
        start = time.perf_counter()
        test_accuracy = _accuracy_or_none(mlp, dataset.X_test, dataset.y_test)
        eval_seconds = time.perf_counter() - start

        start = time.perf_counter()
        lr = optimizer.lr
        optimizer.step()
        schedule.step()
        seconds += time.perf_counter() - start

        record = StepRecord(
            step, loss.data, train_accuracy, test_accuracy, lr, seconds, eval_seconds
        )
        history.steps.append(record)
        if callback is not None:
            callback(record)

    history.final_train_accuracy = data.accuracy(predict(mlp, dataset.X_train), dataset.y_train)
    history.final_test_accuracy = _accuracy_or_none(mlp, dataset.X_test, dataset.y_test)
    return history


def _accuracy_or_none(mlp: MLP, X: Points, y: Labels) -> float | None:
    """accuracy of mlp on (X, y), or None for an empty test set."""
    return data.accuracy(predict(mlp, X), y) if X else None
