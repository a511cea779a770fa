"""A playground run's setup: everything that decides it except the weights, read from URL text.

The page keeps the setup in its URL (after the #) as ``key=value`` pairs; the server reads them
here with the command line's own checks (gradengine.run_settings, which both use), so a size
the command line refuses is refused with the same message.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urlencode

from gradengine.run_settings import (
    DEFAULT_LR,
    Settings,
    fraction,
    integer_in,
    layer_sizes,
    positive_float,
    too_big,
)

DATASETS = ("moons", "circles", "spiral", "xor", "blobs", "own")
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
OUTPUTS = ("linear", "tanh")
LOSSES = ("hinge", "mse", "bce")
OPTIMIZERS = ("sgd", "adam")
ENGINES = ("eager", "compiled")
#: The most points a user may add by hand (each is sent with every frame).
MAX_ADDED_POINTS = 1000
#: The plane the points live on: [-LIMIT, LIMIT] in both coordinates.
PLANE_LIMIT = 10.0
# Beyond the command line's limits: the page redraws every point and every neuron's map many
# times a second (2-64-64-1, 4,417 parameters: a frame takes about 35 ms to compute and send,
# an eager step 0.2 s, on a 2-core machine, growing with the parameters).
MAX_PAGE_POINTS = 2000
MAX_PAGE_PARAMETERS = 5000

T = TypeVar("T")


@dataclass(frozen=True)
class Setup:
    """Data, network, optimizer and engine of a run: what the URL holds."""

    dataset: str = "moons"
    samples: int = 200
    noise: float = 0.1
    test_fraction: float = 0.2
    seed: int = 1337
    hidden: tuple[int, ...] = (16, 16)
    activations: tuple[str, ...] = ("relu", "relu")
    output: str = "linear"
    loss: str = "hinge"
    optimizer: str = "adam"
    momentum: float = 0.9
    lr: float = 0.05
    batch: int = 0  # 0: every training point in every step
    l2: float = 1e-4
    engine: str = "compiled"
    added: tuple[tuple[float, float, int], ...] = field(default=())
    removed: tuple[int, ...] = field(default=())

    def query(self) -> str:
        """The setup as URL text: key=value pairs joined by &."""
        return urlencode(
            {
                "dataset": self.dataset,
                "samples": self.samples,
                "noise": repr(self.noise),
                "test": repr(self.test_fraction),
                "seed": self.seed,
                "hidden": ",".join(map(str, self.hidden)),
                "act": ",".join(self.activations),
                "out": self.output,
                "loss": self.loss,
                "opt": self.optimizer,
                "momentum": repr(self.momentum),
                "lr": repr(self.lr),
                "batch": self.batch,
                "l2": repr(self.l2),
                "engine": self.engine,
                "points": ";".join(f"{x!r}:{y!r}:{c}" for x, y, c in self.added),
                "removed": ",".join(map(str, self.removed)),
            },
            safe=",:;",
        )

    def with_points(
        self, added: tuple[tuple[float, float, int], ...], removed: tuple[int, ...]
    ) -> Setup:
        """The same setup with other hand-made points and removed points."""
        return replace(self, added=added, removed=tuple(sorted(removed)))


def _read(
    fields: Mapping[str, str], key: str, flag: str, parse: Callable[[str], T], default: T
) -> T:
    """fields[key] parsed as the command line parses flag, or default when absent or empty."""
    text = fields.get(key, "")
    if text == "":
        return default
    try:
        return parse(text)
    except argparse.ArgumentTypeError as error:
        raise ValueError(f"argument {flag}: {error}") from None


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {text[:40]!r} (choose from {', '.join(options)})"
            )
        return text

    return parse


def _number_in(low: float, high: float) -> Callable[[str], float]:
    """A number with low <= x <= high."""

    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not (math.isfinite(number) and low <= number <= high):
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}, got {text[:40]!r}"
            )
        return number

    return parse


def _activations(text: str) -> tuple[str, ...]:
    names = tuple(text.split(","))
    for name in names:
        _choice(HIDDEN_ACTIVATIONS)(name)
    return names


def _points(text: str) -> tuple[tuple[float, float, int], ...]:
    """x:y:c;x:y:c... with |x|, |y| <= PLANE_LIMIT and class c 0 or 1."""
    points = []
    for i, part in enumerate(text.split(";")):
        pieces = part.split(":")
        if len(pieces) != 3 or pieces[2] not in ("0", "1"):
            raise argparse.ArgumentTypeError(
                f"expected points as x:y:class (class 0 or 1), got {part[:40]!r}"
            )
        x, y = (_number_in(-PLANE_LIMIT, PLANE_LIMIT)(p) for p in pieces[:2])
        points.append((x, y, int(pieces[2])))
        if i + 1 > MAX_ADDED_POINTS:
            raise argparse.ArgumentTypeError(f"expected at most {MAX_ADDED_POINTS} added points")
    return tuple(points)


def _indices(text: str) -> tuple[int, ...]:
    parse = integer_in(0, 100_000 - 1)
    return tuple(sorted({parse(part) for part in text.split(",")}))


def parse_setup(fields: Mapping[str, str]) -> Setup:
    """The setup in fields (URL key=value text); ValueError naming the field, as the CLI would."""
    base = Setup()
    dataset = _read(fields, "dataset", "--dataset", _choice(DATASETS), base.dataset)
    hidden = tuple(_read(fields, "hidden", "--hidden", layer_sizes, list(base.hidden)))
    default_activations = tuple(
        base.activations[0] if i >= len(base.activations) else base.activations[i]
        for i in range(len(hidden))
    )
    activations = _read(fields, "act", "--activation", _activations, default_activations)
    if len(activations) != len(hidden):
        raise ValueError(
            f"argument --activation: expected one activation per hidden layer ({len(hidden)}), "
            f"got {len(activations)}"
        )
    optimizer = _read(fields, "opt", "--optimizer", _choice(OPTIMIZERS), base.optimizer)
    setup = Setup(
        dataset=dataset,
        samples=_read(fields, "samples", "--samples", integer_in(10, 100_000), base.samples),
        noise=_read(fields, "noise", "--noise", _number_in(0, 2), base.noise),
        test_fraction=_read(fields, "test", "--test-fraction", fraction, base.test_fraction),
        seed=_read(fields, "seed", "--seed", integer_in(0, 2**32 - 1), base.seed),
        hidden=hidden,
        activations=activations,
        output=_read(fields, "out", "--output", _choice(OUTPUTS), base.output),
        loss=_read(fields, "loss", "--loss", _choice(LOSSES), base.loss),
        optimizer=optimizer,
        momentum=_read(fields, "momentum", "--momentum", _number_in(0, 0.999), base.momentum),
        lr=_read(fields, "lr", "--lr", positive_float, DEFAULT_LR[optimizer]),
        batch=_read(fields, "batch", "--batch-size", integer_in(0, 100_000), base.batch),
        l2=_read(fields, "l2", "--l2", _number_in(0, 1), base.l2),
        engine=_read(fields, "engine", "--engine", _choice(ENGINES), base.engine),
        added=_read(fields, "points", "--points", _points, ()),
        removed=_read(fields, "removed", "--removed", _indices, ()),
    )
    settings = Settings(
        dataset="moons",
        samples=setup.samples + len(setup.added),
        hidden=list(setup.hidden),
        optimizer=setup.optimizer,
        lr=setup.lr,
        steps=1,
        seed=setup.seed,
        test_fraction=setup.test_fraction,
        engine=setup.engine,
    )
    problem = too_big(settings, 1)
    if problem:
        raise ValueError(problem)
    if setup.samples > MAX_PAGE_POINTS:
        raise ValueError(
            f"argument --samples: the playground draws at most {MAX_PAGE_POINTS:,} points live, "
            f"got {setup.samples:,} (gradengine train takes up to 100,000)"
        )
    sizes = [2, *setup.hidden, 1]
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    if parameters > MAX_PAGE_PARAMETERS:
        raise ValueError(
            f"argument --hidden: {list(setup.hidden)} makes an MLP of {parameters:,} parameters;"
            f" the playground draws networks of at most {MAX_PAGE_PARAMETERS:,} live "
            "(gradengine train takes larger ones)"
        )
    return setup
