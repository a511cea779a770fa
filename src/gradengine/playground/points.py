"""The points of a playground run: the generated dataset, split once, minus removed, plus added."""

from __future__ import annotations

from dataclasses import dataclass, field

from gradengine import data
from gradengine.playground.setup import PLANE_LIMIT, Setup

Point = tuple[float, float, int]


def generate(setup: Setup) -> tuple[list[list[float]], list[int]]:
    """The setup's dataset (two classes), before any point is added or removed."""
    n, noise, seed = setup.samples, setup.noise, setup.seed
    if setup.dataset == "moons":
        return data.make_moons(n, noise=noise, random_state=seed)
    if setup.dataset == "circles":
        return data.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    if setup.dataset == "spiral":
        return data.make_spiral(n, n_classes=2, noise=noise, random_state=seed)
    if setup.dataset == "xor":
        return data.make_xor(n, noise=noise, random_state=seed)
    if setup.dataset == "blobs":
        centers = [[-1.0, -1.0], [1.0, 1.0]]
        return data.make_blobs(n, centers=centers, cluster_std=0.5 + noise, random_state=seed)
    return [], []


@dataclass
class Points:
    """Train and test points, each remembering where it came from (a generated index, or -1)."""

    train: list[Point] = field(default_factory=list)
    test: list[Point] = field(default_factory=list)
    train_origin: list[int] = field(default_factory=list)
    test_origin: list[int] = field(default_factory=list)
    box: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)

    def added(self) -> tuple[Point, ...]:
        """The points made by hand (all in the training set)."""
        return tuple(p for p, o in zip(self.train, self.train_origin, strict=True) if o < 0)

    def removed(self, generated: int) -> tuple[int, ...]:
        """The generated indices no longer present."""
        present = {o for o in self.train_origin + self.test_origin if o >= 0}
        return tuple(i for i in range(generated) if i not in present)


def make_points(setup: Setup) -> Points:
    """Generate, split (train_test_split with the seed), drop the removed, append the added."""
    X, y = generate(setup)
    points = Points(box=plane(X))
    if X:
        rows = [[a, b, float(i)] for i, (a, b) in enumerate(X)]
        train, test, y_train, y_test = data.train_test_split(
            rows, y, test_size=setup.test_fraction, random_state=setup.seed
        )
        removed = set(setup.removed)
        for part, labels, into, origin in (
            (train, y_train, points.train, points.train_origin),
            (test, y_test, points.test, points.test_origin),
        ):
            for (a, b, i), c in zip(part, labels, strict=True):
                if int(i) not in removed:
                    into.append((a, b, c))
                    origin.append(int(i))
    for point in setup.added:
        points.train.append(point)
        points.train_origin.append(-1)
    return points


def plane(X: list[list[float]]) -> tuple[float, float, float, float]:
    """A square around the points with a margin (x0, x1, y0, y1); [-2, 2]² without points."""
    if not X:
        return (-2.0, 2.0, -2.0, 2.0)
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 * 1.15 + 0.25
    half = min(half, PLANE_LIMIT)
    cx = min(max(cx, -PLANE_LIMIT + half), PLANE_LIMIT - half)
    cy = min(max(cy, -PLANE_LIMIT + half), PLANE_LIMIT - half)
    return (round(cx - half, 3), round(cx + half, 3), round(cy - half, 3), round(cy + half, 3))
