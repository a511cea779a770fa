"""The pure-Python backend: a recording turned into straight-line Python source, compiled once.

Forward, one assignment per node (``v7 = v3 * v5``); backward, one statement per gradient
contribution, in exactly the order ``Value.backward()`` adds them (reversed topological order,
each node's parents in operand order), so that every sum rounds as in eager mode. The local
derivatives are computed with the expressions of value.py's table of operations; operations
the generator does not know (``x ** c``, ``x ** y``, your own) are called through
``operation.evaluate(ieee, ...)`` and ``operation.local_grads(ieee, ...)``.
"""

from __future__ import annotations

from typing import Any

from gradengine import ieee
from gradengine import value as v
from gradengine.compile import CONSTANT, INPUT, NODE, PARAMETER, Recording


def _forward_lines(rec: Recording) -> tuple[list[str], list[Any]]:
    """The forward pass as source lines, and the operations called by position (O[k])."""
    lines: list[str] = []
    called: list[Any] = []
    for i, (op, ps, kind) in enumerate(zip(rec.operations, rec.parents, rec.kinds, strict=True)):
        slot = rec.slots[i]
        if kind == PARAMETER:
            lines.append(f"v{i} = P[{slot}].data")
            continue
        if kind == INPUT:
            lines.append(f"v{i} = X[{slot}]")
            continue
        if kind == CONSTANT:
            lines.append(f"v{i} = C[{slot}]")
            continue
        a = [f"v{p}" for p in ps]
        if op is v.ADD:
            lines.append(f"v{i} = {a[0]} + {a[1]}")
        elif op is v.SUB:
            lines.append(f"v{i} = {a[0]} - {a[1]}")
        elif op is v.MUL:
            lines.append(f"v{i} = {a[0]} * {a[1]}")
        elif op is v.DIV:
            lines.append(f"v{i} = divide({a[0]}, {a[1]})")
        elif op is v.NEG:
            lines.append(f"v{i} = -{a[0]}")
        elif op is v.RELU:
            lines.append(f"v{i} = 0.0 if {a[0]} <= 0 else {a[0]}")
        elif op is v.TANH:
            lines.append(f"v{i} = tanh({a[0]})")
        elif op is v.EXP:
            lines.append(f"v{i} = exp({a[0]})")
        elif op is v.LOG:
            lines.append(f"v{i} = log({a[0]})")
        elif op is v.SIGMOID:
            lines.append(f"v{i} = sigmoid({a[0]})")
        elif op is v.TOTAL:
            lines.append(f"v{i} = " + " + ".join(a))
        elif op is v.WEIGHTED_SUM or op is v.RELU_WEIGHTED_SUM:
            n = len(a) // 2
            terms = [a[0]] + [f"{a[1 + j]} * {a[1 + n + j]}" for j in range(n)]
            z = " + ".join(terms)
            if op is v.WEIGHTED_SUM:
                lines.append(f"v{i} = {z}")
            else:
                lines.append(f"z{i} = {z}")
                lines.append(f"v{i} = 0.0 if z{i} <= 0 else z{i}")
        else:  # any other operation: called through its own functions, with floats
            k = len(called)
            called.append(op)
            args = "(" + "".join(f"{x}, " for x in a) + ")"
            lines.append(f"a{i} = {args}")
            lines.append(f"v{i} = float(O[{k}].evaluate(ieee, a{i}))")
            if rec.needs_grad[i]:
                lines.append(f"d{i} = O[{k}].local_grads(ieee, a{i}, v{i})")
    return lines, called


def _local_grads(rec: Recording, i: int) -> list[str]:
    """d(node i)/d(each parent) as expressions of the forward pass's variables."""
    op, ps = rec.operations[i], rec.parents[i]
    a = [f"v{p}" for p in ps]
    out = f"v{i}"
    if op is v.ADD or op is v.TOTAL:
        return ["1.0"] * len(ps)
    if op is v.SUB:
        return ["1.0", "-1.0"]
    if op is v.MUL:
        return [a[1], a[0]]
    if op is v.DIV:
        return [f"divide(1.0, {a[1]})", f"-divide({out}, {a[1]})"]
    if op is v.NEG:
        return ["-1.0"]
    if op is v.RELU:
        return [f"(0.0 if {a[0]} <= 0 else 1.0)"]
    if op is v.TANH:
        return [f"(1.0 - {out} * {out})"]
    if op is v.EXP:
        return [out]
    if op is v.LOG:
        return [f"divide(1.0, {a[0]})"]
    if op is v.SIGMOID:
        return [f"({out} * (1.0 - {out}))"]
    if op is v.WEIGHTED_SUM or op is v.RELU_WEIGHTED_SUM:
        n = len(ps) // 2
        return ["1.0", *a[1 + n :], *a[1 : 1 + n]]
    return [f"float(d{i}[{j}])" for j in range(len(ps))]


def _backward_lines(rec: Recording) -> list[str]:
    """The backward pass: g<i> = d(output)/d(node i), summed in Value.backward()'s order."""
    root = rec.root
    lines = [f"g{root} = 1.0"]
    assigned = {root}

    def add(p: int, expr: str) -> None:
        if p in assigned:
            lines.append(f"g{p} += {expr}")
        else:
            assigned.add(p)
            lines.append(f"g{p} = {expr}")

    for i in range(root, -1, -1):
        if rec.kinds[i] != NODE or not rec.needs_grad[i]:
            continue
        ps = rec.parents[i]
        grads = _local_grads(rec, i)
        g = f"g{i}"
        if rec.operations[i] is v.RELU_WEIGHTED_SUM:
            # An inactive neuron's local derivatives are all 0.0 (not x * 0: x may be inf).
            # a<i>: the neuron is active (nan counts as active, as relu's step does).
            lines += [f"a{i} = not v{i} <= 0", f"t{i} = {g} * 0.0"]
            for p, d in zip(ps, grads, strict=True):
                if rec.needs_grad[p]:
                    add(
                        p,
                        f"({g} if a{i} else t{i})"
                        if d == "1.0"
                        else f"({g} * {d} if a{i} else t{i})",
                    )
            continue
        for p, d in zip(ps, grads, strict=True):
            if rec.needs_grad[p]:
                add(p, g if d == "1.0" else f"-{g}" if d == "-1.0" else f"{g} * {d}")
    for i, kind in enumerate(rec.kinds):
        if kind == PARAMETER and i in assigned:
            lines.append(f"P[{rec.slots[i]}].grad += g{i}")
        elif kind == INPUT and i in assigned:
            lines.append(f"IV[{rec.slots[i]}].grad += g{i}")
    return lines


class PythonEngine:
    """Runs a recording as generated Python functions (forward only, and forward + backward)."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        forward, called = _forward_lines(rec)
        backward_lines = _backward_lines(rec)
        result = f"return v{rec.root}"
        self.source = "\n".join(
            [
                "def replay(P, X, IV, C, backward=True):",
                *("    " + line for line in forward),
                "    if not backward:",
                "        " + result,
                *("    " + line for line in backward_lines),
                "    " + result,
            ]
        )
        namespace: dict[str, Any] = {
            "O": called,
            "ieee": ieee,
            "divide": ieee.divide,
            "exp": ieee.exp,
            "log": ieee.log,
            "sigmoid": ieee.sigmoid,
            "tanh": ieee.tanh,
        }
        # Code generated from the recording above (never from user text), run once to define it.
        exec(compile(self.source, "<gradengine compiled graph>", "exec"), namespace)
        self._replay = namespace["replay"]
        self.lines = len(forward) + len(backward_lines)

    def run(self, values: Any) -> float:
        rec = self.rec
        values = list(map(float, values))  # numpy scalars would compute another way
        result: float = self._replay(rec.parameters, values, rec.inputs, rec.constants)
        return result

    def forward(self, values: Any) -> float:
        rec = self.rec
        result: float = self._replay(rec.parameters, values, rec.inputs, rec.constants, False)
        return result

    def describe(self) -> list[str]:
        return [f"  as {self.lines} lines of straight-line Python (forward and backward)"]
