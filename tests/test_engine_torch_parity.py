"""PyTorch float64 as the oracle: every operation's value and gradients, and a whole MLP's."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradengine import MLP, Value, total, weighted_sum

torch = pytest.importorskip("torch")


def run_ours(f: Callable[..., Any], inputs: Sequence[float]) -> tuple[float, list[float]]:
    leaves = [Value(x) for x in inputs]
    out = f(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def run_torch(f: Callable[..., Any], inputs: Sequence[float]) -> tuple[float, list[float]]:
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = f(*leaves)
    out.backward()
    grads = [0.0 if leaf.grad is None else leaf.grad.item() for leaf in leaves]
    return out.item(), grads


def close(ours: float, theirs: float) -> bool:
    """Equal within 1e-10 (relative) or 1e-15; inf and nan must match exactly.

    The absolute slack is a few units in the last place of 1: tanh' = 1 - tanh^2 cancels near
    saturation, so one ulp of difference between two tanh implementations shows up there.
    """
    if math.isnan(theirs):
        return math.isnan(ours)
    if math.isinf(theirs):
        return ours == theirs
    return math.isclose(ours, theirs, rel_tol=1e-10, abs_tol=1e-15)


def assert_parity(f: Callable[..., Any], g: Callable[..., Any], inputs: Sequence[float]) -> None:
    """f on Values and g on float64 tensors give the same value and gradients."""
    value, grads = run_ours(f, inputs)
    expected_value, expected_grads = run_torch(g, inputs)
    assert close(value, expected_value), f"value at {inputs}: {value} vs torch {expected_value}"
    for i, (ours, theirs) in enumerate(zip(grads, expected_grads)):
        assert close(ours, theirs), f"d/dx{i} at {inputs}: {ours} vs torch {theirs}"


def reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


ANY = reals(-50, 50)
NONZERO = st.one_of(reals(-50, -1e-3), reals(1e-3, 50))
POSITIVE = reals(1e-3, 50)
BASE = reals(1e-3, 10)
EXPONENT = reals(-4, 4)
# Small enough that tanh stays away from saturation, where 1 - tanh^2 loses all its digits.
MODERATE = st.one_of(reals(-2, -0.1), reals(0.1, 2))

# (name, the same function for Values and tensors, a strategy per input). relu is drawn
# everywhere, its kink included: both libraries give the gradient 0 at 0.
OPS: list[tuple[str, Callable[..., Any], list[st.SearchStrategy[float]]]] = [
    ("add", lambda x, y: x + y, [ANY, ANY]),
    ("add number", lambda x: x + 2.5, [ANY]),
    ("radd", lambda x: 2.5 + x, [ANY]),
    ("sub", lambda x, y: x - y, [ANY, ANY]),
    ("sub number", lambda x: x - 2.5, [ANY]),
    ("rsub", lambda x: 2.5 - x, [ANY]),
    ("mul", lambda x, y: x * y, [ANY, ANY]),
    ("mul number", lambda x: x * -1.5, [ANY]),
    ("rmul", lambda x: -1.5 * x, [ANY]),
    ("div", lambda x, y: x / y, [ANY, NONZERO]),
    ("div number", lambda x: x / 3.0, [ANY]),
    ("rdiv", lambda x: 3.0 / x, [NONZERO]),
    ("neg", lambda x: -x, [ANY]),
    ("pow Value", lambda x, y: x**y, [BASE, EXPONENT]),
    ("pow square", lambda x: x**2, [ANY]),
    ("pow cube", lambda x: x**3, [ANY]),
    ("pow inverse", lambda x: x**-1, [NONZERO]),
    ("pow half", lambda x: x**0.5, [POSITIVE]),
    ("pow zero", lambda x: x**0, [ANY]),
    ("rpow", lambda x: 2.0**x, [EXPONENT]),
    ("relu", lambda x: x.relu(), [st.one_of(ANY, st.just(0.0))]),
    ("tanh", lambda x: x.tanh(), [ANY]),
    ("exp", lambda x: x.exp(), [ANY]),
    ("log", lambda x: x.log(), [POSITIVE]),
    ("sigmoid", lambda x: x.sigmoid(), [ANY]),
    ("a graph of all", lambda x, y: ((x * y).tanh() + (x / y).exp()).sigmoid() * (x**2).log(),
     [MODERATE, MODERATE]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "domains"), OPS, ids=[row[0] for row in OPS])
@given(data=st.data())
def test_operation_matches_torch(
    name: str,
    f: Callable[..., Any],
    domains: list[st.SearchStrategy[float]],
    data: st.DataObject,
) -> None:
    assert_parity(f, f, [data.draw(domain) for domain in domains])


@given(data=st.data())
def test_weighted_sum_matches_torch(data: st.DataObject) -> None:
    inputs = [data.draw(ANY) for _ in range(7)]  # b, w1..w3, x1..x3

    def ours(b: Value, *wx: Value) -> Value:
        return weighted_sum(b, wx[:3], wx[3:])

    def theirs(b: Any, *wx: Any) -> Any:
        return b + wx[0] * wx[3] + wx[1] * wx[4] + wx[2] * wx[5]

    assert_parity(ours, theirs, inputs)


@given(data=st.data())
def test_fused_relu_neuron_matches_torch(data: st.DataObject) -> None:
    # Integers in a small range hit z = 0 exactly, where both give the gradient 0.
    small = st.one_of(ANY, st.integers(-2, 2).map(float))
    inputs = [data.draw(small) for _ in range(5)]  # b, w1, w2, x1, x2

    def ours(b: Value, w1: Value, w2: Value, x1: Value, x2: Value) -> Value:
        return weighted_sum(b, [w1, w2], [x1, x2], relu=True)

    def theirs(b: Any, w1: Any, w2: Any, x1: Any, x2: Any) -> Any:
        return torch.relu(b + w1 * x1 + w2 * x2)

    assert_parity(ours, theirs, inputs)


@given(data=st.data())
def test_total_matches_torch(data: st.DataObject) -> None:
    inputs = [data.draw(ANY) for _ in range(4)]
    assert_parity(lambda *xs: total([*xs, xs[0]]), lambda *xs: sum(xs, xs[0]), inputs)


# (name, f, inputs) where IEEE-754 decides: inf, nan, and the gradients PyTorch defines there.
EDGES: list[tuple[str, Callable[..., Any], list[float]]] = [
    ("log 0", lambda x: x.log(), [0.0]),
    ("log -1", lambda x: x.log(), [-1.0]),
    ("log inf", lambda x: x.log(), [math.inf]),
    ("1 / 0", lambda x, y: x / y, [1.0, 0.0]),
    ("-1 / 0", lambda x, y: x / y, [-1.0, 0.0]),
    ("0 / 0", lambda x, y: x / y, [0.0, 0.0]),
    ("1 / -0", lambda x, y: x / y, [1.0, -0.0]),
    ("exp 1000", lambda x: x.exp(), [1000.0]),
    ("exp -1000", lambda x: x.exp(), [-1000.0]),
    ("0 ** -1", lambda x: x**-1, [0.0]),
    ("-0 ** -1", lambda x: x**-1, [-0.0]),
    ("0 ** 0.5", lambda x: x**0.5, [0.0]),
    ("0 ** 0", lambda x: x**0, [0.0]),
    ("-8 ** (1/3)", lambda x: x ** (1 / 3), [-8.0]),
    ("0 ** Value 0", lambda x, y: x**y, [0.0, 0.0]),
    ("0 ** Value 2", lambda x, y: x**y, [0.0, 2.0]),
    ("0 ** Value -1", lambda x, y: x**y, [0.0, -1.0]),
    ("-2 ** Value 2", lambda x, y: x**y, [-2.0, 2.0]),
    ("-8 ** Value 1/3", lambda x, y: x**y, [-8.0, 1 / 3]),
    ("10 ** 400", lambda x: x**400, [10.0]),
    ("2 ** Value 5000", lambda x: 2.0**x, [5000.0]),
    ("1e200 * 1e200", lambda x, y: x * y, [1e200, 1e200]),
    ("inf - inf", lambda x, y: x - y, [math.inf, math.inf]),
    ("inf * 0", lambda x, y: x * y, [math.inf, 0.0]),
    ("sigmoid 1000", lambda x: x.sigmoid(), [1000.0]),
    ("sigmoid -1000", lambda x: x.sigmoid(), [-1000.0]),
    ("tanh inf", lambda x: x.tanh(), [math.inf]),
    ("tanh 30", lambda x: x.tanh(), [30.0]),
    ("relu 0", lambda x: x.relu(), [0.0]),
    ("relu -inf", lambda x: x.relu(), [-math.inf]),
    ("log of exp overflow", lambda x: x.exp().log(), [1000.0]),
]


@pytest.mark.parametrize(("name", "f", "inputs"), EDGES, ids=[row[0] for row in EDGES])
def test_ieee_edge_matches_torch(name: str, f: Callable[..., Any], inputs: list[float]) -> None:
    assert_parity(f, f, inputs)


# -- a whole MLP -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_gradients_match_torch_with_copied_weights(seed: int) -> None:
    mlp = MLP(3, [8, 8, 2], seed=seed)
    for i, p in enumerate(mlp.parameters()):
        p.data += 0.05 * ((i % 5) - 2)  # non-zero biases, so the check sees them too
    x = [0.7, -1.2, 0.4]
    targets = [1.0, -0.5]

    xs = [Value(v) for v in x]
    outs = mlp.forward(xs)
    loss = total([(o - t) ** 2 for o, t in zip(outs, targets)]) / 2
    loss.backward()

    def tensor(rows: list[list[float]]) -> Any:
        return torch.tensor(rows, dtype=torch.float64, requires_grad=True)

    weights = [tensor([[w.data for w in n.w] for n in layer.neurons]) for layer in mlp.layers]
    biases = [tensor([[n.b.data] for n in layer.neurons]) for layer in mlp.layers]
    h = tensor([[v] for v in x])
    a = h
    for i, (w, b) in enumerate(zip(weights, biases)):
        a = w @ a + b
        if i < len(weights) - 1:
            a = torch.relu(a)
    torch_loss = ((a - torch.tensor([[t] for t in targets], dtype=torch.float64)) ** 2).sum() / 2
    torch_loss.backward()

    assert close(loss.data, torch_loss.item())
    assert [o.data for o in outs] == pytest.approx(a.detach().flatten().tolist(), rel=1e-12)
    for layer, w, b in zip(mlp.layers, weights, biases):
        for j, n in enumerate(layer.neurons):
            assert [p.grad for p in n.w] == pytest.approx(w.grad[j].tolist(), rel=1e-10, abs=1e-13)
            assert n.b.grad == pytest.approx(b.grad[j, 0].item(), rel=1e-10, abs=1e-13)
    assert [v.grad for v in xs] == pytest.approx(h.grad.flatten().tolist(), rel=1e-10, abs=1e-13)
    assert any(p.grad != 0.0 for p in mlp.parameters())


SPECIAL_BASES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, math.inf, -math.inf, 3.0, 1e-300]
SPECIAL_EXPONENTS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, 1.5, math.inf, -math.inf]


def same_float(a: float, b: float) -> bool:
    """Equal including the sign of zero, nan equal to nan."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def torch_sqrt_misrounds(x: float) -> bool:
    """Whether PyTorch's sqrt of x is not IEEE's correctly rounded one on this machine.

    Its CPU kernels may compute sqrt to within 0.5001 ulp (SLEEF), not 0.5: on some machines
    torch.sqrt(2.0) is 1.414213562373095, one ulp below math.sqrt(2.0), and x ** 0.5 and
    x ** 1.5 (and their derivatives) follow it; gradengine's are correctly rounded.
    """
    return 0 < x < math.inf and torch.sqrt(torch.tensor(x, dtype=torch.float64)).item() != (
        math.sqrt(x)
    )


def within_two_ulps(a: float, b: float) -> bool:
    return abs(a - b) <= 2 * math.ulp(b)


@pytest.mark.parametrize("x", SPECIAL_BASES)
def test_powers_at_signed_zeros_and_infinities_match_pytorch_bit_for_bit(x):
    for y in SPECIAL_EXPONENTS:
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        (tx**ty).backward()
        vx, vy = Value(x), Value(y)
        out = vx**vy
        out.backward()
        assert same_float(out.data, (tx.detach() ** ty.detach()).item()), (x, y)
        assert same_float(vx.grad, tx.grad.item()), (x, y, "d/dx")
        assert same_float(vy.grad, ty.grad.item()), (x, y, "d/dy")
        # a number exponent: PyTorch's pow(Tensor, Scalar)
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        t_out = tx**y
        t_out.backward()
        vx = Value(x)
        out = vx**y
        out.backward()
        # PyTorch's sqrt where it is not IEEE's: equal to rounding, not bit for bit
        same = within_two_ulps if y in (0.5, 1.5) and torch_sqrt_misrounds(x) else same_float
        assert same(out.data, t_out.item()), (x, y, "x ** number")
        assert same(vx.grad, tx.grad.item()), (x, y, "d/dx of x ** number")
        if same is within_two_ulps and y == 0.5:
            assert out.data == math.sqrt(x)  # IEEE's sqrt, correctly rounded


@pytest.mark.parametrize(
    ("x", "y"), [(1e-200, 1e-200), (0.0, 1e-170), (3.0, 1e-160), (-2.0, -1e-155)]
)
def test_division_by_a_tiny_number_gives_pytorchs_gradients(x, y):
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    (tx / ty).backward()
    vx, vy = Value(x), Value(y)
    (vx / vy).backward()
    assert same_float(vx.grad, tx.grad.item())
    assert vy.grad == pytest.approx(ty.grad.item(), rel=1e-15)  # -1e200 for 1e-200 / 1e-200


SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-300, -1e-300, 1e300, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("x", SPECIAL)
def test_quotients_at_signed_zeros_and_infinities_match_pytorch_bit_for_bit(x):
    for y in SPECIAL:
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        t_out = tx / ty
        t_out.backward()
        vx, vy = Value(x), Value(y)
        out = vx / vy
        out.backward()
        assert same_float(out.data, t_out.item()), (x, y)
        assert same_float(vx.grad, tx.grad.item()), (x, y, "d/dx")
        assert same_float(vy.grad, ty.grad.item()), (x, y, "d/dy")
