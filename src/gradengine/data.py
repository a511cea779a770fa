"""Toy 2-D datasets for classification, in pure Python, plus train_test_split and accuracy.

Each generator returns (X, y): X a list of [x1, x2] points, y a list of int class labels
0..k-1. Parameters and conventions follow scikit-learn's generators of the same name; without
noise and shuffling, make_moons and make_circles return exactly scikit-learn's points. With a
random_state (an int or a random.Random) the output is reproducible, though the random numbers
differ from scikit-learn's (which come from NumPy). A generator makes at most MAX_SAMPLES
(10,000,000) samples, and refuses a larger size with a ValueError before it starts.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Sequence

from gradengine.checks import as_float, describe, type_name

Points = list[list[float]]
Labels = list[int]
RandomState = int | random.Random | None

#: The most samples (and classes or centers) a generator makes: 10**7 points already take
#: about 2 GB as Python lists, and a mistyped size should fail at once, not exhaust memory.
MAX_SAMPLES = 10**7


# -- argument checks ------------------------------------------------------------------------------


def _rng(random_state: object) -> random.Random:
    """A random.Random: fresh for None, seeded for an int, the same object for a Random."""
    if random_state is None:
        return random.Random()
    if isinstance(random_state, random.Random):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return random.Random(int(random_state))
    raise TypeError(
        f"random_state must be None, an int seed or a random.Random, got {describe(random_state)}"
    )


def _count(n: object, what: str, *, low: int = 1) -> int:
    """n as an int with low <= n <= MAX_SAMPLES."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an int >= {low}, got {describe(n)}")
    count = int(n)
    if count < low:
        raise ValueError(f"{what} must be an int >= {low}, got {count}")
    if count > MAX_SAMPLES:
        raise ValueError(f"{what} must be at most MAX_SAMPLES = {MAX_SAMPLES:,}, got {count}")
    return count


def _split_in_two(n_samples: object) -> tuple[int, int]:
    """(n_outer, n_inner): n // 2 and the rest for an int, or the pair itself, as scikit-learn."""
    if isinstance(n_samples, tuple):
        if len(n_samples) != 2:
            raise ValueError(f"n_samples as a tuple must be (n_outer, n_inner), got {n_samples}")
        outer = _count(n_samples[0], "n_samples[0]", low=0)
        inner = _count(n_samples[1], "n_samples[1]", low=0)
        if outer + inner == 0:
            raise ValueError("n_samples must ask for at least one sample, got (0, 0)")
        if outer + inner > MAX_SAMPLES:
            raise ValueError(
                f"n_samples must ask for at most MAX_SAMPLES = {MAX_SAMPLES:,} samples in all, "
                f"got {outer} + {inner}"
            )
        return outer, inner
    n = _count(n_samples, "n_samples")
    return n // 2, n - n // 2


def _noise(noise: object) -> float:
    """The standard deviation of the Gaussian noise: 0 for None, else a finite number >= 0."""
    if noise is None:
        return 0.0
    std = as_float(noise, "noise")
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"noise must be None or a finite number >= 0, got {std!r}")
    return std


def _even_split(n: int, k: int) -> list[int]:
    """n samples over k groups: n // k each, one more for the first n % k groups."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


# -- shared steps ---------------------------------------------------------------------------------


def _linspace(stop: float, num: int, *, endpoint: bool = True) -> list[float]:
    """num evenly spaced numbers from 0 to stop, rounded exactly as numpy.linspace(0, stop, num)."""
    div = num - 1 if endpoint else num
    if div <= 0:
        return [0.0] * num
    step = stop / div
    points = [i * step for i in range(num)]
    if endpoint:
        points[-1] = stop
    return points


def _finish(
    X: Points, y: Labels, rng: random.Random, *, shuffle: bool, noise: float
) -> tuple[Points, Labels]:
    """Shuffle (X, y) together if asked, then add Gaussian noise of std `noise` to every x."""
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {type_name(shuffle)}")
    if shuffle:
        order = list(range(len(y)))
        rng.shuffle(order)
        X, y = [X[i] for i in order], [y[i] for i in order]
    if noise > 0:
        X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return X, y


# -- the generators -------------------------------------------------------------------------------


def make_moons(
    n_samples: int | tuple[int, int] = 100,
    *,
    shuffle: bool = True,
    noise: float | None = None,
    random_state: RandomState = None,
) -> tuple[Points, Labels]:
    """Two interleaving half circles: (cos t, sin t) labelled 0, (1 - cos t, 0.5 - sin t) 1."""
    n_out, n_in = _split_in_two(n_samples)
    std, rng = _noise(noise), _rng(random_state)
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(math.pi, n_out)]
    inner = [[1 - math.cos(t), 1 - math.sin(t) - 0.5] for t in _linspace(math.pi, n_in)]
    return _finish(outer + inner, [0] * n_out + [1] * n_in, rng, shuffle=shuffle, noise=std)


def make_circles(
    n_samples: int | tuple[int, int] = 100,
    *,
    shuffle: bool = True,
    noise: float | None = None,
    random_state: RandomState = None,
    factor: float = 0.8,
) -> tuple[Points, Labels]:
    """A unit circle labelled 0 around a circle of radius `factor` labelled 1."""
    n_out, n_in = _split_in_two(n_samples)
    std, rng = _noise(noise), _rng(random_state)
    scale = as_float(factor, "factor")
    if not 0 <= scale < 1:
        raise ValueError(f"factor (inner radius / outer radius) must be in [0, 1), got {scale!r}")
    angles_out = _linspace(2 * math.pi, n_out, endpoint=False)
    angles_in = _linspace(2 * math.pi, n_in, endpoint=False)
    outer = [[math.cos(t), math.sin(t)] for t in angles_out]
    inner = [[math.cos(t) * scale, math.sin(t) * scale] for t in angles_in]
    return _finish(outer + inner, [0] * n_out + [1] * n_in, rng, shuffle=shuffle, noise=std)


def _centers(centers: object, rng: random.Random) -> list[tuple[float, float]]:
    """k centers uniform in the box [-10, 10]^2 for an int k, or the given list of [x1, x2]."""
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _count(centers, "centers")
        return [(rng.uniform(-10.0, 10.0), rng.uniform(-10.0, 10.0)) for _ in range(k)]
    if not isinstance(centers, Sequence) or isinstance(centers, str) or len(centers) == 0:
        raise TypeError(
            f"centers must be a number of centers or a non-empty list of [x1, x2] points, "
            f"got {describe(centers)}"
        )
    points = []
    for i, c in enumerate(centers):
        if not isinstance(c, Sequence) or len(c) != 2:
            raise ValueError(f"centers[{i}] must be a point [x1, x2], got {c!r:.60}")
        x1, x2 = as_float(c[0], f"centers[{i}][0]"), as_float(c[1], f"centers[{i}][1]")
        if not (math.isfinite(x1) and math.isfinite(x2)):
            raise ValueError(f"centers[{i}] must be finite, got {c!r:.60}")
        points.append((x1, x2))
    return points


def make_blobs(
    n_samples: int = 100,
    *,
    centers: int | Sequence[Sequence[float]] = 3,
    cluster_std: float | Sequence[float] = 1.0,
    shuffle: bool = True,
    random_state: RandomState = None,
) -> tuple[Points, Labels]:
    """Gaussian blobs: class j is centers[j] + N(0, cluster_std[j]^2) in each coordinate."""
    n = _count(n_samples, "n_samples")
    rng = _rng(random_state)
    means = _centers(centers, rng)
    k = len(means)
    if isinstance(cluster_std, Sequence) and not isinstance(cluster_std, str):
        if len(cluster_std) != k:
            raise ValueError(
                f"cluster_std needs one value per center ({k}), got {len(cluster_std)}"
            )
        stds = [as_float(s, f"cluster_std[{j}]") for j, s in enumerate(cluster_std)]
    else:
        stds = [as_float(cluster_std, "cluster_std")] * k
    for j, s in enumerate(stds):
        if not (math.isfinite(s) and s >= 0):
            raise ValueError(f"cluster_std must be finite and >= 0, got {s!r} for center {j}")
    X: Points = []
    y: Labels = []
    for j, count in enumerate(_even_split(n, k)):
        (c1, c2), s = means[j], stds[j]
        X += [[c1 + rng.gauss(0.0, s), c2 + rng.gauss(0.0, s)] for _ in range(count)]
        y += [j] * count
    return _finish(X, y, rng, shuffle=shuffle, noise=0.0)


def make_xor(
    n_samples: int = 100, *, noise: float | None = None, random_state: RandomState = None
) -> tuple[Points, Labels]:
    """Points uniform in [-1, 1]^2, labelled 1 where x1 and x2 have opposite signs (x1 x2 < 0)."""
    n = _count(n_samples, "n_samples")
    std, rng = _noise(noise), _rng(random_state)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n)]
    y = [1 if a * b < 0 else 0 for a, b in X]
    return _finish(X, y, rng, shuffle=False, noise=std)


def make_spiral(
    n_samples: int = 100,
    *,
    n_classes: int = 2,
    noise: float | None = None,
    random_state: RandomState = None,
) -> tuple[Points, Labels]:
    """n_classes interleaved spiral arms: class j at radius r in (0, 1], angle 2πj/k + 4r."""
    n = _count(n_samples, "n_samples")
    k = _count(n_classes, "n_classes")
    std, rng = _noise(noise), _rng(random_state)
    X: Points = []
    y: Labels = []
    for j, count in enumerate(_even_split(n, k)):
        for i in range(count):
            r = (i + 1) / count
            t = 2 * math.pi * j / k + 4 * r
            X.append([r * math.cos(t), r * math.sin(t)])
        y += [j] * count
    return _finish(X, y, rng, shuffle=False, noise=std)


# -- splitting and scoring ------------------------------------------------------------------------


def _sequence(xs: object, what: str) -> Sequence[object]:
    """xs if it is a list-like sequence (not a string)."""
    if not isinstance(xs, Sequence) or isinstance(xs, (str, bytes)):
        raise TypeError(f"{what} must be a list, got {describe(xs)}")
    return xs


def train_test_split(
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    *,
    test_size: float = 0.25,
    random_state: RandomState = None,
) -> tuple[Points, Points, Labels, Labels]:
    """(X_train, X_test, y_train, y_test): a random ceil(test_size * n) samples are held out."""
    _sequence(X, "X")
    _sequence(y, "y")
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y must have the same length, got {n} and {len(y)}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        fraction = as_float(test_size, "test_size")
        if not 0 < fraction < 1:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {fraction!r}")
        n_test = math.ceil(fraction * n)
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size={test_size!r} of {n} samples leaves {n_test} for testing and "
            f"{n - n_test} for training; both need at least one"
        )
    order = list(range(n))
    _rng(random_state).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return (
        [list(X[i]) for i in train],
        [list(X[i]) for i in test],
        [y[i] for i in train],
        [y[i] for i in test],
    )


def accuracy(predicted: Sequence[int], labels: Sequence[int]) -> float:
    """The fraction of i with predicted[i] == labels[i]."""
    _sequence(predicted, "predicted")
    _sequence(labels, "labels")
    if len(predicted) != len(labels):
        raise ValueError(
            f"predicted and labels must have the same length, got {len(predicted)} and "
            f"{len(labels)}"
        )
    if not labels:
        raise ValueError("accuracy needs at least one label, got empty lists")
    for what, xs in (("predicted", predicted), ("labels", labels)):
        for i, c in enumerate(xs):
            if not isinstance(c, numbers.Integral):
                raise TypeError(
                    f"{what}[{i}] must be an int class label, got {describe(c)} "
                    "(turn scores into classes first, e.g. 1 if score > 0 else 0)"
                )
    return sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)
