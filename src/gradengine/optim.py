"""Optimizers that update parameters from their gradients: SGD, Adam (AdamW), and a linear schedule.

Each follows the update rule of its PyTorch namesake (``torch.optim.SGD``, ``torch.optim.AdamW``)
operation for operation, so the two agree step for step to rounding error.

``step()`` updates the Values' ``.data`` from their ``.grad``. ``step_arrays(data, grads)`` is
the same update, written once with the same arithmetic, on the parameters held in an array (a
NumPy array, or a list of floats) while a compiled program trains them
(gradengine.compile.batched): the optimizer keeps its state (momentum, Adam's m and v) for that
array beside the one for the Values.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from typing import Any

from gradengine.checks import as_float, check_size, describe, type_name
from gradengine.engine import Value


def _check_number(x: object, what: str, *, low: float, high: float = math.inf) -> float:
    """x as a finite float with low <= x < high (x == low allowed); ValueError naming `what`."""
    number = as_float(x, what)
    if not (math.isfinite(number) and low <= number < high):
        bound = f"in [{low:g}, {high:g})" if math.isfinite(high) else f">= {low:g}"
        raise ValueError(f"{what} must be a finite number {bound}, got {number!r}")
    return number


def _check_parameters(params: object) -> list[Value]:
    """params as a non-empty list of distinct Values; TypeError or ValueError otherwise."""
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            "params must be an iterable of Values such as model.parameters(), "
            f"got {describe(params)}"
        )
    parameters = list(params)
    if not parameters:
        raise ValueError("params is empty: the optimizer needs at least one parameter to update")
    seen: set[int] = set()
    for i, p in enumerate(parameters):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] must be a Value, got {describe(p)}")
        if id(p) in seen:
            # The same Value twice would be updated twice per step.
            raise ValueError(f"params[{i}] appears more than once in params")
        seen.add(id(p))
    return parameters


def _elementwise(f: Callable[..., Any], *arrays: Any) -> Any:
    """f over the arrays element by element: itself for NumPy arrays, a list for lists."""
    if isinstance(arrays[0], list):
        return [f(*xs) for xs in zip(*arrays, strict=True)]
    with sys.modules["numpy"].errstate(all="ignore"):  # overflow gives inf, as with floats
        return f(*arrays)


def _copy(array: Any) -> Any:
    return list(array) if isinstance(array, list) else array.copy()


def _check_array_gradients(grads: Any) -> None:
    """FloatingPointError, before any change, if a gradient in the array is inf or nan."""
    numpy = sys.modules.get("numpy")  # an array is NumPy's: it is imported already
    if numpy is not None and isinstance(grads, numpy.ndarray):
        finite = numpy.isfinite(grads)
        bad = [] if finite.all() else [int(numpy.argmin(finite))]
    else:
        bad = [i for i, g in enumerate(grads) if not math.isfinite(g)]
    if bad:
        i = bad[0]
        raise FloatingPointError(
            f"parameter {i} of {len(grads)} has a non-finite gradient {float(grads[i])!r}; "
            "no parameter was changed (look for a loss that overflowed or divided by 0)"
        )


class Optimizer:
    """What every optimizer shares: the parameters, a learning rate, zero_grad()."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = _check_parameters(params)
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate: a finite number >= 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_number(value, "the learning rate lr", low=0.0)

    def zero_grad(self) -> None:
        """grad := 0 for every parameter"""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its grad."""
        raise NotImplementedError

    def step_arrays(self, data: Any, grads: Any) -> None:
        """The update of step(), in place on data (the parameters, in order) from grads."""
        raise NotImplementedError

    def _check_gradients(self) -> list[float]:
        """Every grad, after checking that all are finite; FloatingPointError before any change."""
        grads = [p.grad for p in self.params]
        for i, g in enumerate(grads):
            if not math.isfinite(g):
                raise FloatingPointError(
                    f"parameter {i} of {len(grads)} has a non-finite gradient {g!r}; "
                    "no parameter was changed (look for a loss that overflowed or divided by 0)"
                )
        return grads


class SGD(Optimizer):
    """Stochastic gradient descent, as torch.optim.SGD (dampening 0).

    g = grad + weight_decay * p;  b = momentum * b + g (b = g on the first step);
    p -= lr * (g + momentum * b) with nesterov, else p -= lr * b (p -= lr * g without momentum).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_number(momentum, "momentum", low=0.0)
        self.weight_decay = _check_number(weight_decay, "weight_decay", low=0.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {type_name(nesterov)}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0, got momentum=0")
        self.nesterov = nesterov
        self.velocity: list[float] | None = None  # the momentum buffers b, one per parameter
        self.array_velocity: Any = None  # the same for step_arrays

    def step(self) -> None:
        """p -= lr * direction, the direction as in the class docstring."""
        grads = self._check_gradients()
        lr, momentum, decay = self.lr, self.momentum, self.weight_decay
        if decay != 0:
            grads = [g + decay * p.data for g, p in zip(grads, self.params, strict=True)]
        if momentum != 0:
            if self.velocity is None:
                self.velocity = list(grads)
            else:
                self.velocity = [
                    momentum * b + g for b, g in zip(self.velocity, grads, strict=True)
                ]
            if self.nesterov:
                grads = [g + momentum * b for g, b in zip(grads, self.velocity, strict=True)]
            else:
                grads = self.velocity
        for p, g in zip(self.params, grads, strict=True):
            p.data -= lr * g

    def step_arrays(self, data: Any, grads: Any) -> None:
        """p -= lr * direction for the parameters in the array data, as step() does."""
        _check_array_gradients(grads)
        lr, momentum, decay = self.lr, self.momentum, self.weight_decay
        if decay == 0 and momentum == 0 and not isinstance(data, list):
            with sys.modules["numpy"].errstate(all="ignore"):  # overflow gives inf
                data -= lr * grads  # p - lr * g, in place
            return
        if decay != 0:
            grads = _elementwise(lambda g, p: g + decay * p, grads, data)
        if momentum != 0:
            if self.array_velocity is None:
                self.array_velocity = _copy(grads)
            else:
                self.array_velocity = _elementwise(
                    lambda b, g: momentum * b + g, self.array_velocity, grads
                )
            if self.nesterov:
                grads = _elementwise(lambda g, b: g + momentum * b, grads, self.array_velocity)
            else:
                grads = self.array_velocity
        data[:] = _elementwise(lambda p, g: p - lr * g, data, grads)


class Adam(Optimizer):
    """Adam with decoupled weight decay, as torch.optim.AdamW.

    p *= 1 - lr * weight_decay;  m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²;
    p -= lr / (1 - β1^t) * m / (sqrt(v) / sqrt(1 - β2^t) + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r:.60}")
        self.betas = (
            _check_number(betas[0], "betas[0]", low=0.0, high=1.0),
            _check_number(betas[1], "betas[1]", low=0.0, high=1.0),
        )
        self.eps = _check_number(eps, "eps", low=0.0)
        if self.eps == 0:
            raise ValueError("eps must be > 0 (it keeps the update finite where v = 0), got 0.0")
        self.weight_decay = _check_number(weight_decay, "weight_decay", low=0.0)
        self.steps = 0
        self.m = [0.0] * len(self.params)  # running mean of the gradients
        self.v = [0.0] * len(self.params)  # running mean of the squared gradients
        self.array_steps = 0  # the same three for step_arrays
        self.array_m: Any = None
        self.array_v: Any = None

    def step(self) -> None:
        """One AdamW update of every parameter, as in the class docstring."""
        grads = self._check_gradients()
        beta1, beta2 = self.betas
        self.steps += 1
        lr, eps = self.lr, self.eps
        step_size = lr / (1.0 - beta1**self.steps)
        root_correction = math.sqrt(1.0 - beta2**self.steps)
        shrink = 1.0 - lr * self.weight_decay
        m, v = self.m, self.v
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            # m + (1 - β1)(g - m) equals β1 m + (1 - β1) g; PyTorch rounds it this way (lerp).
            m[i] += (1.0 - beta1) * (g - m[i])
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            p.data *= shrink
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / root_correction + eps)

    def step_arrays(self, data: Any, grads: Any) -> None:
        """One AdamW update of the parameters in the array data, as step() does."""
        _check_array_gradients(grads)
        beta1, beta2 = self.betas
        self.array_steps += 1
        t = self.array_steps
        lr, eps = self.lr, self.eps
        step_size = lr / (1.0 - beta1**t)
        root_correction = math.sqrt(1.0 - beta2**t)
        shrink = 1.0 - lr * self.weight_decay
        if self.array_m is None:
            self.array_m = _elementwise(lambda g: 0.0 * g + 0.0, grads)  # +0.0, not -0.0
            self.array_v = _copy(self.array_m)
        m = _elementwise(lambda m, g: m + (1.0 - beta1) * (g - m), self.array_m, grads)
        v = _elementwise(lambda v, g: beta2 * v + (1.0 - beta2) * g * g, self.array_v, grads)
        self.array_m, self.array_v = m, v
        sqrt: Callable[[Any], Any] = math.sqrt if isinstance(v, list) else lambda x: x**0.5
        data[:] = _elementwise(
            lambda p, m, v: p * shrink - step_size * m / (sqrt(v) / root_correction + eps),
            data,
            m,
            v,
        )


class LinearSchedule:
    """lr = base_lr * (1 - (1 - end_factor) * k / total_steps) after k calls of step(), k capped.

    micrograd's demo, lr = 1.0 - 0.9 * k / 100, is LinearSchedule(SGD(params, lr=1.0), 100, 0.1).
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, end_factor: float = 0.1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an SGD or Adam, got {describe(optimizer)}")
        self.optimizer = optimizer
        self.total_steps = check_size(total_steps, "total_steps")
        self.end_factor = _check_number(end_factor, "end_factor", low=0.0)
        self.base_lr = optimizer.lr
        self.steps = 0

    def step(self) -> None:
        """k += 1 (up to total_steps), then set the optimizer's lr for step k."""
        self.steps = min(self.steps + 1, self.total_steps)
        fraction = self.steps / self.total_steps
        self.optimizer.lr = self.base_lr * (1.0 - (1.0 - self.end_factor) * fraction)
