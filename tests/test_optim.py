"""Optimizers: PyTorch's update rules step for step, the linear schedule, and bad input."""

import math
import random

import pytest

from gradengine import MLP, Value
from gradengine.optim import SGD, Adam, LinearSchedule, Optimizer

SGD_SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01},
    {"lr": 0.02, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.3},
]
ADAM_SETTINGS = [
    {"lr": 0.01},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.02, "betas": (0.0, 0.5), "eps": 1e-3, "weight_decay": 0.5},
]
CASES = [("sgd", s) for s in SGD_SETTINGS] + [("adam", s) for s in ADAM_SETTINGS]


def make_pair(kind, settings, values, tensors, torch):
    """The same optimizer in gradengine and in PyTorch (AdamW for Adam)."""
    if kind == "sgd":
        return SGD(values, **settings), torch.optim.SGD(tensors, **settings)
    torch_settings = {"weight_decay": 0.0, **settings}  # AdamW's own default is 0.01
    return Adam(values, **settings), torch.optim.AdamW(tensors, **torch_settings)


@pytest.mark.parametrize(("kind", "settings"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_same_gradients_give_the_same_steps_as_torch(kind, settings):
    torch = pytest.importorskip("torch")
    rng = random.Random(0)
    start = [rng.uniform(-2, 2) for _ in range(7)]
    values = [Value(x) for x in start]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    ours, theirs = make_pair(kind, settings, values, tensors, torch)
    for _ in range(30):
        grads = [rng.gauss(0, 3) for _ in start]
        for v, t, g in zip(values, tensors, grads):
            v.grad = g
            t.grad = torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
        for v, t in zip(values, tensors):
            assert v.data == pytest.approx(t.item(), abs=1e-12, rel=1e-12)


def torch_mlp_loss(torch, weights, X, y):
    """The mean squared error of a 2-4-1 ReLU network written directly in torch."""
    w1, b1, w2, b2 = weights
    hidden = torch.relu(X @ w1.T + b1)
    return ((hidden @ w2.T + b2).squeeze(1) - y).pow(2).mean()


@pytest.mark.parametrize(("kind", "settings"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_training_an_mlp_matches_torch_step_for_step(kind, settings):
    torch = pytest.importorskip("torch")
    rng = random.Random(1)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(12)]
    y = [math.sin(3 * a) + b for a, b in X]
    model = MLP(2, [4, 1], seed=2)
    hidden, out = model.layers
    weights = [
        torch.tensor([[w.data for w in n.w] for n in hidden.neurons], dtype=torch.float64),
        torch.tensor([n.b.data for n in hidden.neurons], dtype=torch.float64),
        torch.tensor([[w.data for w in n.w] for n in out.neurons], dtype=torch.float64),
        torch.tensor([n.b.data for n in out.neurons], dtype=torch.float64),
    ]
    for w in weights:
        w.requires_grad_(True)
    ours, theirs = make_pair(kind, settings, model.parameters(), weights, torch)
    X_t, y_t = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    for _ in range(25):
        ours.zero_grad()
        loss = sum((model(x) - target) ** 2 for x, target in zip(X, y)) / len(X)
        loss.backward()
        ours.step()
        theirs.zero_grad()
        torch_mlp_loss(torch, weights, X_t, y_t).backward()
        theirs.step()
    # Our parameters() order is neuron by neuron (w..., b); reorder torch's to match.
    w1, b1, w2, b2 = (w.detach().tolist() for w in weights)
    expected = [x for row, b in zip(w1, b1) for x in (*row, b)]
    expected += [x for row, b in zip(w2, b2) for x in (*row, b)]
    assert [p.data for p in model.parameters()] == pytest.approx(expected, abs=1e-12, rel=1e-12)


def test_sgd_without_momentum_is_gradient_descent():
    a, b = Value(1.0), Value(-2.0)
    a.grad, b.grad = 0.5, -4.0
    SGD([a, b], lr=0.1).step()
    assert (a.data, b.data) == (1.0 - 0.1 * 0.5, -2.0 + 0.1 * 4.0)


def test_zero_grad_clears_every_parameter():
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 3.0
    Adam(params).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_lr_can_be_changed_between_steps():
    p = Value(0.0)
    optimizer = SGD([p], lr=1.0)
    optimizer.lr = 0.25
    p.grad = 2.0
    optimizer.step()
    assert p.data == -0.5


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps)])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_gradient_changes_no_parameter(make, bad):
    params = [Value(1.0), Value(2.0), Value(3.0)]
    optimizer = make(params)
    for p in params:
        p.grad = 0.5
    optimizer.step()
    before = [p.data for p in params]
    params[1].grad = bad
    with pytest.raises(FloatingPointError, match=r"parameter 1 .*(nan|inf)"):
        optimizer.step()
    assert [p.data for p in params] == before
    # The optimizer's state did not advance either: the next good step is the one it would be.
    params[1].grad = 0.5
    reference = [Value(x) for x in [1.0, 2.0, 3.0]]
    twin = make(reference)
    for _ in range(2):
        for p in reference:
            p.grad = 0.5
        twin.step()
    optimizer.step()
    assert [p.data for p in params] == [p.data for p in reference]


def test_micrograd_schedule():
    """micrograd's demo: step k uses lr = 1.0 - 0.9 * k / 100."""
    optimizer = SGD([Value(0.0)], lr=1.0)
    schedule = LinearSchedule(optimizer, total_steps=100, end_factor=0.1)
    for k in range(100):
        assert optimizer.lr == pytest.approx(1.0 - 0.9 * k / 100, abs=1e-15)
        schedule.step()
    assert optimizer.lr == pytest.approx(0.1, abs=1e-15)
    schedule.step()
    assert optimizer.lr == pytest.approx(0.1, abs=1e-15)  # stays at the end value


def test_schedule_scales_the_optimizers_own_base_lr():
    optimizer = Adam([Value(0.0)], lr=0.04)
    schedule = LinearSchedule(optimizer, total_steps=4, end_factor=0.5)
    lrs = []
    for _ in range(4):
        schedule.step()
        lrs.append(optimizer.lr)
    assert lrs == pytest.approx([0.04 * (1 - 0.5 * k / 4) for k in (1, 2, 3, 4)])


def test_schedule_counts_steps_given_as_a_numpy_integer():
    np = pytest.importorskip("numpy")
    optimizer = SGD([Value(0.0)], lr=1.0)
    schedule = LinearSchedule(optimizer, total_steps=np.int64(2), end_factor=0.5)
    assert type(schedule.total_steps) is int
    schedule.step()
    assert optimizer.lr == 0.75  # 1 - (1 - 0.5) * 1/2


def test_the_base_optimizer_has_no_update_rule_of_its_own():
    with pytest.raises(NotImplementedError):
        Optimizer([Value(1.0)], lr=0.1).step()


BAD_SETTINGS = [
    (lambda p: SGD(p, lr=-0.1), ValueError, "lr"),
    (lambda p: SGD(p, lr=math.nan), ValueError, "lr"),
    (lambda p: SGD(p, lr=math.inf), ValueError, "lr"),
    (lambda p: SGD(p, lr="0.1"), TypeError, "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda p: SGD(p, lr=0.1, nesterov="yes"), TypeError, "nesterov"),
    (lambda p: Adam(p, lr=-1e-3), ValueError, "lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (lambda p: Adam(p, betas=(0.9, math.nan)), ValueError, r"betas\[1\]"),
    (lambda p: Adam(p, betas=0.9), TypeError, "betas"),
    (lambda p: Adam(p, eps=0.0), ValueError, "eps"),
    (lambda p: Adam(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: Adam(p, weight_decay=math.inf), ValueError, "weight_decay"),
    (lambda p: LinearSchedule(SGD(p, lr=1.0), total_steps=0), ValueError, "total_steps"),
    (lambda p: LinearSchedule(SGD(p, lr=1.0), total_steps=2.5), TypeError, "total_steps"),
    (lambda p: LinearSchedule(SGD(p, lr=1.0), total_steps=True), TypeError, "total_steps"),
    (lambda p: LinearSchedule(SGD(p, lr=1.0), 10, end_factor=-0.1), ValueError, "end_factor"),
    (lambda p: LinearSchedule("sgd", 10), TypeError, "optimizer"),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_SETTINGS)
def test_bad_hyper_parameters_are_rejected(make, error, message):
    with pytest.raises(error, match=message):
        make([Value(1.0)])


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_bad_parameter_lists_are_rejected(optimizer):
    with pytest.raises(ValueError, match="empty"):
        optimizer([], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        optimizer([Value(1.0), 2.0], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Values"):
        optimizer(Value(1.0), lr=0.1)
    with pytest.raises(TypeError, match="iterable of Values"):
        optimizer(MLP(2, [1]), lr=0.1)
    p = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        optimizer([p, p], lr=0.1)


def test_a_generator_of_parameters_is_accepted():
    model = MLP(2, [3, 1], seed=0)
    optimizer = SGD((p for p in model.parameters()), lr=0.1)
    assert len(optimizer.params) == len(model.parameters())


def test_setting_a_bad_lr_later_is_rejected():
    optimizer = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        optimizer.lr = -1.0
    assert optimizer.lr == 0.1


# -- hand-computed update sequences (no torch): the formulas of torch.optim's documentation -------

GRADS = [0.5, -1.25, 2.0]  # the gradient each step sees, set by hand


def run_steps(optimizer, p: Value) -> list[float]:
    trajectory = []
    for g in GRADS:
        p.grad = g
        optimizer.step()
        trajectory.append(p.data)
    return trajectory


def test_adam_bias_correction_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = Value(1.0)
    got = run_steps(Adam([p], lr=lr, betas=(b1, b2), eps=eps), p)
    x, m, v, expected = 1.0, 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        x -= lr * m_hat / (math.sqrt(v_hat) + eps)
        expected.append(x)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # the first step of Adam moves by lr * sign(g), whatever |g| is: m_hat = g, v_hat = g^2
    assert got[0] == pytest.approx(1.0 - lr * 0.5 / (0.5 + eps), rel=1e-15)


def test_adamw_decoupled_weight_decay_by_hand():
    lr, b1, b2, eps, decay = 0.05, 0.8, 0.99, 1e-8, 0.3
    p = Value(2.0)
    got = run_steps(Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=decay), p)
    x, m, v, expected = 2.0, 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        x = x * (1 - lr * decay)  # decoupled: the decay never enters m or v
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        expected.append(x)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_sgd_nesterov_by_hand():
    lr, mu, decay = 0.1, 0.9, 0.01
    p = Value(1.0)
    got = run_steps(SGD([p], lr=lr, momentum=mu, weight_decay=decay, nesterov=True), p)
    x, b, expected = 1.0, None, []
    for g in GRADS:
        g = g + decay * x
        b = g if b is None else mu * b + g
        x -= lr * (g + mu * b)
        expected.append(x)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # step 1 by hand: g = 0.5 + 0.01 = 0.51, b = 0.51, x = 1 - 0.1 * (0.51 + 0.459) = 0.9031
    assert got[0] == pytest.approx(0.9031, rel=1e-12)


def test_sgd_heavy_ball_momentum_by_hand():
    lr, mu = 0.1, 0.5
    p = Value(1.0)
    got = run_steps(SGD([p], lr=lr, momentum=mu), p)
    # b1 = 0.5, b2 = 0.25 - 1.25 = -1.0, b3 = -0.5 + 2 = 1.5
    assert got == pytest.approx([0.95, 1.05, 0.9], rel=1e-12)


def test_plain_sgd_step_arrays_on_a_numpy_array_is_step_in_place():
    np = pytest.importorskip("numpy", reason="step_arrays on arrays needs numpy")
    rng = random.Random(3)
    values = [Value(rng.uniform(-2, 2)) for _ in range(7)]
    grads = [rng.uniform(-5, 5) for _ in values]
    data = np.array([v.data for v in values])
    kept = data
    for v, g in zip(values, grads, strict=True):
        v.grad = g
    SGD(values, lr=0.3).step()
    SGD([Value(0.0)], lr=0.3).step_arrays(data, np.array(grads))
    assert data is kept
    assert data.tolist() == [v.data for v in values]  # p - lr * g, the same floats
    with pytest.raises(FloatingPointError):
        SGD([Value(0.0)], lr=0.3).step_arrays(data, np.array([math.nan] * 7))
    assert data.tolist() == [v.data for v in values]
