"""A curve of (step, value) pairs that never holds more than a fixed number of points."""

from __future__ import annotations

import math


class Curve:
    """Keeps every stride-th point; when full, drops every other point and doubles the stride.

    Memory stays bounded over any number of steps, and the curve keeps the whole run's shape.
    """

    def __init__(self, capacity: int = 600) -> None:
        self.capacity = capacity
        self.points: list[tuple[int, float]] = []
        self.stride = 1
        self.seen = 0

    def add(self, step: int, value: float | None) -> None:
        """Record value at step (every stride-th call is kept)."""
        if value is None:
            return
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.points.append((step, value))
        if len(self.points) > self.capacity:
            self.points = self.points[::2]
            self.stride *= 2

    def as_list(self) -> list[list[float | str]]:
        """[[step, value], ...] for JSON, a non-finite value as "nan" / "inf"."""
        return [[s, round(v, 6) if math.isfinite(v) else str(v)] for s, v in self.points]
