"""Gradients of gradients (higher.py) against closed forms, finite differences and PyTorch.

The comparisons with PyTorch take the `torch` fixture and are skipped, saying why, without it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gradengine import MLP, Value, higher, total, weighted_sum
from gradengine.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2, mse
from gradengine.viz import explain, to_dot, to_mermaid

F = Callable[..., Any]


@pytest.fixture
def torch() -> Iterator[Any]:
    """PyTorch with float64 as its default dtype for the test; skipped, saying so, without it."""
    torch = pytest.importorskip(
        "torch", reason="compares with PyTorch, which is not installed (pip install torch==2.13.0)"
    )
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


# name, f (works on Values and on torch tensors), point
BINARY: list[tuple[str, F, tuple[float, float]]] = [
    ("+", lambda x, y: (x + y) * (x + y) * x, (0.7, -1.3)),
    ("-", lambda x, y: (x - y) * (x - y) * y, (0.7, -1.3)),
    ("*", lambda x, y: x * y, (0.7, -1.3)),
    ("/", lambda x, y: x / y, (0.7, -1.3)),
    ("** value", lambda x, y: x**y, (1.7, 2.3)),
    ("rtruediv", lambda x, y: 2.0 / (x * y), (0.7, -1.3)),
    ("rpow", lambda x, y: 2.0 ** (x * y), (0.7, -1.3)),
]

# name, f, f', f'', f''' (closed forms), point
UNARY: list[tuple[str, F, F, F, F, float]] = [
    ("neg", lambda x: -(x * x), lambda x: -2 * x, lambda x: -2.0, lambda x: 0.0, 0.8),
    ("**3", lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0, 0.8),
    (
        "**-1.5",
        lambda x: x**-1.5,
        lambda x: -1.5 * x**-2.5,
        lambda x: 3.75 * x**-3.5,
        lambda x: -13.125 * x**-4.5,
        0.8,
    ),
    ("relu", lambda x: x.relu(), lambda x: 1.0, lambda x: 0.0, lambda x: 0.0, 0.8),
    ("relu<0", lambda x: x.relu(), lambda x: 0.0, lambda x: 0.0, lambda x: 0.0, -0.8),
    (
        "tanh",
        lambda x: x.tanh(),
        lambda x: 1 - math.tanh(x) ** 2,
        lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
        lambda x: (1 - math.tanh(x) ** 2) * (6 * math.tanh(x) ** 2 - 2),
        0.8,
    ),
    ("exp", lambda x: x.exp(), math.exp, math.exp, math.exp, 0.8),
    ("log", lambda x: x.log(), lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3, 0.8),
]


def _s(x: float) -> float:
    return 1 / (1 + math.exp(-x))


UNARY.append(
    (
        "sigmoid",
        lambda x: x.sigmoid(),
        lambda x: _s(x) * (1 - _s(x)),
        lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x)),
        lambda x: _s(x) * (1 - _s(x)) * (1 - 6 * _s(x) + 6 * _s(x) ** 2),
        0.8,
    )
)


def derivatives(f: F, point: tuple[float, ...], order: int) -> dict[tuple[int, ...], float]:
    """{(i, j, ...): ∂^k f / ∂x_i ∂x_j ...} for k = 1..order, by repeated grad(create_graph)."""
    leaves = [Value(p) for p in point]
    found: dict[tuple[int, ...], float] = {}
    layer: dict[tuple[int, ...], Value] = {(): f(*leaves)}
    for _ in range(order):
        nxt = {}
        for index, v in layer.items():
            gs = higher.grad(v, leaves, create_graph=True, allow_unused=True)
            for i, g in enumerate(gs):
                nxt[(*index, i)] = g
                found[(*index, i)] = g.data
        layer = nxt
    return found


def torch_derivatives(f: F, point: tuple[float, ...], order: int) -> dict[tuple[int, ...], float]:
    import torch  # only called by the tests that take the torch fixture

    leaves = [torch.tensor(p, requires_grad=True) for p in point]
    found: dict[tuple[int, ...], float] = {}
    layer: dict[tuple[int, ...], Any] = {(): f(*leaves)}
    for _ in range(order):
        nxt = {}
        for index, v in layer.items():
            if not v.requires_grad:
                gs: list[Any] = [None] * len(leaves)
            else:
                gs = list(torch.autograd.grad(v, leaves, create_graph=True, allow_unused=True))
            for i, g in enumerate(gs):
                g = torch.zeros(()) if g is None else g
                nxt[(*index, i)] = g
                found[(*index, i)] = g.item()
        layer = nxt
    return found


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(b))


worst: list[float] = [0.0]


def assert_agree(ours: dict[Any, float], theirs: dict[Any, float], tol: float = 1e-9) -> None:
    assert ours.keys() == theirs.keys()
    for k in ours:
        assert close(ours[k], theirs[k], tol), (k, ours[k], theirs[k])
        if math.isfinite(ours[k]) and math.isfinite(theirs[k]):
            worst[0] = max(worst[0], abs(ours[k] - theirs[k]) / max(1.0, abs(theirs[k])))


@pytest.mark.parametrize(("name", "f", "point"), BINARY, ids=[b[0] for b in BINARY])
def test_binary_operations_to_third_order_agree_with_torch(
    name: str, f: F, point: Any, torch: Any
) -> None:
    assert_agree(derivatives(f, point, 3), torch_derivatives(f, point, 3))


def test_division_and_power_closed_forms() -> None:
    x, y = 0.7, -1.3
    d = derivatives(lambda a, b: a / b, (x, y), 3)
    assert d[(0, 1)] == pytest.approx(-1 / y**2)
    assert d[(1, 1)] == pytest.approx(2 * x / y**3)
    assert d[(1, 1, 1)] == pytest.approx(-6 * x / y**4)
    assert d[(0, 1, 1)] == pytest.approx(2 / y**3)
    assert d[(0, 0)] == 0.0
    x, y = 1.7, 2.3
    d = derivatives(lambda a, b: a**b, (x, y), 2)
    assert d[(0, 0)] == pytest.approx(y * (y - 1) * x ** (y - 2))
    assert d[(1, 1)] == pytest.approx(x**y * math.log(x) ** 2)
    assert d[(0, 1)] == pytest.approx(x ** (y - 1) * (1 + y * math.log(x)))
    d = derivatives(lambda a, b: a * b, (x, y), 3)
    assert (d[(0, 0)], d[(0, 1)], d[(1, 1)]) == (0.0, 1.0, 0.0)
    assert all(d[k] == 0.0 for k in d if len(k) == 3)


@pytest.mark.parametrize(("name", "f", "d1", "d2", "d3", "x"), UNARY, ids=[u[0] for u in UNARY])
def test_unary_operations_closed_forms_finite_differences_and_torch(
    name: str, f: F, d1: F, d2: F, d3: F, x: float
) -> None:
    d = derivatives(f, (x,), 3)
    assert d[(0,)] == pytest.approx(d1(x), rel=1e-12, abs=1e-15)
    assert d[(0, 0)] == pytest.approx(d2(x), rel=1e-12, abs=1e-15)
    assert d[(0, 0, 0)] == pytest.approx(d3(x), rel=1e-12, abs=1e-15)

    def first(p: float) -> float:
        (g,) = higher.grad(f(v := Value(p)), [v], allow_unused=True)
        return g.data

    def second(p: float) -> float:
        return higher.hessian(f, [p])[0][0]

    h = 1e-5
    assert d[(0, 0)] == pytest.approx((first(x + h) - first(x - h)) / (2 * h), rel=1e-6, abs=1e-8)
    assert d[(0, 0, 0)] == pytest.approx(
        (second(x + h) - second(x - h)) / (2 * h), rel=1e-5, abs=1e-6
    )


@pytest.mark.parametrize(("name", "f", "d1", "d2", "d3", "x"), UNARY, ids=[u[0] for u in UNARY])
def test_unary_operations_to_third_order_agree_with_torch(
    name: str, f: F, d1: F, d2: F, d3: F, x: float, torch: Any
) -> None:
    assert_agree(derivatives(f, (x,), 3), torch_derivatives(f, (x,), 3))


def test_weighted_sum_and_total_to_third_order(torch: Any) -> None:
    def f(b: Value, w: Value, x: Value) -> Value:
        z = weighted_sum(b, [w, w * x], [x, x])  # b + w x + w x^2
        return total([z * z, x, b])

    b, w, x = 0.3, -0.7, 1.1
    d = derivatives(f, (b, w, x), 3)
    z = b + w * x + w * x * x
    dz = {0: 1.0, 1: x + x * x, 2: w + 2 * w * x}
    assert d[(0,)] == pytest.approx(2 * z + 1)
    assert d[(1,)] == pytest.approx(2 * z * dz[1])
    assert d[(2,)] == pytest.approx(2 * z * dz[2] + 1)
    assert d[(0, 0)] == pytest.approx(2.0)
    assert d[(1, 2)] == pytest.approx(2 * dz[2] * dz[1] + 2 * z * (1 + 2 * x))

    def g(b: Any, w: Any, x: Any) -> Any:
        z = b + w * x + (w * x) * x
        return z * z + x + b

    assert_agree(d, torch_derivatives(g, (b, w, x), 3))


def test_relu_weighted_sum_has_zero_second_derivative_in_its_own_inputs() -> None:
    d = derivatives(lambda b, w, x: weighted_sum(b, [w], [x], relu=True), (0.5, 2.0, 3.0), 2)
    assert d[(1,)] == 3.0 and d[(2,)] == 2.0 and d[(0,)] == 1.0
    assert d[(1, 2)] == 1.0 and d[(2, 1)] == 1.0 and d[(0, 0)] == 0.0
    d = derivatives(lambda b, w, x: weighted_sum(b, [w], [x], relu=True), (-9.0, 2.0, 3.0), 2)
    assert all(v == 0.0 for v in d.values())


STEPS: dict[str, F] = {
    "+": lambda a, b, c: a + b,
    "-": lambda a, b, c: a - c * b,
    "*": lambda a, b, c: a * b,
    "/": lambda a, b, c: a / (1.5 + b * b),
    "tanh": lambda a, b, c: (a * c).tanh(),
    "sigmoid": lambda a, b, c: (a + c).sigmoid(),
    "exp": lambda a, b, c: a.tanh().exp(),
    "log": lambda a, b, c: (1.0 + a * a).log(),
    "pow": lambda a, b, c: (1.0 + b * b) ** a.tanh(),
    "sq": lambda a, b, c: a**2 * c,
    "relu": lambda a, b, c: (a + c).relu() * b,
}


def random_program(seed: int, n: int) -> F:
    """A random function of n inputs, written with methods shared by Values and torch tensors."""
    rng = random.Random(seed)
    steps = []
    for k in range(8):
        op = rng.choice(sorted(STEPS))
        steps.append((op, rng.randrange(n + k), rng.randrange(n + k), rng.uniform(-2, 2)))

    def f(*xs: Any) -> Any:
        vs = list(xs)
        for op, i, j, c in steps:
            vs.append(STEPS[op](vs[i], vs[j], c))
        return vs[-1] * vs[-2] + vs[-3]

    return f


@pytest.mark.parametrize("seed", range(25))
def test_hessian_and_hvp_of_random_graphs_agree_with_torch(seed: int, torch: Any) -> None:
    rng = random.Random(1000 + seed)
    n = 3
    f = random_program(seed, n)
    xs = [rng.uniform(-1.5, 1.5) for _ in range(n)]
    v = [rng.uniform(-1, 1) for _ in range(n)]
    ours = higher.hessian(f, xs)
    theirs = torch.autograd.functional.hessian(lambda t: f(*t), torch.tensor(xs)).tolist()
    assert_agree(
        {(i, j): ours[i][j] for i in range(n) for j in range(n)},
        {(i, j): theirs[i][j] for i in range(n) for j in range(n)},
    )
    hv = higher.hvp(f, xs, v)
    _, thv = torch.autograd.functional.hvp(lambda t: f(*t), torch.tensor(xs), torch.tensor(v))
    assert_agree(dict(enumerate(hv)), dict(enumerate(thv.tolist())))
    assert hv == pytest.approx([sum(ours[i][j] * v[j] for j in range(n)) for i in range(n)])


@pytest.mark.parametrize("seed", range(10))
def test_jvp_agrees_with_torch_func_and_finite_differences(seed: int, torch: Any) -> None:
    rng = random.Random(2000 + seed)
    f = random_program(seed, 3)
    xs = [rng.uniform(-1.5, 1.5) for _ in range(3)]
    t = [rng.uniform(-1, 1) for _ in range(3)]
    value, tangent = higher.jvp(f, xs, t)
    tv, tt = torch.func.jvp(lambda a: f(*a), (torch.tensor(xs),), (torch.tensor(t),))
    assert_agree({0: value, 1: tangent}, {0: tv.item(), 1: tt.item()})
    h = 1e-6

    def at(s: float) -> float:
        return float(f(*[Value(x + s * ti) for x, ti in zip(xs, t)]).data)

    assert tangent == pytest.approx((at(h) - at(-h)) / (2 * h), rel=1e-5, abs=1e-6)


def test_jvp_of_many_outputs_and_grad_of_many_inputs() -> None:
    values, tangents = higher.jvp(lambda x: [x * k + x.exp() for k in range(4)], [0.5], [2.0])
    assert values == pytest.approx([k * 0.5 + math.exp(0.5) for k in range(4)])
    assert tangents == pytest.approx([2 * (k + math.exp(0.5)) for k in range(4)])
    value, gs = higher.value_and_grad(lambda a, b, c: a * b * c)(2.0, 3.0, 5.0)
    assert value.data == 30.0 and [g.data for g in gs] == [15.0, 10.0, 6.0]


def test_functional_grad_composes_to_any_order() -> None:
    def f(x: Value) -> Value:
        return x**4

    d = higher.grad
    assert [d(f)(2.0).data, d(d(f))(2.0).data, d(d(d(f)))(2.0).data] == [32.0, 48.0, 48.0]
    assert d(d(d(d(d(f)))))(2.0).data == 0.0
    assert d(f).__doc__ == "∇f(xs): the gradient, as Values"


# -- nan, inf and kinks, as PyTorch ---------------------------------------------------------------

EDGE: list[tuple[str, F, float]] = [
    ("relu at 0", lambda x: x.relu(), 0.0),
    ("relu of nan", lambda x: x.relu(), math.nan),
    ("relu squared at 0", lambda x: x.relu() * x.relu(), 0.0),
    ("log at 0", lambda x: x.log(), 0.0),
    ("log below 0", lambda x: x.log(), -1.0),
    ("sqrt at 0", lambda x: x**0.5, 0.0),
    ("1/x at 0", lambda x: 1.0 / x, 0.0),
    ("x^2 at 0", lambda x: x**2, 0.0),
    ("exp overflow", lambda x: x.exp(), 800.0),
    ("tanh at inf", lambda x: x.tanh(), math.inf),
    ("sigmoid at -inf", lambda x: x.sigmoid(), -math.inf),
    ("x*x at inf", lambda x: x * x, math.inf),
]


@pytest.mark.parametrize(("name", "f", "x"), EDGE, ids=[e[0] for e in EDGE])
def test_nan_inf_and_kinks_as_torch(name: str, f: F, x: float, torch: Any) -> None:
    assert_agree(derivatives(f, (x,), 3), torch_derivatives(f, (x,), 3))


# -- what it does not do --------------------------------------------------------------------------


def lecture_square(x: Value) -> Value:
    out = Value(x.data**2, (x,), "sq")

    def _backward() -> None:
        x.grad += 2 * x.data * out.grad

    out._backward = _backward
    return out


def test_lecture_nodes_have_first_but_no_higher_derivatives() -> None:
    x = Value(3.0)
    y = lecture_square(x) * 2.0
    assert "_backward" in vars(y._parents[0])  # made by hand, with its own _backward
    assert higher.grad(y, [x])[0].data == 12.0
    with pytest.raises(TypeError, match="'sq' has no higher-order derivatives"):
        higher.grad(y, [x], create_graph=True)
    with pytest.raises(TypeError, match="no higher-order derivatives"):
        higher.hessian(lambda v: lecture_square(v), [1.0])
    assert higher.jvp(lecture_square, [3.0], [1.0]) == (9.0, 6.0)


def test_bad_arguments() -> None:
    x, y = Value(1.0), Value(2.0)
    z = x * 3.0
    with pytest.raises(ValueError, match="not used"):
        higher.grad(z, [x, y])
    assert [g.data for g in higher.grad(z, [x, y], allow_unused=True)] == [3.0, 0.0]
    assert [g.data for g in higher.grad(z, x)] == [3.0]
    with pytest.raises(TypeError, match="output must be a Value"):
        higher.grad(3.0, [x])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value"):
        higher.grad(z, [x, 2.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="inputs is empty"):
        higher.grad(z, [])
    with pytest.raises(TypeError, match="create_graph must be True or False"):
        higher.grad(z, [x], create_graph=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one number per x"):
        higher.hvp(lambda a: a * a, [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="one number per x"):
        higher.jvp(lambda a: a * a, [1.0], [])
    with pytest.raises(TypeError, match="xs must be a sequence"):
        higher.hessian(lambda a: a * a, 1.0)  # type: ignore[arg-type]


def test_grad_leaves_grad_and_backward_unchanged() -> None:
    x, y = Value(0.3), Value(-1.2)
    out = (x * y).tanh() + (x / y).exp() * x
    out.backward()
    before = (x.grad, y.grad)
    fast = higher.grad(out, [x, y])
    slow = higher.grad(out, [x, y], create_graph=True)
    assert (x.grad, y.grad) == before
    assert [g.data for g in fast] == list(before)
    assert [g.data for g in slow] == pytest.approx(list(before), rel=1e-15)
    assert all(g._operation.name == "" for g in fast)  # constants
    assert all(g._parents for g in slow)  # graphs
    higher.grad(slow[0], [x, y])
    x.grad = y.grad = 0.0
    out.backward()
    assert (x.grad, y.grad) == before


def test_values_namespace() -> None:
    m = higher.VALUES
    assert m.divide(1.0, 0.0) == math.inf
    assert isinstance(m.divide(Value(1.0), 2.0), Value)
    assert m.power(2.0, 3.0) == 8.0 and m.power(2.0, Value(3.0)).data == 8.0
    assert m.step(-1.0) == 0.0 and m.step(math.nan) == 1.0 and m.step(0.5) == 1.0
    assert m.step(Value(-1.0)).data == 0.0 and m.step(Value(math.nan)).data == 1.0
    assert m.real(2.5) == 2.5 and m.where(False, 1, 2) == 2 and m.where(True, 1, 2) == 1
    assert m.where(m.real(Value(2.5)) > 2, 1.0, 2.0).data == 1.0
    assert m.log(0.0) == -math.inf and m.exp(Value(0.0)).data == 1.0
    assert m.tanh(0.0) == 0.0 and m.sigmoid(Value(0.0)).data == 0.5


# -- losses ---------------------------------------------------------------------------------------


def test_hessian_of_an_mlp_mse_plus_l2_loss_agrees_with_torch(torch: Any) -> None:
    model = MLP(2, [3, 1], seed=0)
    params = model.parameters()
    xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8]]
    ys = [1.0, -0.5, 0.3]

    def our_loss() -> Value:
        preds = [model(x) for x in xs]
        return mse(preds, ys) + l2(params, 0.01)

    loss = our_loss()
    first = higher.grad(loss, params, create_graph=True, allow_unused=True)
    ours = [[h.data for h in higher.grad(g, params, allow_unused=True)] for g in first]
    loss.backward()
    assert [g.data for g in first] == pytest.approx([p.grad for p in params], rel=1e-12)

    def torch_loss(theta: Any) -> Any:
        at = {id(p): theta[k] for k, p in enumerate(params)}
        preds = []
        for x in xs:
            h: list[Any] = [torch.tensor(v) for v in x]
            for layer in model.layers:
                h = [
                    (lambda z, n=n: z.relu() if n.nonlin else z)(
                        at[id(n.b)] + sum(at[id(w)] * hi for w, hi in zip(n.w, h))
                    )
                    for n in layer.neurons
                ]
            preds.append(h[0])
        p = torch.stack(preds)
        return ((p - torch.tensor(ys)) ** 2).mean() + 0.01 * (theta**2).sum()

    theirs = torch.autograd.functional.hessian(torch_loss, torch.tensor([p.data for p in params]))
    k = len(params)
    assert_agree(
        {(i, j): ours[i][j] for i in range(k) for j in range(k)},
        {(i, j): theirs[i][j].item() for i in range(k) for j in range(k)},
    )
    assert any(ours[i][j] != 0 for i in range(k) for j in range(k) if i != j)


def test_mse_with_value_targets_and_l2_with_numbers_have_higher_derivatives() -> None:
    d = derivatives(lambda p, t: mse([p, 2.0], [t, p]), (0.5, 1.5), 3)
    # (p - t)^2 / 2 + (2 - p)^2 / 2
    assert (d[(0,)], d[(1,)]) == pytest.approx((-1.0 - 1.5, 1.0))
    assert (d[(0, 0)], d[(0, 1)], d[(1, 1)]) == pytest.approx((2.0, -1.0, 1.0))
    assert all(v == 0.0 for k, v in d.items() if len(k) == 3)
    d = derivatives(lambda p: l2([p, 3.0, p * p], 0.5), (2.0,), 2)
    # 0.5 (p^2 + 9 + p^4): d = p + 2 p^3, d2 = 1 + 6 p^2
    assert (d[(0,)], d[(0, 0)]) == (18.0, 25.0)


def test_bce_and_hinge_to_third_order_agree_with_torch(torch: Any) -> None:
    point = (0.7, -2.5, 0.3)

    def ours(a: Value, b: Value, t: Value) -> Value:
        bce = binary_cross_entropy_with_logits([a * b, b, 40.0 * a], [t, 0.25, 1.0])
        return bce + hinge([a * b, a - b, 3.0], [1, -1, 1])

    def theirs(a: Any, b: Any, t: Any) -> Any:
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            torch.stack([a * b, b, 40.0 * a]),
            torch.stack([t, torch.tensor(0.25), torch.tensor(1.0)]),
        )
        margins = 1 - torch.tensor([1.0, -1.0, 1.0]) * torch.stack(
            [a * b, a - b, torch.tensor(3.0)]
        )
        return bce + margins.clamp(min=0).mean()

    assert_agree(derivatives(ours, point, 3), torch_derivatives(theirs, point, 3))


def test_cross_entropy_has_second_derivatives() -> None:
    """ln(e^2x + e^x) - 2x: first derivative s(x) - 1, second s(x) (1 - s(x)), by hand."""
    x = Value(0.3)
    loss = cross_entropy([[x * 2.0, x]], [0])
    (dx,) = higher.grad(loss, [x], create_graph=True)
    assert dx.data == pytest.approx(_s(0.3) - 1, rel=1e-14)
    (dxx,) = higher.grad(dx, [x])
    assert dxx.data == pytest.approx(_s(0.3) * (1 - _s(0.3)), rel=1e-12)


def test_a_gradient_graph_can_be_explained_and_drawn() -> None:
    x = Value(3.0, label="x")
    (dy,) = higher.grad(x * x * x, [x], create_graph=True)
    text = explain(dy)
    assert text.startswith("Backward pass of") and "total 18.0" in text  # d2/dx2 x^3 = 6x
    assert to_dot(dy).startswith("digraph") and to_mermaid(dy).startswith("flowchart")


def test_worst_disagreement_with_torch_is_tiny(torch: Any) -> None:
    print(f"worst relative disagreement with PyTorch so far: {worst[0]:.3g}")
    assert worst[0] < 1e-12
