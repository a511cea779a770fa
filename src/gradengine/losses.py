"""Loss functions: each returns the mean loss as ONE Value node with its exact local derivatives.

A loss over n samples could be built from ~5n elementary nodes; here it is one fused node whose
parents are the predictions (the Values among them) and whose local gradients the docstring gives.
Numbers (int/float) are accepted wherever a Value is, and are treated as constants.

Each loss is defined once, as the value and derivatives of ALL its inputs (predictions, then
targets or labels), written with ``m``'s functions: the same definition computes the eager node
(m = floats), gradients of gradients (m over Values) and compiled replays (m over arrays, the
labels then inputs too). ``LossOperation`` keeps the numbers among the inputs; it is pickled as
its name and those numbers, so a graph with a loss in it pickles and deep-copies.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from operator import add, mul
from typing import Any, SupportsIndex

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


def mean(terms: Sequence[Any]) -> Any:
    """(t1 + ... + tn) / n, summed left to right."""
    return reduce(add, terms) / len(terms)


def _log1p(m: Any, x: Any) -> Any:
    """ln(1 + x), without losing the digits of a tiny x where m can (floats, arrays)."""
    log1p = getattr(m, "log1p", None)
    if log1p is not None:
        return log1p(x)
    if isinstance(x, float):
        return math.log1p(x)
    return m.log(1.0 + x)  # over Values (gradients of gradients): ln(1 + x) as a graph


# -- the definitions: value(m, xs, width) and derivatives(m, xs, width), xs = every input ------


def _mse_value(m: Any, xs: Sequence[Any], width: int) -> Any:
    """mean (p_i - t_i)^2 over the predictions p_1..p_n, then the targets t_1..t_n"""
    n = len(xs) // 2
    return mean([(xs[i] - xs[n + i]) * (xs[i] - xs[n + i]) for i in range(n)])


def _mse_derivatives(m: Any, xs: Sequence[Any], width: int) -> list[Any]:
    """d/dp_i = 2 (p_i - t_i) / n, d/dt_i = -2 (p_i - t_i) / n"""
    n = len(xs) // 2
    grads = [2.0 * (xs[i] - xs[n + i]) / n for i in range(n)]
    return grads + [-g for g in grads]


def _hinge_value(m: Any, xs: Sequence[Any], width: int) -> Any:
    """mean max(0, 1 - y_i s_i) over the scores s_1..s_n, then the labels y_1..y_n (-1 or +1)"""
    n = len(xs) // 2
    margins = [1.0 - y * s for s, y in zip(xs[:n], xs[n:], strict=True)]
    # max(g, 0) would return g = nan for nan; 0 if g < 0 keeps nan visible, as relu does.
    return mean([m.where(m.real(g) < 0, 0.0, g) for g in margins])


def _hinge_derivatives(m: Any, xs: Sequence[Any], width: int) -> list[Any]:
    """d/ds_i = -y_i / n, d/dy_i = -s_i / n where 1 - y_i s_i > 0, else 0"""
    n = len(xs) // 2
    scores, labels = xs[:n], xs[n:]
    active = [m.real(1.0 - y * s) > 0 for s, y in zip(scores, labels, strict=True)]
    d_scores = [m.where(a, -y / n, 0.0) for a, y in zip(active, labels, strict=True)]
    return d_scores + [m.where(a, -s / n, 0.0) for a, s in zip(active, scores, strict=True)]


def _bce_value(m: Any, xs: Sequence[Any], width: int) -> Any:
    """mean softplus(x_i) - t_i x_i over the logits x, then the targets t;
    softplus(x) = max(x, 0) + ln(1 + e^-|x|), which never overflows"""
    n = len(xs) // 2
    terms = []
    for x, t in zip(xs[:n], xs[n:], strict=True):
        negative = m.real(x) < 0
        softplus = m.where(negative, 0.0, x) + _log1p(m, m.exp(m.where(negative, x, -x)))
        terms.append(softplus - t * x)
    return mean(terms)


def _bce_derivatives(m: Any, xs: Sequence[Any], width: int) -> list[Any]:
    """d/dx_i = (sigmoid(x_i) - t_i) / n, d/dt_i = -x_i / n"""
    n = len(xs) // 2
    d_logits = [(m.sigmoid(x) - t) / n for x, t in zip(xs[:n], xs[n:], strict=True)]
    return d_logits + [-x / n for x in xs[:n]]


def _row_max(m: Any, z: Sequence[Any]) -> Any:
    """max(z) as Python's max finds it (the first largest; a nan first stays)"""
    return reduce(lambda a, b: m.where(m.real(b) > m.real(a), b, a), z)


def _rows(xs: Sequence[Any], width: int) -> list[tuple[Sequence[Any], Sequence[Any]]]:
    """(logits, one-hot targets) of each row: the inputs are every logit, then every target."""
    half = len(xs) // 2
    return [(xs[i : i + width], xs[half + i : half + i + width]) for i in range(0, half, width)]


def _cross_entropy_value(m: Any, xs: Sequence[Any], width: int) -> Any:
    """mean over rows of ln Σ_j e^z_j - Σ_j t_j z_j, t the row's targets (one-hot: t_c = 1)"""
    terms = []
    for z, t in _rows(xs, width):
        top = _row_max(m, z)  # ln Σ e^z = top + ln Σ e^(z - top): no e^(...) overflows
        log_total = top + m.log(reduce(add, [m.exp(zj - top) for zj in z]))
        # t_j = 0 adds 0, even for z_j = -inf: one-hot targets pick z_c exactly
        weighted = [m.where(m.real(tj) == 0, 0.0, tj * zj) for zj, tj in zip(z, t, strict=True)]
        terms.append(log_total - reduce(add, weighted))
    return mean(terms)


def _cross_entropy_derivatives(m: Any, xs: Sequence[Any], width: int) -> list[Any]:
    """d/dz_j = (p_j - t_j) / n with p = softmax(z), d/dt_j = -z_j / n"""
    pairs = _rows(xs, width)
    n = len(pairs)
    d_logits: list[Any] = []
    d_targets: list[Any] = []
    for z, t in pairs:
        top = _row_max(m, z)
        exps = [m.exp(zj - top) for zj in z]
        exps_total = reduce(add, exps)
        d_logits += [(e / exps_total - tj) / n for e, tj in zip(exps, t, strict=True)]
        d_targets += [-zj / n for zj in z]
    return d_logits + d_targets


def _l2_value(m: Any, xs: Sequence[Any], width: int) -> Any:
    """alpha * Σ p_i^2 over alpha, then the parameters p_1..p_n"""
    ps = xs[1:]
    return xs[0] * reduce(add, map(mul, ps, ps))  # left to right, no list of the squares


def _l2_derivatives(m: Any, xs: Sequence[Any], width: int) -> list[Any]:
    """d/dalpha = Σ p_i^2, d/dp_i = 2 alpha p_i"""
    ps = xs[1:]
    return [reduce(add, map(mul, ps, ps)), *[2.0 * xs[0] * p for p in ps]]


Definition = tuple[Callable[[Any, Sequence[Any], int], Any], Callable[..., list[Any]]]

#: Each loss's value and derivatives, by the name its nodes carry.
DEFINITIONS: dict[str, Definition] = {
    "mse": (_mse_value, _mse_derivatives),
    "hinge": (_hinge_value, _hinge_derivatives),
    "bce_logits": (_bce_value, _bce_derivatives),
    "cross_entropy": (_cross_entropy_value, _cross_entropy_derivatives),
    "l2": (_l2_value, _l2_derivatives),
}


class LossOperation(Operation):
    """One of DEFINITIONS over `size` inputs, of which the numbers (position, value) are fixed:
    its operands, the node's parents, are the other inputs in order. `width` is the number of
    predictions per sample (cross_entropy's classes; 1 for the others)."""

    __slots__ = ("kind", "numbers", "size", "width")

    def __init__(
        self, kind: str, numbers: tuple[tuple[int, float], ...], size: int, width: int = 1
    ) -> None:
        if kind not in DEFINITIONS:
            raise ValueError(f"unknown loss {kind!r}; expected one of: {', '.join(DEFINITIONS)}")
        self.kind = kind
        self.numbers = numbers
        self.size = size
        self.width = width
        super().__init__(kind, self._value, self._derivatives)

    def fill(self, operands: Sequence[Any]) -> list[Any]:
        """Every input of the definition: the fixed numbers put back among the operands."""
        xs: list[Any] = [None] * self.size
        for i, x in self.numbers:
            xs[i] = x
        rest = iter(operands)
        return [next(rest) if x is None else x for x in xs]

    def _value(self, m: Any, *operands: Any) -> Any:
        return DEFINITIONS[self.kind][0](m, self.fill(operands), self.width)

    def _derivatives(self, m: Any, *operands_and_value: Any) -> list[Any]:
        grads = DEFINITIONS[self.kind][1](m, self.fill(operands_and_value[:-1]), self.width)
        fixed = {i for i, _ in self.numbers}
        return [g for i, g in enumerate(grads) if i not in fixed]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        """Pickled as what makes it: its kind, numbers, size and width."""
        return (LossOperation, (self.kind, self.numbers, self.size, self.width))

    def __repr__(self) -> str:
        return f"LossOperation({self.kind!r}, {len(self.numbers)} numbers, size {self.size})"


def _node(kind: str, inputs: Sequence[object], width: int = 1) -> Value:
    """The loss node of these inputs: the Values among them its parents, the numbers fixed."""
    fixed = tuple(
        (i, as_float(x, "a loss input")) for i, x in enumerate(inputs) if not isinstance(x, Value)
    )
    parents = [x for x in inputs if isinstance(x, Value)]
    return LossOperation(kind, fixed, len(inputs), width)(*parents)


def loss_of_inputs(kind: str, inputs: Sequence[ValueLike], width: int = 1) -> Value:
    """The named loss over every input, unchecked: labels and one-hot targets may be Values too,
    as when one sample's loss is recorded with its label as an input (compiled training)."""
    return _node(kind, inputs, width)


# -- the losses users call ----------------------------------------------------------------------


def mse(predictions: Sequence[ValueLike], targets: Sequence[ValueLike]) -> Value:
    """mean (p_i - t_i)^2; d/dp_i = 2 (p_i - t_i) / n, d/dt_i = -2 (p_i - t_i) / n"""
    ps, ts = _pair(predictions, targets, ("predictions", "targets"))
    for i, p in enumerate(ps):
        _number(p, f"predictions[{i}]")
    for i, t in enumerate(ts):
        _number(t, f"targets[{i}]")
    return _node("mse", ps + ts)


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
    for i, s in enumerate(ss):
        _number(s, f"scores[{i}]")
    return _node("hinge", [*ss, *ys])


def binary_cross_entropy_with_logits(
    logits: Sequence[ValueLike], targets: Sequence[ValueLike]
) -> Value:
    """mean -t ln s(x) - (1-t) ln(1-s(x)) = softplus(x) - t x, s = sigmoid; d/dx = (s(x) - t) / n"""
    xs, ts = _pair(logits, targets, ("logits", "targets"))
    for i, x in enumerate(xs):
        _number(x, f"logits[{i}]")
    for i, t in enumerate(ts):
        ti = _number(t, f"targets[{i}]")
        if not 0.0 <= ti <= 1.0:
            raise ValueError(f"targets[{i}] must be a probability in [0, 1], got {ti!r}")
    return _node("bce_logits", xs + ts)


def log_softmax_row(z: list[float]) -> tuple[float, list[float]]:
    """(ln Σ_j e^z_j, softmax(z)), both from z - max(z) <= 0, so that no e^(...) overflows."""
    top = max(z)
    exps = [floats.exp(zj - top) for zj in z]
    total = reduce(add, exps)  # >= 1: the largest logit contributes e^0 (or nan if any is nan)
    return top + floats.log(total), [e / total for e in exps]


def cross_entropy(logits: Sequence[Sequence[ValueLike]], classes: Sequence[int]) -> Value:
    """mean over rows of ln Σ_j e^z_j - z_c (softmax cross entropy); d/dz_j = (p_j - [j=c]) / n"""
    rows = _as_list(logits, "logits")
    labels = _as_list(classes, "classes")
    if len(rows) != len(labels):
        raise ValueError(
            f"logits and classes must have the same length, got {len(rows)} and {len(labels)}"
        )
    width = -1
    flat: list[object] = []
    targets: list[float] = []
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
        for j, v in enumerate(zs):
            _number(v, f"logits[{r}][{j}]")
        flat += zs
        targets += [1.0 if j == c else 0.0 for j in range(width)]
    return _node("cross_entropy", flat + targets, width)


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
    for i, p in enumerate(ps):
        _number(p, f"parameters[{i}]")
    return _node("l2", [a, *ps])
