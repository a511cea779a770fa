"""One playground run: the data, the MLP, the optimizer and the engine, stepped on request.

A step is one optimizer step: draw the batch, compute its loss and gradients, update. Every
number a frame reports is computed by gradengine: the loss by the step itself, the accuracies
and heatmaps by batched programs reading the current weights (engines.Scores).
"""

from __future__ import annotations

import json
import math
import random
import threading
from typing import Any

from gradengine import data
from gradengine.engine import Value
from gradengine.nn import MLP
from gradengine.optim import SGD, Adam, Optimizer
from gradengine.playground import engines
from gradengine.playground.curve import Curve
from gradengine.playground.points import generate, make_points
from gradengine.playground.setup import MAX_ADDED_POINTS, PLANE_LIMIT, Setup

#: The main heatmap is GRID x GRID points; each neuron's small map every other one of them.
GRID = 32
NO_POINTS = "there are no training points: add some by clicking on the plane"
#: A run keeps at most this many edits (weights set, points added or removed) for its export.
MAX_EDITS = 10_000


def build_model(setup: Setup) -> MLP:
    """MLP(2, [*hidden, 1], seed), each hidden layer with its activation, the output with its."""
    return MLP(
        2,
        [*setup.hidden, 1],
        seed=setup.seed,
        activation=[*setup.activations, setup.output],
    )


def build_optimizer(setup: Setup, mlp: MLP) -> Optimizer:
    """SGD (with the setup's momentum) or Adam over the MLP's parameters."""
    if setup.optimizer == "sgd":
        return SGD(mlp.parameters(), lr=setup.lr, momentum=setup.momentum)
    return Adam(mlp.parameters(), lr=setup.lr)


def _rounded(xs: list[float]) -> list[float | str]:
    """Each x to 4 decimals for the heatmaps, "nan" / "inf" / "-inf" when not finite."""
    if all(map(math.isfinite, xs)):  # the usual case, in C
        return [round(x, 4) for x in xs]
    return [round(x, 4) if math.isfinite(x) else str(x) for x in xs]


def _safe(x: float | None) -> float | str | None:
    """x, or "nan" / "inf" / "-inf" (JSON has no such numbers)."""
    return x if x is None or math.isfinite(x) else str(x)


class Run:
    """A run as the page drives it: step(), frame(), and the edits (weights, points)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = self.first_setup = setup
        self.lock = threading.Lock()
        self.generated = len(generate(setup)[1])
        self.points = make_points(setup)
        self.mlp = build_model(setup)
        self.parameters = self.mlp.parameters()
        self.optimizer = build_optimizer(setup, self.mlp)
        self.stepper = engines.make_stepper(
            setup.engine, self.mlp, setup.loss, setup.l2, self.optimizer
        )
        self.rng = random.Random(setup.seed)
        self.steps = 0
        self.last_loss: float | None = None
        self.problem: str | None = None
        self.edits: list[dict[str, Any]] = []
        self.curves = {name: Curve() for name in ("loss", "test_loss", "train_acc", "test_acc")}
        x0, x1, y0, y1 = self.points.box
        self.grid_points = [
            [x0 + (x1 - x0) * (i + 0.5) / GRID, y1 - (y1 - y0) * (j + 0.5) / GRID]
            for j in range(GRID)
            for i in range(GRID)
        ]
        self.grid = engines.Scores(self.mlp, self.grid_points, neurons=True)
        self._data_scores: engines.Scores | None = None
        self.evaluation = self._evaluate()

    # -- training ---------------------------------------------------------------------------------

    def _batch(self) -> tuple[list[list[float]], list[int]]:
        train = self.points.train
        size = self.setup.batch
        if size == 0 or size >= len(train):
            chosen = train
        else:
            chosen = [train[i] for i in self.rng.sample(range(len(train)), size)]
        return [[x, y] for x, y, _ in chosen], [c for _, _, c in chosen]

    def step(self, count: int = 1) -> None:
        """count optimizer steps; a step whose gradients are not finite stops the run."""
        if not self.points.train:
            self.problem = NO_POINTS
            return
        if self.problem == NO_POINTS:  # points were added since
            self.problem = None
        try:
            for _ in range(count):
                if self.problem:
                    return
                X, labels = self._batch()
                try:
                    loss = self.stepper.step(X, labels)
                except FloatingPointError as error:
                    self.problem = (
                        f"training diverged at step {self.steps + 1}: {error}; try a smaller lr"
                    )
                    return
                self.steps += 1
                self.last_loss = loss
                self.curves["loss"].add(self.steps, loss)
        finally:
            self.stepper.sync()  # the Values, which the page and the export read, up to date
        self.evaluation = self._evaluate()
        evaluation = self.evaluation
        self.curves["test_loss"].add(self.steps, evaluation["test_loss"])
        self.curves["train_acc"].add(self.steps, evaluation["train_accuracy"])
        self.curves["test_acc"].add(self.steps, evaluation["test_accuracy"])

    def _evaluate(self) -> dict[str, float | None]:
        """Accuracies of the current weights on train and test, and the test set's data loss."""
        if self._data_scores is None:
            both = self.points.train + self.points.test
            self._data_scores = engines.Scores(self.mlp, [p[:2] for p in both], neurons=False)
        scores = self._data_scores.columns()[-1]
        n_train = len(self.points.train)
        result: dict[str, float | None] = {}
        for name, part, s in (
            ("train", self.points.train, scores[:n_train]),
            ("test", self.points.test, scores[n_train:]),
        ):
            labels = [c for _, _, c in part]
            predicted = [1 if v > 0 else 0 for v in s]
            result[f"{name}_accuracy"] = data.accuracy(predicted, labels) if labels else None
            if labels:
                wanted = engines.targets(labels, self.setup.loss)
                loss = engines.data_loss([Value(v) for v in s], wanted, self.setup.loss)
                result[f"{name}_loss"] = loss.data
            else:
                result[f"{name}_loss"] = None
        return result

    # -- edits ------------------------------------------------------------------------------------

    def _edit(self, edit: dict[str, Any]) -> None:
        if len(self.edits) >= MAX_EDITS:
            raise ValueError(f"a run keeps at most {MAX_EDITS} edits; press Reset to start anew")
        self.edits.append({"step": self.steps, **edit})

    def set_parameter(self, index: int, value: float) -> None:
        """Parameter index (in mlp.parameters() order) := value."""
        if not 0 <= index < len(self.parameters):
            raise ValueError(
                f"parameter must be an index from 0 to {len(self.parameters) - 1}, got {index}"
            )
        if not math.isfinite(value) or abs(value) > 1e6:
            raise ValueError(f"a weight must be a finite number within ±1e6, got {value!r}")
        self._edit({"set": [index, value]})
        self.parameters[index].data = value
        self.stepper.reload()
        self.evaluation = self._evaluate()

    def add_point(self, x: float, y: float, label: int) -> None:
        """A training point of class label at (x, y)."""
        if not (abs(x) <= PLANE_LIMIT and abs(y) <= PLANE_LIMIT):
            raise ValueError(f"a point must lie within ±{PLANE_LIMIT:g}, got ({x!r}, {y!r})")
        if label not in (0, 1):
            raise ValueError(f"a point's class must be 0 or 1, got {label!r}")
        if len(self.points.added()) >= MAX_ADDED_POINTS:
            raise ValueError(f"at most {MAX_ADDED_POINTS} points can be added by hand")
        self._edit({"add": [x, y, label]})
        self.points.train.append((x, y, label))
        self.points.train_origin.append(-1)
        self._points_changed()

    def remove_point(self, part: str, index: int) -> None:
        """Remove the index-th point of part ("train" or "test")."""
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r:.40}")
        points = self.points.train if part == "train" else self.points.test
        origins = self.points.train_origin if part == "train" else self.points.test_origin
        if not 0 <= index < len(points):
            raise ValueError(f"there is no {part} point {index}: it has {len(points)}")
        self._edit({"remove": [part, index]})
        del points[index]
        del origins[index]
        self._points_changed()

    def _points_changed(self) -> None:
        self._data_scores = None
        self.setup = self.setup.with_points(
            self.points.added(), self.points.removed(self.generated)
        )
        self.evaluation = self._evaluate()

    # -- what the page shows ----------------------------------------------------------------------

    def frame(self, focus: int | None = None) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready data; focus: a neuron's full-size map."""
        columns = self.grid.columns()
        half = [j * GRID + i for j in range(0, GRID, 2) for i in range(0, GRID, 2)]
        n_neurons = self.grid.width
        neurons = [_rounded([column[i] for i in half]) for column in columns]
        frame: dict[str, Any] = {
            "step": self.steps,
            "loss": _safe(self.last_loss),
            **{key: _safe(value) for key, value in self.evaluation.items()},
            "problem": self.problem,
            "grid": GRID,
            "box": list(self.points.box),
            "output": _rounded(columns[-1]),
            "neurons": neurons,
            "sizes": [2, *self.setup.hidden, 1],
            "parameters": [[_safe(p.data), _safe(p.grad)] for p in self.parameters],
            "train": [list(p) for p in self.points.train],
            "test": [list(p) for p in self.points.test],
            "curves": {name: curve.as_list() for name, curve in self.curves.items()},
            "setup": self.setup.query(),
            "engine": self.setup.engine,
            "edits": len(self.edits),
        }
        if focus is not None and 0 <= focus < n_neurons:
            frame["focus"] = [focus, _rounded(columns[focus])]
        return frame

    def model_json(self) -> str:
        """The model as MLP.save writes it (each layer's activation included)."""
        return json.dumps(self.mlp.to_dict(), indent=1) + "\n"
