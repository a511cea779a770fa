"""The fewest objects an engine with micrograd's API could make for the moons demo's loss().

A stand-in for benchmarks/collector.py, not an engine: each operation makes one object (its
parents in slots, not in a tuple), a number operand stays a number, and a call of the model makes
one object, its output. It computes the data as an engine would, and no gradients. Its steps
show where CPython's collector runs when the only objects are those that the demo's own code
asks for.
"""

from __future__ import annotations

import itertools
import random


class Node:
    """One object per operation: data, grad and up to two parents."""

    __slots__ = ("data", "grad", "a", "b")

    def __init__(self, data: float, a: object = None, b: object = None) -> None:
        self.data, self.grad, self.a, self.b = float(data), 0.0, a, b

    def __add__(self, other: Node | float) -> Node:
        """x + y, one object"""
        if isinstance(other, Node):
            return Node(self.data + other.data, self, other)
        return Node(self.data + other, self)

    __radd__ = __add__

    def __mul__(self, other: Node | float) -> Node:
        """x * y, one object"""
        if isinstance(other, Node):
            return Node(self.data * other.data, self, other)
        return Node(self.data * other, self)

    __rmul__ = __mul__

    def __neg__(self) -> Node:
        """-x, one object"""
        return Node(-self.data, self)

    def relu(self) -> Node:
        """max(x, 0), one object"""
        return Node(max(self.data, 0.0), self)

    def backward(self) -> None:
        """Nothing: the stand-in makes the objects and computes no gradients."""


class MLP:
    """micrograd's MLP(nin, nouts) as numbers: a call makes one Node, over its inputs."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        self.layers = [
            [[Node(random.uniform(-1, 1)) for _ in range(n + 1)] for _ in range(m)]
            for n, m in itertools.pairwise(sizes)
        ]

    def __call__(self, x: list[Node]) -> Node:
        """relu(w·x + b) through the hidden layers, w·x + b at the output"""
        a = [xi.data for xi in x]
        # Each neuron is [w1..wn, b]: zip stops after a's n numbers, so b is only added.
        for i, layer in enumerate(self.layers):
            a = [sum(w.data * ai for w, ai in zip(n, a, strict=False)) + n[-1].data for n in layer]
            if i < len(self.layers) - 1:
                a = [max(ai, 0.0) for ai in a]
        return Node(a[0], x)

    def parameters(self) -> list[Node]:
        """Every weight and bias, as micrograd lists them"""
        return [p for layer in self.layers for neuron in layer for p in neuron]

    def zero_grad(self) -> None:
        """grad = 0 for every parameter"""
        for p in self.parameters():
            p.grad = 0.0
