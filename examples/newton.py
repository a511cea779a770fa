"""Newton's method against gradient descent, with second derivatives from gradengine.hessian.

Gradient descent steps x -= lr * f'(x); Newton's method steps x -= f'(x) / f''(x) (in n
dimensions, x -= H^-1 ∇f), using the curvature to take the whole step at once. Near a minimum
Newton's error squares at each step (quadratic convergence), gradient descent's shrinks by a
constant factor. Both run until |∇f| < 1e-12.

    python examples/newton.py
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gradengine import Value, hessian, value_and_grad

TOLERANCE = 1e-12
MAX_STEPS = 100_000


def gradient(f: Callable[..., Value], xs: list[float]) -> list[float]:
    """∇f at xs, as floats."""
    grads = value_and_grad(f)(*xs)[1]
    return [g.data for g in (grads if isinstance(grads, list) else [grads])]


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def newton_step(h: list[list[float]], g: list[float]) -> list[float]:
    """H^-1 g, for a 1x1 or 2x2 H (Cramer's rule)."""
    if len(g) == 1:
        return [g[0] / h[0][0]]
    (a, b), (c, d) = h
    det = a * d - b * c
    return [(d * g[0] - b * g[1]) / det, (a * g[1] - c * g[0]) / det]


def newton(f: Callable[..., Value], x0: list[float]) -> tuple[list[float], int]:
    """(the point where |∇f| < 1e-12, the number of Newton steps taken)"""
    xs = list(x0)
    for steps in range(MAX_STEPS):
        g = gradient(f, xs)
        if norm(g) < TOLERANCE:
            return xs, steps
        xs = [x - s for x, s in zip(xs, newton_step(hessian(f, xs), g))]
    return xs, MAX_STEPS


def descent(f: Callable[..., Value], x0: list[float], lr: float) -> tuple[list[float], int]:
    """(the point where |∇f| < 1e-12, the number of gradient-descent steps taken)"""
    xs = list(x0)
    for steps in range(MAX_STEPS):
        g = gradient(f, xs)
        if norm(g) < TOLERANCE:
            return xs, steps
        xs = [x - lr * gi for x, gi in zip(xs, g)]
    return xs, MAX_STEPS


def one_d(x: Value) -> Value:
    """e^x - 2x: minimum at x = ln 2, where f'' = 2"""
    return x.exp() - 2 * x


def two_d(x: Value, y: Value) -> Value:
    """(x - 1)^2 + 2 (y - x^2)^2 + x^4 / 10: a curved valley, minimum near (0.869, 0.755)"""
    return (x - 1) ** 2 + 2 * (y - x**2) ** 2 + x**4 / 10


def report(name: str, f: Callable[..., Value], x0: list[float], lr: float) -> None:
    print(f"{name}, from {x0}:")
    for method, (xs, steps) in (
        ("Newton's method", newton(f, x0)),
        (f"gradient descent (lr {lr})", descent(f, x0, lr)),
    ):
        reached = "" if steps < MAX_STEPS else f" (did not reach 1e-12 in {MAX_STEPS})"
        point = ", ".join(f"{x:.12f}" for x in xs)
        print(f"   {method:<28} {steps:>6} iterations to |grad| < 1e-12 at ({point}){reached}")


def main() -> None:
    report("1-D: f(x) = e^x - 2x", one_d, [2.0], 0.25)
    report("2-D: f(x, y) = (x - 1)^2 + 2 (y - x^2)^2 + x^4 / 10", two_d, [-1.0, 1.5], 0.05)


if __name__ == "__main__":
    main()
