"""gradcheck: compare backward()'s gradients with central finite differences.

The numeric oracle uses only the forward pass: for each input x_i,
    numeric_i = (f(..., x_i + h, ...) - f(..., x_i - h, ...)) / 2h,   h = eps * max(1, |x_i|)
so it shares no code with backward(). The step is scaled by |x_i| because a fixed step vanishes
in rounding for large inputs, and it is rounded so that x_i + h and x_i - h are exactly 2h apart.

Input i passes when |analytic_i - numeric_i| <= atol + rtol * |numeric_i| + noise_i, where
    noise_i = 4 * 2^-52 * max(|f(x_i + h)|, |f(x_i - h)|, B) / 2h,   B = Σ_v |df/dv| * |v|
is the rounding error the difference quotient cannot get below, B summing over the results v of
f's operations: each rounds v by up to 2^-52 |v|, which moves f by |df/dv| times that. So
f = x + 1e8, or (x + 1e8) - 1e8 whose value is small, fails on a bug, not on rounding. B reads
df/dv from backward(): a wrong one widens noise_i by 4 * 2^-52 * |v| / 2h times its error,
orders of magnitude below the error it makes at the inputs, unless f cancels values that much
larger than its gradient, where no difference quotient can tell.

Non-finite gradients (inf, nan) pass only when both sides agree exactly: both nan, or both
inf with the same sign. A finite value never matches a non-finite one.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gradengine.checks import as_float, describe
from gradengine.engine import Value, topological_order

_ROUNDING = 4 * 2.0**-52


@dataclass(frozen=True)
class GradcheckResult:
    """The analytic and numeric gradient of f at one point, per input, and whether they agree."""

    ok: bool
    inputs: list[float]
    names: list[str]
    analytic: list[float]
    numeric: list[float]
    errors: list[float]
    tolerances: list[float]
    passed: list[bool]
    worst_error: float
    rtol: float
    atol: float
    eps: float

    def __bool__(self) -> bool:
        # So that `assert gradcheck(...)` checks the gradients, not that a result exists.
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        lines = [
            f"gradcheck {verdict}: worst |analytic - numeric| = {self.worst_error:.3g} "
            f"(allowed: atol + rtol*|numeric| + rounding, rtol={self.rtol:g}, atol={self.atol:g})",
        ]
        header = ("input", "at", "analytic", "numeric", "|error|", "allowed", "ok")
        rows = [header]
        for i, name in enumerate(self.names):
            rows.append(
                (
                    name,
                    f"{self.inputs[i]:.6g}",
                    f"{self.analytic[i]:.10g}",
                    f"{self.numeric[i]:.10g}",
                    f"{self.errors[i]:.2e}",
                    f"{self.tolerances[i]:.2e}",
                    "yes" if self.passed[i] else "NO",
                )
            )
        widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
        for row in rows:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float | Value],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradcheckResult:
    """Check d f / d x_i from backward() against (f(x_i + h) - f(x_i - h)) / 2h for every i."""
    if not callable(f):
        raise TypeError(f"f must be a function of Values returning a Value, got {describe(f)}")
    points = _check_inputs(inputs)
    eps = _check_positive(eps, "eps", allow_zero=False)
    rtol = _check_positive(rtol, "rtol", allow_zero=True)
    atol = _check_positive(atol, "atol", allow_zero=True)

    leaves = [Value(x) for x in points]
    out = _call(f, leaves)
    out.backward()
    analytic = [leaf.grad for leaf in leaves]
    rounded = _rounded(out)

    numeric: list[float] = []
    noise: list[float] = []
    for i, x in enumerate(points):
        h = (x + eps * max(1.0, abs(x))) - x  # exactly representable step
        if h == 0:
            raise ValueError(
                f"eps={eps:g} is too small to move inputs[{i}] = {x!r}; use a larger eps"
            )
        f_plus = _call(f, [Value(x + h if j == i else p) for j, p in enumerate(points)]).data
        f_minus = _call(f, [Value(x - h if j == i else p) for j, p in enumerate(points)]).data
        numeric.append((f_plus - f_minus) / (2.0 * h))  # never raises: inf - inf is nan
        noise.append(_ROUNDING * max(abs(f_plus), abs(f_minus), rounded) / (2.0 * h))

    errors, tolerances, passed = [], [], []
    for a, n, r in zip(analytic, numeric, noise, strict=True):
        error, tolerance, ok = _compare(a, n, atol + rtol * abs(n) + r)
        errors.append(error)
        tolerances.append(tolerance)
        passed.append(ok)
    return GradcheckResult(
        ok=all(passed),
        inputs=points,
        names=_names(f, len(points)),
        analytic=analytic,
        numeric=numeric,
        errors=errors,
        tolerances=tolerances,
        passed=passed,
        worst_error=max(errors),
        rtol=rtol,
        atol=atol,
        eps=eps,
    )


def _rounded(out: Value) -> float:
    """Σ_v |d(out)/dv| * |v| over the results of out's operations (leaves are exact), after
    out.backward(); 0 if it is not finite."""
    total = math.fsum(abs(v.grad * v.data) for v in topological_order(out) if v._parents)
    return total if math.isfinite(total) else 0.0  # no allowance is better than an infinite one


def _compare(analytic: float, numeric: float, tolerance: float) -> tuple[float, float, bool]:
    """(|error|, allowed error, ok); non-finite values agree only when identical (nan ~ nan)."""
    if math.isfinite(analytic) and math.isfinite(numeric):
        error = abs(analytic - numeric)
        return error, tolerance, error <= tolerance
    both_nan = math.isnan(analytic) and math.isnan(numeric)
    if both_nan or analytic == numeric:
        return 0.0, tolerance, True
    return math.inf, tolerance, False


def _call(f: Callable[..., Value], args: list[Value]) -> Value:
    """f(*args), which must be a Value."""
    out = f(*args)
    if not isinstance(out, Value):
        raise TypeError(
            f"f must return a Value (the output to differentiate), got {describe(out)}; "
            "build the result from the Values f receives"
        )
    return out


def _check_inputs(inputs: object) -> list[float]:
    """inputs as a non-empty list of finite floats (Values count as their data)."""
    if not isinstance(inputs, Sequence) or isinstance(inputs, str):
        raise TypeError(
            f"inputs must be a list of numbers (one per argument of f), got {describe(inputs)}"
        )
    if len(inputs) == 0:
        raise ValueError("inputs must hold at least one number (one per argument of f), got []")
    points = []
    for i, x in enumerate(inputs):
        value = x.data if isinstance(x, Value) else as_float(x, f"inputs[{i}]")
        if not math.isfinite(value):
            raise ValueError(f"inputs[{i}] must be finite to take differences, got {value}")
        points.append(value)
    return points


def _check_positive(x: object, name: str, allow_zero: bool) -> float:
    """x as a finite float > 0 (or >= 0 when allow_zero)."""
    value = as_float(x, name)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        expected = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {expected}, got {value}")
    return value


def _names(f: Callable[..., Value], count: int) -> list[str]:
    """f's parameter names when they can be read, else x0, x1, ..."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) == count and len(set(positional)) == count:
        return positional
    return [f"x{i}" for i in range(count)]
