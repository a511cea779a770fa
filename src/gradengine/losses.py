"""Loss functions: each returns the mean loss as ONE Value node with its exact local derivatives.

A loss over n samples could be built from ~5n elementary nodes; here it is one fused node whose
parents are the predictions (the Values among them) and whose local gradients the docstring gives.
Numbers (int/float) are accepted wherever a Value is, and are treated as constants.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from operator import add
from typing import Any

from gradengine.checks import as_float, as_list, describe, type_name
from gradengine.engine import Operation, Value, ValueLike, floats


def _as_list(xs: object, what: str) -> list[object]:
    """xs as a non-empty list; TypeError or ValueError naming `what` otherwise."""
    items = as_list(xs, f"{what} as a list of Values or numbers")
    if not items:
        raise ValueError(f"{what} is empty: a loss needs at least one sample")
    return items


def _pair(predictions: object, targets: object, names: tuple[str, str]) -> tuple[list[object], ...]:
    """Both sequences as lists of the same non-zero length; ValueError if the lengths differ."""
    xs, ys = _as_list(predictions, names[0]), _as_list(targets, names[1])
    if len(xs) != len(ys):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same length, got {len(xs)} and {len(ys)}"
        )
    return xs, ys


def _number(x: object, what: str) -> float:
    """The float in x, a Value or a real number."""
    return x.data if isinstance(x, Value) else as_float(x, what)


def _float_only(m: object, *inputs: object) -> float:
    raise TypeError(
        "this loss computes its value and derivatives with floats only: it has no "
        "higher-order derivatives and cannot be compiled"
    )


_OPERATIONS = {name: Operation(name, _float_only, _float_only) for name in ("cross_entropy",)}


def _fused(
    data: float, inputs: Iterable[object], local_grads: Iterable[float], op: str | Operation
) -> Value:
    """One node with data, keeping as parents only the inputs that are Values."""
    kept = [(x, g) for x, g in zip(inputs, local_grads, strict=True) if isinstance(x, Value)]
    parents = tuple(x for x, _ in kept)
    operation = op if isinstance(op, Operation) else _OPERATIONS[op]
    return Value.node(data, parents, tuple(g for _, g in kept), operation)


def _mean(terms: list[float]) -> float:
    """(t1 + ... + tn) / n, summed left to right."""
    return reduce(add, terms) / len(terms)


def _mean_hinge(m: Any, margins: Sequence[Any]) -> Any:
    """mean max(0, g) over the margins g; 0 only where g < 0, so a nan stays visible (as relu)"""
    return _mean([m.where(m.real(g) < 0, 0.0, g) for g in margins])


def _operation(
    name: str,
    inputs: Sequence[object],
    value: Callable[[Any, list[Any]], Any],
    derivatives: Callable[[Any, list[Any]], list[Any]],
) -> Operation:
    """A loss as an operation of its parents (its Value inputs), given its value and derivatives
    as functions of m and all its inputs: the numbers among them are put back where they were,
    and the derivatives of the parents kept. Written with m, the loss has higher derivatives."""
    numbers_at = {i: x for i, x in enumerate(inputs) if not isinstance(x, Value)}
    n = len(inputs)

    def fill(parents: Sequence[Any]) -> list[Any]:
        rest = iter(parents)
        return [numbers_at[i] if i in numbers_at else next(rest) for i in range(n)]

    def value_of_parents(m: Any, *parents: Any) -> Any:
        return value(m, fill(parents))

    def derivatives_of_parents(m: Any, *parents_and_value: Any) -> list[Any]:
        grads = derivatives(m, fill(parents_and_value[:-1]))
        return [g for i, g in enumerate(grads) if i not in numbers_at]

    value_of_parents.__doc__ = value.__doc__
    derivatives_of_parents.__doc__ = derivatives.__doc__
    return Operation(name, value_of_parents, derivatives_of_parents)


def _mse_value(m: Any, xs: list[Any]) -> Any:
    """mean (p_i - t_i)^2"""
    n = len(xs) // 2
    return _mean([(xs[i] - xs[n + i]) * (xs[i] - xs[n + i]) for i in range(n)])


def _mse_derivatives(m: Any, xs: list[Any]) -> list[Any]:
    """d/dp_i = 2 (p_i - t_i) / n, d/dt_i = -2 (p_i - t_i) / n"""
    n = len(xs) // 2
    grads = [2.0 * (xs[i] - xs[n + i]) / n for i in range(n)]
    return grads + [-g for g in grads]


def mse(predictions: Sequence[ValueLike], targets: Sequence[ValueLike]) -> Value:
    """mean (p_i - t_i)^2; d/dp_i = 2 (p_i - t_i) / n, d/dt_i = -2 (p_i - t_i) / n"""
    ps, ts = _pair(predictions, targets, ("predictions", "targets"))
    n = len(ps)
    diffs = [
        _number(p, f"predictions[{i}]") - _number(t, f"targets[{i}]")
        for i, (p, t) in enumerate(zip(ps, ts, strict=True))
    ]
    grads = [2.0 * d / n for d in diffs]
    inputs = ps + ts
    operation = _operation("mse", inputs, _mse_value, _mse_derivatives)
    return _fused(_mean([d * d for d in diffs]), inputs, grads + [-g for g in grads], operation)


def _labels(labels: object, n: int) -> list[float]:
    """labels as a list of n numbers, each -1 or +1."""
    ys = _as_list(labels, "labels")
    if len(ys) != n:
        raise ValueError(f"scores and labels must have the same length, got {n} and {len(ys)}")
    out = []
    for i, y in enumerate(ys):
        label = as_float(y, f"labels[{i}]")
        if label not in (-1.0, 1.0):
            raise ValueError(f"labels[{i}] must be -1 or +1, got {y!r}")
        out.append(label)
    return out


def hinge(scores: Sequence[ValueLike], labels: Sequence[int]) -> Value:
    """mean max(0, 1 - y_i s_i), y_i in {-1, +1}; d/ds_i = -y_i / n where 1 - y_i s_i > 0, else 0"""
    ss = _as_list(scores, "scores")
    ys = _labels(labels, len(ss))
    n = len(ss)
    margins = [
        1.0 - y * _number(s, f"scores[{i}]") for i, (s, y) in enumerate(zip(ss, ys, strict=True))
    ]
    grads = [-y / n if m > 0 else 0.0 for m, y in zip(margins, ys, strict=True)]
    # max(m, 0) would return m = nan for nan; 0 if m < 0 keeps nan visible, as relu does.

    def value(m: Any, xs: list[Any]) -> Any:
        """mean max(0, 1 - y_i s_i)"""
        return _mean_hinge(m, [1.0 - y * x for x, y in zip(xs, ys, strict=True)])

    def derivatives(m: Any, xs: list[Any]) -> list[Any]:
        """d/ds_i = -y_i / n where 1 - y_i s_i > 0, else 0: constants (second derivative 0)"""
        return [m.where(m.real(1.0 - y * x) > 0, -y / n, 0.0) for x, y in zip(xs, ys, strict=True)]

    operation = _operation("hinge", ss, value, derivatives)
    return _fused(_mean([0.0 if m < 0 else m for m in margins]), ss, grads, operation)


def _softplus(x: float) -> float:
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), which never overflows."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _bce_value(m: Any, xs: list[Any]) -> Any:
    """mean softplus(x_i) - t_i x_i, softplus(x) = max(x, 0) + ln(1 + e^-|x|)"""
    n = len(xs) // 2
    terms = []
    for x, t in zip(xs[:n], xs[n:], strict=True):
        negative = m.real(x) < 0
        softplus = m.where(negative, 0.0, x) + m.log(1.0 + m.exp(m.where(negative, x, -x)))
        terms.append(softplus - t * x)
    return _mean(terms)


def _bce_derivatives(m: Any, xs: list[Any]) -> list[Any]:
    """d/dx_i = (sigmoid(x_i) - t_i) / n, d/dt_i = -x_i / n"""
    n = len(xs) // 2
    d_logits = [(m.sigmoid(x) - t) / n for x, t in zip(xs[:n], xs[n:], strict=True)]
    return d_logits + [-x / n for x in xs[:n]]


def binary_cross_entropy_with_logits(
    logits: Sequence[ValueLike], targets: Sequence[ValueLike]
) -> Value:
    """mean -t ln s(x) - (1-t) ln(1-s(x)) = softplus(x) - t x, s = sigmoid; d/dx = (s(x) - t) / n"""
    xs, ts = _pair(logits, targets, ("logits", "targets"))
    n = len(xs)
    x = [_number(v, f"logits[{i}]") for i, v in enumerate(xs)]
    t = [_number(v, f"targets[{i}]") for i, v in enumerate(ts)]
    for i, ti in enumerate(t):
        if not 0.0 <= ti <= 1.0:
            raise ValueError(f"targets[{i}] must be a probability in [0, 1], got {ti!r}")
    data = _mean([_softplus(xi) - ti * xi for xi, ti in zip(x, t, strict=True)])
    d_logits = [(floats.sigmoid(xi) - ti) / n for xi, ti in zip(x, t, strict=True)]
    d_targets = [-xi / n for xi in x]
    operation = _operation("bce_logits", xs + ts, _bce_value, _bce_derivatives)
    return _fused(data, xs + ts, d_logits + d_targets, operation)


def _log_softmax_row(z: list[float]) -> tuple[float, list[float]]:
    """(ln Σ_j e^z_j, softmax(z)), both from z - max(z) <= 0, so that no e^(...) overflows."""
    top = max(z)
    exps = [math.exp(zj - top) for zj in z]
    total = reduce(add, exps)  # >= 1: the largest logit contributes e^0 (or nan if any is nan)
    return top + math.log(total), [e / total for e in exps]


def cross_entropy(logits: Sequence[Sequence[ValueLike]], classes: Sequence[int]) -> Value:
    """mean over rows of ln Σ_j e^z_j - z_c (softmax cross entropy); d/dz_j = (p_j - [j=c]) / n"""
    rows = _as_list(logits, "logits")
    labels = _as_list(classes, "classes")
    if len(rows) != len(labels):
        raise ValueError(
            f"logits and classes must have the same length, got {len(rows)} and {len(labels)}"
        )
    n = len(rows)
    width = -1
    parents: list[object] = []
    losses: list[float] = []
    grads: list[float] = []
    for r, (row, c) in enumerate(zip(rows, labels, strict=True)):
        zs = _as_list(row, f"logits[{r}]")
        if width == -1:
            width = len(zs)
        elif len(zs) != width:
            raise ValueError(
                f"every row of logits must have the same number of classes: "
                f"logits[0] has {width}, logits[{r}] has {len(zs)}"
            )
        if isinstance(c, bool) or not isinstance(c, numbers.Integral):
            raise TypeError(f"classes[{r}] must be an int class index, got {type_name(c)}")
        c = int(c)
        if not 0 <= c < width:
            raise ValueError(f"classes[{r}] must be a class index in [0, {width}), got {c}")
        z = [_number(v, f"logits[{r}][{j}]") for j, v in enumerate(zs)]
        log_total, softmax = _log_softmax_row(z)
        losses.append(log_total - z[c])
        grads += [(s - 1.0 if j == c else s) / n for j, s in enumerate(softmax)]
        parents += zs
    return _fused(_mean(losses), parents, grads, "cross_entropy")


def l2(parameters: Iterable[ValueLike], alpha: float = 1e-4) -> Value:
    """alpha * Σ p_i^2 (a sum, not a mean); d/dp_i = 2 alpha p_i"""
    if isinstance(parameters, Value) or not isinstance(parameters, Iterable):
        raise TypeError(
            "parameters must be an iterable of Values such as model.parameters(), "
            f"got {describe(parameters)}"
        )
    ps = list(parameters)
    if not ps:
        raise ValueError("parameters is empty: l2 needs at least one parameter")
    a = as_float(alpha, "alpha")
    if not (math.isfinite(a) and a >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {a!r}")
    x = [_number(p, f"parameters[{i}]") for i, p in enumerate(ps)]

    def value(m: Any, xs: list[Any]) -> Any:
        """alpha * Σ p_i^2"""
        return a * reduce(add, [xi * xi for xi in xs])

    def derivatives(m: Any, xs: list[Any]) -> list[Any]:
        """d/dp_i = 2 alpha p_i"""
        return [2.0 * a * xi for xi in xs]

    operation = _operation("l2", ps, value, derivatives)
    return _fused(a * reduce(add, [xi * xi for xi in x]), ps, [2.0 * a * xi for xi in x], operation)
