"""Graphs that no fused node can shortcut: a random expression and a long chain.

Each workload is written once and run by any engine whose Value has micrograd's operators,
so the engines build the same graph and their results can be checked against each other.
"""

from __future__ import annotations

import math
import operator
import random
import sys
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

OPS = ("+", "-", "*", "/", "relu", "tanh")
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
# Instruction (op, i, j): pool[i] = pool[i] <op> pool[j], or pool[i] = op(pool[i]) if unary.
Program = list[tuple[str, int, int]]

CHAIN_FACTOR = 1.0001
CHAIN_OFFSET = 0.5


def _float_op(op: str, a: float, b: float) -> float:
    """What the instruction computes, on plain floats."""
    if op in BINARY:
        return float(BINARY[op](a, b))
    return max(a, 0.0) if op == "relu" else math.tanh(a)


def random_program(n_nodes: int, n_inputs: int, seed: int) -> tuple[list[float], Program]:
    """Inputs and instructions for a random expression of n_nodes nodes over + - * / relu tanh.

    A pool of n_inputs values starts as the inputs; each instruction overwrites one pool entry
    with an operation on it (and another entry); the root is the sum of the final pool, so every
    node the program creates is an ancestor of the root. Each operation is equally likely; its
    operands are redrawn until the result stays in [-2, 2], a divisor is at least 0.5 in size and
    a relu input is not within 1e-6 of its kink. That keeps values and gradients moderate, so
    rounding (micrograd computes x / y as x * y**-1) cannot flip a relu between two engines.
    """
    rng = random.Random(seed)
    inputs = [rng.uniform(-1.0, 1.0) for _ in range(n_inputs)]
    pool = list(inputs)
    program: Program = []
    n_ops = n_nodes - (n_inputs - 1)  # the final sum adds n_inputs - 1 nodes
    while len(program) < n_ops:
        op = rng.choice(OPS)
        for _ in range(100):  # rarely exhausted; then another operation is drawn
            i, j = rng.randrange(n_inputs), rng.randrange(n_inputs)
            a, b = pool[i], pool[j]
            if (op == "/" and abs(b) < 0.5) or (op == "relu" and abs(a) < 1e-6):
                continue
            result = _float_op(op, a, b)
            if abs(result) <= 2.0:
                pool[i] = result
                program.append((op, i, j))
                break
    return inputs, program


def build_expression(Value: Callable[[float], Any], inputs: list[float], program: Program) -> Any:
    """The leaves and the root of the program's expression, in the engine of `Value`."""
    leaves = [Value(x) for x in inputs]
    pool = list(leaves)
    for op, i, j in program:
        binary = BINARY.get(op)
        pool[i] = binary(pool[i], pool[j]) if binary else getattr(pool[i], op)()
    root = pool[0]
    for v in pool[1:]:
        root = root + v
    return leaves, root


def expression_gradients(
    Value: Callable[[float], Any], inputs: list[float], program: Program
) -> tuple[Any, Any]:
    """Build the expression and backpropagate: (root, leaves) with leaves' grads filled in."""
    leaves, root = build_expression(Value, inputs, program)
    root.backward()
    return root, leaves


def chain(Value: Callable[[float], Any], n_nodes: int) -> tuple[Any, Any]:
    """x = x * 1.0001 + 0.5, n_nodes / 2 times (two nodes each), then backward: (root, leaf)."""
    leaf = x = Value(1.0)
    for _ in range(n_nodes // 2):
        x = x * CHAIN_FACTOR + CHAIN_OFFSET
    x.backward()
    return x, leaf


def chain_gradient(n_nodes: int) -> float:
    """d(root)/d(leaf) of the chain, by hand: 1.0001 ** (n_nodes / 2)."""
    return CHAIN_FACTOR ** (n_nodes // 2)


def peak_bytes(work: Callable[[], T]) -> tuple[T, int]:
    """work()'s result and the peak memory tracemalloc saw allocated while it ran."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def with_deep_recursion(work: Callable[[], T], depth: int = 10_000_000) -> T:
    """work() in a thread with a 1 GiB stack and the recursion limit at `depth`.

    micrograd sorts its graph recursively, one Python frame per node on the longest path.
    """
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as error:
            errors.append(error)

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size(1 << 30)
    sys.setrecursionlimit(depth)
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
        threading.stack_size(old_stack)
    if errors:
        raise errors[0]
    return result[0]


def add_tanh_to_micrograd(Value: Any) -> None:
    """Give micrograd 0.1.0's Value the tanh of Karpathy's lecture, in micrograd's own style."""
    if hasattr(Value, "tanh"):
        return

    def tanh(self: Any) -> Any:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    Value.tanh = tanh
