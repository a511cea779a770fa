"""Losses: values and gradients against PyTorch float64 and central differences; bad input."""

import math
import random

import pytest

from gradengine import Value
from gradengine.engine import topological_order
from gradengine.gradcheck import gradcheck
from gradengine.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    loss_of_inputs,
    mse,
)


def random_case(name, seed, n=6, k=3):
    """(loss function of a flat list of floats, the floats, the fixed non-differentiated args)."""
    rng = random.Random(seed)
    if name == "mse":
        targets = [rng.uniform(-2, 2) for _ in range(n)]
        return (lambda xs: mse(xs, targets)), [rng.uniform(-2, 2) for _ in range(n)], targets
    if name == "hinge":
        labels = [rng.choice([-1, 1]) for _ in range(n)]
        return (lambda xs: hinge(xs, labels)), [rng.uniform(-2, 2) for _ in range(n)], labels
    if name == "bce":
        targets = [rng.random() for _ in range(n)]
        loss = lambda xs: binary_cross_entropy_with_logits(xs, targets)  # noqa: E731
        return loss, [rng.uniform(-5, 5) for _ in range(n)], targets
    if name == "cross_entropy":
        classes = [rng.randrange(k) for _ in range(n)]
        loss = lambda xs: cross_entropy([xs[i * k : (i + 1) * k] for i in range(n)], classes)  # noqa: E731
        return loss, [rng.uniform(-4, 4) for _ in range(n * k)], classes
    loss = lambda xs: l2(xs, alpha=0.3)  # noqa: E731
    return loss, [rng.uniform(-2, 2) for _ in range(n)], None


def torch_loss(name, torch, x, fixed, n=6, k=3):
    """The same loss written with torch.nn.functional (float64)."""
    F = torch.nn.functional
    if name == "mse":
        return F.mse_loss(x, torch.tensor(fixed, dtype=torch.float64))
    if name == "hinge":
        return torch.relu(1 - torch.tensor(fixed, dtype=torch.float64) * x).mean()
    if name == "bce":
        return F.binary_cross_entropy_with_logits(x, torch.tensor(fixed, dtype=torch.float64))
    if name == "cross_entropy":
        return F.cross_entropy(x.reshape(n, k), torch.tensor(fixed))
    return 0.3 * (x * x).sum()


NAMES = ["mse", "hinge", "bce", "cross_entropy", "l2"]


def gradient(loss, xs):
    """(loss value, d loss / d xs) from gradengine."""
    values = [Value(x) for x in xs]
    out = loss(values)
    out.backward()
    return out.data, [v.grad for v in values]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(5))
def test_value_and_gradient_match_torch(name, seed):
    torch = pytest.importorskip("torch")
    loss, xs, fixed = random_case(name, seed)
    data, grads = gradient(loss, xs)
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    expected = torch_loss(name, torch, x, fixed)
    expected.backward()
    assert data == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    assert grads == pytest.approx(x.grad.tolist(), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(5))
def test_gradient_matches_central_differences(name, seed):
    loss, xs, _ = random_case(name, seed + 100)
    _, grads = gradient(loss, xs)
    h = 1e-6
    for i in range(len(xs)):
        up = [x + h if j == i else x for j, x in enumerate(xs)]
        down = [x - h if j == i else x for j, x in enumerate(xs)]
        estimate = (loss(up).data - loss(down).data) / (2 * h)
        assert grads[i] == pytest.approx(estimate, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_each_loss_is_one_node_over_the_inputs(name):
    loss, xs, _ = random_case(name, 0)
    values = [Value(x) for x in xs]
    out = loss(values)
    assert [n for n in topological_order(out) if n._parents] == [out]
    assert list(out._parents) == values


def test_targets_may_be_values_too():
    p, t = Value(3.0), Value(1.0)
    out = mse([p], [t])
    out.backward()
    assert (out.data, p.grad, t.grad) == (4.0, 4.0, -4.0)  # (p-t)^2; ±2(p-t)

    x, t = Value(0.0), Value(0.25)
    out = binary_cross_entropy_with_logits([x], [t])
    out.backward()
    # softplus(0) - t*0 = ln 2; d/dx = sigmoid(0) - t = 0.25; d/dt = -x = 0
    assert (out.data, x.grad, t.grad) == (pytest.approx(math.log(2)), 0.25, -0.0)


def test_numbers_are_constants():
    out = mse([1.0, 2], [0, 0])
    assert out.data == 2.5
    assert out._parents == ()


def test_hinge_is_micrographs_max_margin_loss():
    # margins 1 - y s: 1 - 2 = -1 (no loss), 1 + 0.5 = 1.5, 1 - 0 = 1
    s = [Value(2.0), Value(0.5), Value(0.0)]
    out = hinge(s, [1, -1, 1])
    out.backward()
    assert out.data == pytest.approx((0 + 1.5 + 1) / 3)
    assert [v.grad for v in s] == pytest.approx([0.0, 1 / 3, -1 / 3])


@pytest.mark.parametrize("big", [1000.0, 1e300])
def test_bce_is_stable_for_huge_logits(big):
    x = [Value(big), Value(-big), Value(big), Value(-big)]
    out = binary_cross_entropy_with_logits(x, [1, 0, 0, 1])
    out.backward()
    # Per sample: 0, 0, big, big (the confident wrong ones); d/dx = (sigmoid(x) - t) / 4.
    assert out.data == pytest.approx(big / 2)
    assert [v.grad for v in x] == [0.0, 0.0, 0.25, -0.25]


def test_bce_matches_torch_at_extreme_logits():
    torch = pytest.importorskip("torch")
    logits = [1000.0, -1000.0, 800.0, -750.0, 30.0, -40.0]
    targets = [1.0, 0.0, 0.0, 1.0, 0.3, 0.9]
    data, grads = gradient(lambda xs: binary_cross_entropy_with_logits(xs, targets), logits)
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        x, torch.tensor(targets, dtype=torch.float64)
    )
    expected.backward()
    assert data == pytest.approx(expected.item(), rel=1e-12)
    assert grads == pytest.approx(x.grad.tolist(), rel=1e-12, abs=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    z = [Value(1000.0), Value(0.0), Value(-1000.0)]
    out = cross_entropy([z, [-1000.0, 1000.0, 0.0]], [0, 0])
    out.backward()
    # Row 1: ln(e^1000 + e^0 + e^-1000) - 1000 = 0 to double precision; row 2: 2000.
    assert out.data == pytest.approx(1000.0)
    # softmax(row 1) = [1, 0, 0], minus one-hot(0), over 2 rows
    assert [v.grad for v in z] == [0.0, 0.0, 0.0]


def test_cross_entropy_of_equal_logits_is_log_k():
    out = cross_entropy([[Value(5.0)] * 4], [2])
    assert out.data == pytest.approx(math.log(4))


def test_l2_is_a_sum_scaled_by_alpha():
    ps = [Value(1.0), Value(-2.0)]
    out = l2(ps, alpha=0.5)
    out.backward()
    assert out.data == 0.5 * (1 + 4)
    assert [p.grad for p in ps] == [1.0, -2.0]


def test_l2_defaults_to_alpha_1e_4():
    assert l2([Value(10.0)]).data == pytest.approx(1e-4 * 100)


BAD_CALLS = [
    (lambda: mse([1.0, 2.0], [1.0]), ValueError, "same length"),
    (lambda: mse([], []), ValueError, "empty"),
    (lambda: mse(1.0, [1.0]), TypeError, "list of Values"),
    (lambda: mse("ab", "cd"), TypeError, "list of Values"),
    (lambda: mse([1.0, "x"], [1.0, 2.0]), TypeError, r"predictions\[1\]"),
    (lambda: hinge([1.0], [0]), ValueError, "-1 or \\+1"),
    (lambda: hinge([1.0, 2.0], [1]), ValueError, "same length"),
    (lambda: binary_cross_entropy_with_logits([0.0], [1.5]), ValueError, r"targets\[0\]"),
    (lambda: binary_cross_entropy_with_logits([0.0], [math.nan]), ValueError, r"targets\[0\]"),
    (lambda: binary_cross_entropy_with_logits([0.0, 1.0], [1.0]), ValueError, "same length"),
    (lambda: cross_entropy([[0.0, 1.0]], [2]), ValueError, r"classes\[0\]"),
    (lambda: cross_entropy([[0.0, 1.0]], [-1]), ValueError, r"classes\[0\]"),
    (lambda: cross_entropy([[0.0, 1.0]], [1.0]), TypeError, "int class index"),
    (lambda: cross_entropy([[0.0, 1.0], [0.0]], [0, 0]), ValueError, "same number of classes"),
    (lambda: cross_entropy([[0.0, 1.0]], [0, 1]), ValueError, "same length"),
    (lambda: cross_entropy([[]], [0]), ValueError, "empty"),
    (lambda: l2([]), ValueError, "empty"),
    (lambda: l2([Value(1.0)], alpha=-1.0), ValueError, "alpha"),
    (lambda: l2(Value(1.0)), TypeError, "iterable of Values"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
def test_bad_input_is_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_cross_entropy_takes_numpy_integer_classes() -> None:
    np = pytest.importorskip("numpy")
    a, b = Value(0.0), Value(math.log(3.0))  # softmax = (1/4, 3/4)
    loss = cross_entropy([[a, b]], [np.int64(1)])
    assert math.isclose(loss.data, -math.log(0.75), rel_tol=1e-15)


# -- oracles that need no optional dependency ------------------------------------------------------


def _bce_by_hand(xs: list[float], ts: list[float]) -> float:
    """mean log(1 + e^x) - t x, written out with plain floats (|x| small: no overflow)."""
    return sum(math.log1p(math.exp(x)) - t * x for x, t in zip(xs, ts, strict=True)) / len(xs)


def test_bce_gradient_with_respect_to_its_targets_is_minus_logit_over_n():
    xs, ts = [1.5, -0.75, 0.3], [0.2, 0.9, 0.5]
    targets = [Value(t) for t in ts]
    logits = [Value(x) for x in xs]
    out = binary_cross_entropy_with_logits(logits, targets)
    out.backward()
    n = len(xs)
    assert out.data == pytest.approx(_bce_by_hand(xs, ts), rel=1e-12)
    assert [t.grad for t in targets] == pytest.approx([-x / n for x in xs], rel=1e-12)
    # and by central differences of the hand-written loss, independent of gradengine
    h = 1e-6
    for i in range(n):
        up = [t + h if j == i else t for j, t in enumerate(ts)]
        down = [t - h if j == i else t for j, t in enumerate(ts)]
        numeric = (_bce_by_hand(xs, up) - _bce_by_hand(xs, down)) / (2 * h)
        assert targets[i].grad == pytest.approx(numeric, rel=1e-6)
    sigmoid = [1 / (1 + math.exp(-x)) for x in xs]
    expected = [(s - t) / n for s, t in zip(sigmoid, ts, strict=True)]
    assert [v.grad for v in logits] == pytest.approx(expected, rel=1e-12)


# (score, label, loss, d loss / d score): the kink of max(0, 1 - y s) is at y s = 1 exactly.
HINGE_KINK = [
    (1.0, 1, 0.0, 0.0),  # exactly at the margin: the flat side's derivative, as relu(0)
    (1.0 - 2**-20, 1, 2**-20, -1.0),  # just inside the margin: the slope
    (1.0 + 2**-20, 1, 0.0, 0.0),  # just outside: flat
    (-1.0, -1, 0.0, 0.0),
    (-1.0 + 2**-20, -1, 2**-20, 1.0),
    (-1.0 - 2**-20, -1, 0.0, 0.0),
    (0.0, 1, 1.0, -1.0),
    (3.0, -1, 4.0, 1.0),
]


@pytest.mark.parametrize(("score", "label", "loss", "slope"), HINGE_KINK)
def test_hinge_kink_is_at_margin_one(score, label, loss, slope):
    s = Value(score)
    out = hinge([s], [label])
    out.backward()
    assert out.data == loss
    assert s.grad == slope


def test_hinge_is_a_mean_with_the_slope_divided_by_n():
    s = [Value(0.5), Value(2.0), Value(-0.5), Value(1.0)]
    out = hinge(s, [1, 1, -1, -1])
    out.backward()
    assert out.data == (0.5 + 0.0 + 0.5 + 2.0) / 4
    assert [v.grad for v in s] == [-0.25, 0.0, 0.25, 0.25]


# The losses as compiled training records them, labels and one-hot targets as inputs: their
# derivatives (labels included) against central differences, and their values against the
# losses called with the labels as numbers.
LABELLED_LOSSES = [
    ("hinge", 1, [0.3, -1.7, 0.9, 2.5, 1.0, 1.0, -1.0, -1.0]),
    ("cross_entropy", 3, [0.2, -1.1, 2.0, 3.0, 0.5, -0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    ("cross_entropy, soft targets", 2, [0.4, -2.0, 0.3, 0.7]),
    ("bce_logits", 1, [0.4, -2.0, 1.0, 0.0]),
    ("mse", 1, [0.4, -2.0, 1.5, 0.25]),
]


@pytest.mark.parametrize(("name", "width", "inputs"), LABELLED_LOSSES)
def test_the_labelled_losses_derivatives_match_central_differences(name, width, inputs):
    kind = name.split(",")[0]
    assert gradcheck(lambda *xs: loss_of_inputs(kind, xs, width), inputs).ok


def test_the_labelled_losses_compute_what_the_losses_compute_bit_for_bit():
    scores, labels = [Value(s) for s in (0.3, -1.7, 0.9, 2.5)], [1, 1, 0, 0]
    want = hinge(scores, [2 * c - 1 for c in labels])
    got = loss_of_inputs("hinge", [*scores, *[Value(2.0 * c - 1.0) for c in labels]])
    assert got.data == want.data and got._local_grads[:4] == want._local_grads
    logits, classes = (
        [[Value(z) for z in row] for row in ((0.2, -1.1, 2.0), (3.0, 0.5, -0.5))],
        [2, 0],
    )
    want = cross_entropy(logits, classes)
    onehot = [Value(1.0 if j == c else 0.0) for c in classes for j in range(3)]
    got = loss_of_inputs("cross_entropy", [*logits[0], *logits[1], *onehot], 3)
    assert got.data == want.data and got._local_grads[:6] == want._local_grads
