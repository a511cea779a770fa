"""Forward mode (jvp) against reverse mode (grad): which is faster depends on the shape.

Forward mode pushes one tangent from the inputs to every output: one pass per input.
Reverse mode pulls one gradient from an output back to every input: one pass per output.
So for n inputs and 1 output (a loss of n parameters) reverse mode needs 1 pass and forward
mode n; for 1 input and n outputs it is the other way round. Both functions below are chains,
so each pass costs about n nodes.

    python examples/forward_vs_reverse.py [n]       (n = 1000 by default)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from gradengine import Value, grad, jvp


def many_to_one(*xs: Value) -> Value:
    """s_0 = 0, s_i = tanh(s_(i-1) + x_i) / 2 + x_i: n inputs, 1 output"""
    s: Value | float = 0.0
    for x in xs:
        s = (x + s).tanh() * 0.5 + x
    assert isinstance(s, Value)
    return s


def one_to_many(n: int) -> Callable[[Value], list[Value]]:
    """y_0 = x, y_k = tanh(y_(k-1)) / 2 + x: 1 input, n outputs"""

    def f(x: Value) -> list[Value]:
        ys = [x]
        for _ in range(n - 1):
            ys.append(ys[-1].tanh() * 0.5 + x)
        return ys

    return f


def timed(work: Callable[[], list[float]]) -> tuple[list[float], float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def compare(
    title: str, forward: Callable[[], list[float]], reverse: Callable[[], list[float]]
) -> None:
    d_forward, t_forward = timed(forward)
    d_reverse, t_reverse = timed(reverse)
    worst = max(abs(a - b) for a, b in zip(d_forward, d_reverse, strict=True))
    winner, ratio = (
        ("forward", t_reverse / t_forward)
        if t_forward < t_reverse
        else ("reverse", t_forward / t_reverse)
    )
    print(title)
    print(f"   forward mode (jvp):  {t_forward * 1000:9.1f} ms")
    print(f"   reverse mode (grad): {t_reverse * 1000:9.1f} ms")
    print(f"   {winner} mode wins, {ratio:.1f}x faster; the derivatives agree to {worst:.1e}")


def main(n: int = 1000) -> None:
    xs = [0.001 * i - 0.3 for i in range(n)]

    def partial(i: int) -> float:  # one jvp per input: tangent e_i gives ∂f/∂x_i
        tangent = jvp(many_to_one, xs, [float(i == j) for j in range(n)])[1]
        assert isinstance(tangent, float)
        return tangent

    def forward_many() -> list[float]:
        return [partial(i) for i in range(n)]

    def reverse_many() -> list[float]:  # one reverse pass gives all n partial derivatives
        leaves = [Value(x) for x in xs]
        return [g.data for g in grad(many_to_one(*leaves), leaves)]

    compare(f"{n} inputs, 1 output: the gradient of f(x_1, ..., x_{n})", forward_many, reverse_many)

    f = one_to_many(n)

    def forward_one() -> list[float]:  # one jvp gives dy_k/dx for every output k
        tangents = jvp(f, [0.5], [1.0])[1]
        assert isinstance(tangents, list)
        return tangents

    def reverse_one() -> list[float]:  # one reverse pass per output
        x = Value(0.5)
        return [grad(y, [x])[0].data for y in f(x)]

    compare(f"1 input, {n} outputs: dy_k/dx for y_1, ..., y_{n}", forward_one, reverse_one)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
