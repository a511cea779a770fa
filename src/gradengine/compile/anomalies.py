"""Anomaly mode for compiled programs: the checks detect_anomaly() makes of eager mode's passes.

Under ``detect_anomaly()``, ``program.run()`` first replays the recording node by node with
floats (each operation's own value and derivatives functions, m = floats) and raises
``FloatingPointError`` where eager mode would: in the forward pass, at the first operation whose
result is inf or nan although all its inputs are finite; in the backward pass (latest node
first), at the first gradient that is not finite or the first contribution
``upstream grad * local derivative`` that is not. It raises before the run adds anything to a
``.grad``, so every leaf keeps what it held. Without anomaly mode nothing is checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gradengine.compile import CONSTANT, INPUT, NODE, PARAMETER, Recording
from gradengine.engine import floats

_SHOWN = 8  # inputs shown in a message, as eager mode's anomaly mode shows them


def check(rec: Recording, values: Sequence[float]) -> None:
    """FloatingPointError naming the first anomaly a run at these input values would meet."""
    data = _forward(rec, values)
    message = _backward(rec, data)
    if message is not None:
        raise FloatingPointError(message)


def _forward(rec: Recording, values: Sequence[float]) -> list[float]:
    data: list[float] = []
    isfinite = math.isfinite
    for i, (op, kind, slot, ps) in enumerate(
        zip(rec.operations, rec.kinds, rec.slots, rec.parents, strict=True)
    ):
        if kind == PARAMETER:
            data.append(rec.parameters[slot].data)
        elif kind == INPUT:
            data.append(values[slot])
        elif kind == CONSTANT:
            data.append(rec.constants[slot])
        else:
            inputs = [data[p] for p in ps]
            result = float(op.value(floats, *inputs))
            if not isfinite(result) and all(map(isfinite, inputs)):
                raise FloatingPointError(
                    f"anomaly in the forward pass of a compiled program: operation {op.name!r}"
                    f"{_label(rec, i)} produced {result!r} from finite inputs ({_numbers(inputs)})"
                )
            data.append(result)
    return data


def _backward(rec: Recording, data: list[float]) -> str | None:
    """What goes non-finite first as backward() walks the graph, latest node first, or None."""
    grads = [-0.0] * len(rec)
    grads[rec.root] = 1.0
    written = (PARAMETER, INPUT) if rec.input_grads else (PARAMETER,)
    for i in range(rec.root, -1, -1):
        kind, grad = rec.kinds[i], grads[i]
        if kind in written:
            leaf = (rec.parameters if kind == PARAMETER else rec.inputs)[rec.slots[i]]
            held = leaf.grad
            total = grad + held if held else grad
            if not math.isfinite(total):
                cause = (
                    "it already held that before this run"
                    if not math.isfinite(held)
                    else "adding up finite contributions overflowed"
                )
                return (
                    f"anomaly in the backward pass: the grad of {_leaf(rec, i)} is {total!r}: "
                    f"{cause}"
                )
        if kind != NODE:
            continue
        if not math.isfinite(grad):
            return (
                f"anomaly in the backward pass: the grad of the {rec.operations[i].name!r} node"
                f"{_label(rec, i)} is {grad!r}: adding up finite contributions overflowed"
            )
        op, ps = rec.operations[i], rec.parents[i]
        local = tuple(op.derivatives(floats, *[data[p] for p in ps], data[i]))
        for p, d in zip(ps, local, strict=True):
            contribution = grad * float(d)
            if not math.isfinite(contribution):
                return (
                    f"anomaly in the backward pass: operation {op.name!r}{_label(rec, i)} sends "
                    f"the gradient {contribution!r} to its parent {_leaf(rec, p, data[p])}: "
                    f"upstream grad {grad!r} * local derivative {float(d)!r}"
                )
            grads[p] += contribution
    return None


def _numbers(xs: list[float]) -> str:
    shown = ", ".join(map(repr, xs[:_SHOWN]))
    return shown + (f", ... ({len(xs) - _SHOWN} more)" if len(xs) > _SHOWN else "")


def _label(rec: Recording, i: int) -> str:
    label = rec.order[i].label
    return f" (node labelled {label!r})" if label else ""


def _leaf(rec: Recording, i: int, data: float | None = None) -> str:
    """How a message names node i: its kind, its value and its label."""
    kind = rec.kinds[i]
    what = {PARAMETER: "parameter", INPUT: "input", CONSTANT: "constant"}.get(kind)
    if what is None:
        what = f"the {rec.operations[i].name!r} node"
    else:
        what = f"{what} {rec.slots[i]}" if kind != CONSTANT else what
    value = f" (data={data!r})" if data is not None else ""
    return f"{what}{value}{_label(rec, i)}"
