"""A training run's settings and the checks on them, shared by the command line and the playground.

Settings is what decides a run; integer_in, positive_float, fraction and layer_sizes read one
setting from text (as argparse types: a wrong one is reported as "argument --flag: expected
..."); too_big says why a run would not fit this machine (its estimated memory and time).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

#: The learning rate of each optimizer when none is given.
DEFAULT_LR = {"sgd": 0.5, "adam": 0.05}


@dataclass(frozen=True)
class Settings:
    """Everything that decides a training run."""

    dataset: str
    samples: int
    hidden: list[int]
    optimizer: str
    lr: float
    steps: int
    seed: int
    test_fraction: float
    activation: str = "relu"
    classes: int = 2
    engine: str = "auto"  # how the steps run (train.fit's engine, or auto), not what they compute


# -- argument types: each names what it expects, so argparse reports "argument --flag: ..." -----


def integer_in(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum (and <= maximum, if given)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if number < minimum or (maximum is not None and number > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise argparse.ArgumentTypeError(f"expected at least {minimum}{upper}, got {number}")
        return number

    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    number = _float(text)
    if not (number > 0 and math.isfinite(number)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return number


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    number = _float(text)
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1 (exclusive), got {text!r}"
        )
    return number


def layer_sizes(text: str) -> list[int]:
    """An argparse type: comma-separated hidden layer sizes such as 16,16."""
    parts = text.split(",")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if not sizes or any(size < 1 or size > 1024 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes from 1 to 1024 such as 16,16, got {text!r}"
        )
    return sizes


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


# -- what a run needs, before it starts ------------------------------------------------------------

# One training step builds, for every training point, one node per neuron whose parents and
# local derivatives are tuples as long as its inputs and weights (nn.Neuron, gradengine.fast).
# Fitted to tracemalloc's peak over a second step of 2-24-24-1 x 100, 2-48-1 x 150, 2-16-16-1 x
# 200, 2-64-1 x 100 and 2-8-8-8-1 x 300 points (python 3.11): within 10% on all five.
BYTES_PER_EDGE = 25  # per point and parameter: its place in a neuron's parents and derivatives
BYTES_PER_NEURON = 360  # per point and neuron: the node, its tuples and the walk's share
BYTES_PER_PARAMETER = 140  # once: each weight's share of the step (optimizer state, snapshots)
# The compiled engine records one sample's graph (its share: per parameter, once) and replays it
# over the batch, each neuron's values and gradients a row of numbers per point (the NumPy
# backend's arrays and scratch, or the Python backend's lists of floats: the larger of the two).
COMPILED_BYTES_PER_EDGE = 600  # per parameter, once: the recording of one sample
COMPILED_BYTES_PER_NODE = 50  # per point and neuron (measured: NumPy 27, Python 45)
SECONDS_PER_EDGE = 0.4e-6  # per point, parameter and step (forward, backward and update)
SECONDS_PER_NODE = 6e-6  # per point, neuron and step
#: A run estimated to take longer than this is refused: reduce --steps, --samples or --hidden.
MAX_RUN_SECONDS = 24 * 3600
#: The share of the available memory a run may plan to use (the rest is Python and the plots).
MEMORY_SHARE = 0.8


@dataclass(frozen=True)
class Estimate:
    """What a run will need: its parameters, peak memory in bytes and time in seconds."""

    parameters: int
    bytes: int
    seconds: float


def estimate(settings: Settings, n_outputs: int) -> Estimate:
    """The parameters, peak memory and training time of settings, from the constants above."""
    sizes = [2, *settings.hidden, n_outputs]
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    neurons = sum(sizes[1:])
    n_train = settings.samples - math.ceil(settings.test_fraction * settings.samples)
    if settings.engine == "compiled":
        peak = COMPILED_BYTES_PER_EDGE * parameters
        peak += settings.samples * COMPILED_BYTES_PER_NODE * neurons
    else:  # the test set is evaluated one point at a time: only the training graph counts
        per_point = BYTES_PER_EDGE * parameters + BYTES_PER_NEURON * neurons
        peak = n_train * per_point + BYTES_PER_PARAMETER * parameters
    per_step = settings.samples * (SECONDS_PER_EDGE * parameters + SECONDS_PER_NODE * neurons)
    return Estimate(parameters, peak, per_step * settings.steps)


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (MemAvailable on Linux), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def size_text(n: float) -> str:
    """n bytes as people read them: 512 bytes, 1.5 MB, 8.0 GB."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def time_text(seconds: float) -> str:
    """seconds as people read them: 45 s, 12 min, 3.5 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def too_big(settings: Settings, n_outputs: int) -> str | None:
    """Why the run described by settings cannot fit this machine, or None if it can."""
    from gradengine.nn import MAX_PARAMETERS

    need = estimate(settings, n_outputs)
    if need.parameters > MAX_PARAMETERS:
        return (
            f"argument --hidden: {settings.hidden} makes an MLP of {need.parameters:,} "
            f"parameters; the limit is {MAX_PARAMETERS:,}"
        )
    free = available_memory()
    if free is not None and need.bytes > MEMORY_SHARE * free:
        return (
            f"arguments --hidden/--samples: this run needs about {size_text(need.bytes)} of "
            f"memory (estimated), more than the {size_text(free)} available; use fewer "
            "--samples or smaller --hidden layers"
        )
    if need.seconds > MAX_RUN_SECONDS:
        return (
            f"arguments --steps/--samples/--hidden: this run would take about "
            f"{time_text(need.seconds)} (estimated), more than the {time_text(MAX_RUN_SECONDS)}"
            " allowed; use fewer --steps or --samples, or smaller --hidden layers"
        )
    return None
