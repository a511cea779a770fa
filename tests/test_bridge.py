"""The PyTorch bridge: same outputs and gradients both ways, only MLP-shaped Sequentials."""

import math
import random
import re
import sys

import pytest

from gradengine import MLP, Value
from gradengine.bridge import from_torch, to_torch

SHAPES = [(1, [1]), (2, [16, 16, 1]), (3, [5, 4]), (4, [3, 3, 3, 2])]


def params(model):
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize(("nin", "nouts"), SHAPES, ids=str)
def test_to_torch_computes_the_same_outputs_and_gradients(nin, nouts):
    torch = pytest.importorskip("torch")
    model = MLP(nin, nouts, seed=1)
    net = to_torch(model)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    rng = random.Random(2)
    for _ in range(5):
        x = [rng.uniform(-3, 3) for _ in range(nin)]
        ours = model.forward(x)
        x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        theirs = net(x_t)
        assert [o.data for o in ours] == pytest.approx(theirs.tolist(), abs=1e-12, rel=1e-12)
        # d(first output)/d(input): our backward against torch autograd on the converted net
        theirs[0].backward()
        xs = [Value(v) for v in x]
        model.forward(xs)[0].backward()
        assert [v.grad for v in xs] == pytest.approx(x_t.grad.tolist(), abs=1e-12, rel=1e-12)


def test_to_torch_has_linear_and_relu_layers():
    torch = pytest.importorskip("torch")
    net = to_torch(MLP(2, [3, 4, 1], seed=0))
    kinds = [type(m) for m in net]
    linear, relu = torch.nn.Linear, torch.nn.ReLU
    assert kinds == [linear, relu, linear, relu, linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, linear)] == [
        (2, 3),
        (3, 4),
        (4, 1),
    ]


def test_to_torch_leaves_torchs_random_stream_alone():
    torch = pytest.importorskip("torch")
    state = torch.random.get_rng_state()
    to_torch(MLP(2, [8, 1], seed=0))
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(("nin", "nouts"), SHAPES, ids=str)
def test_round_trip_keeps_every_parameter_exactly(nin, nouts):
    pytest.importorskip("torch")
    model = MLP(nin, nouts, seed=3)
    assert params(from_torch(to_torch(model))) == params(model)


def test_from_torch_takes_a_float32_network_built_in_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)
    )  # float32 weights: widened to float64 exactly
    model = from_torch(net)
    assert repr(model) == "MLP(2 -> 6 relu -> 2 linear, 32 parameters)"
    x = [0.7, -0.2]
    expected = net.double()(torch.tensor(x, dtype=torch.float64)).tolist()
    assert [o.data for o in model(x)] == pytest.approx(expected, abs=1e-12, rel=1e-12)


def bad_sequentials(torch):
    nn = torch.nn
    return [
        ("empty", nn.Sequential(), "empty"),
        ("ends with ReLU", nn.Sequential(nn.Linear(2, 3), nn.ReLU()), "ends with ReLU"),
        ("gelu", nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)), "module 1 .*GELU"),
        ("no activation", nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), "module 1 must be ReLU"),
        ("starts with ReLU", nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), "module 0 must be Linear"),
        ("no bias", nn.Sequential(nn.Linear(2, 1, bias=False)), "bias=False"),
        (
            "sizes",
            nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)),
            "takes 4 inputs .* gives 3",
        ),
    ]


@pytest.mark.parametrize("case", range(7))
def test_from_torch_rejects_other_networks(case):
    torch = pytest.importorskip("torch")
    _, net, message = bad_sequentials(torch)[case]
    with pytest.raises(ValueError, match=message):
        from_torch(net)


def test_from_torch_rejects_a_non_sequential():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="Sequential"):
        from_torch(torch.nn.Linear(2, 1))


def test_to_torch_rejects_a_non_mlp():
    pytest.importorskip("torch")
    with pytest.raises(TypeError, match="expected an MLP"):
        to_torch("model")


def test_without_torch_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    # gradengine is on no package index: the hint names torch's pin, and the extra in a clone
    hint = 'pip install torch==2.13.0 (or, in a clone of gradengine: pip install ".[torch]")'
    with pytest.raises(ModuleNotFoundError, match=re.escape(hint)):
        to_torch(MLP(2, [1], seed=0))
    with pytest.raises(ModuleNotFoundError, match=re.escape(hint)):
        from_torch(object())


def test_from_torch_refuses_a_complex_linear_naming_the_dtype():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(2, 1, dtype=torch.complex128))
    with pytest.raises(TypeError, match=r"module 0: Linear weight has dtype torch\.complex128"):
        from_torch(net)


@pytest.mark.parametrize(
    ("what", "position", "value"), [("weight", (1, 0), "nan"), ("bias", (2,), "inf")]
)
def test_from_torch_names_a_non_finite_weight_and_where_it_is(what, position, value):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        getattr(net[0], what)[position] = float(value)
    where = "][".join(str(k) for k in position)
    expected = re.escape(f"module 0: Linear {what}[{where}] is {value}")
    with pytest.raises(ValueError, match=expected) as info:
        from_torch(net)
    assert "format" not in str(info.value) and "file" not in str(info.value)


def test_from_torch_checks_the_size_before_copying_a_weight(monkeypatch):
    torch = pytest.importorskip("torch")
    from gradengine import nn

    net = torch.nn.Sequential(torch.nn.Linear(20, 20), torch.nn.ReLU(), torch.nn.Linear(20, 1))
    monkeypatch.setattr(nn, "MAX_PARAMETERS", 100)

    def no_copy(*args: object, **kwargs: object) -> None:
        raise AssertionError("a weight was copied before the size was checked")

    monkeypatch.setattr(torch.Tensor, "tolist", no_copy)
    monkeypatch.setattr(torch.Tensor, "to", no_copy)
    with pytest.raises(ValueError, match="441 parameters; the limit is 100"):
        from_torch(net)


def test_to_torch_takes_data_set_to_a_bool_a_numpy_float_or_a_huge_int():
    torch = pytest.importorskip("torch")
    np = pytest.importorskip("numpy")
    model = MLP(2, [1], seed=0)
    w0, w1, b = model.parameters()
    w0.data, w1.data, b.data = True, np.float32(0.5), 10**400
    linear = to_torch(model)[0]
    assert linear.weight.tolist() == [[1.0, 0.5]]
    assert linear.bias.tolist() == [math.inf]
    assert linear.weight.dtype == torch.float64
