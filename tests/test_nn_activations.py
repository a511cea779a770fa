"""Neurons with tanh and sigmoid activations (one fused node each), and custom modules respected."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from gradengine import MLP, Layer, Neuron, Value, gradcheck
from gradengine.fast import SIGMOID_WEIGHTED_SUM, TANH_WEIGHTED_SUM


def unfused(n: Neuron, x: list[Value]) -> Value:
    """The same neuron written micrograd's way, node by node."""
    z = sum((wi * xi for wi, xi in zip(n.w, x)), n.b)
    if not n.nonlin or n.activation == "linear":
        return z
    return {"relu": z.relu, "tanh": z.tanh, "sigmoid": z.sigmoid}[n.activation]()


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_fused_neuron_equals_the_unfused_one(activation: str) -> None:
    n = Neuron(3, activation=activation, rng=random.Random(3))
    x = [Value(0.5), Value(-1.25), Value(2.0)]
    out = n(x)
    assert len(out._prev) == 7  # one node over b, w1..w3, x1..x3
    out.backward()
    got = [p.grad for p in [*n.parameters(), *x]]
    for p in [*n.parameters(), *x]:
        p.grad = 0.0
    ref = unfused(n, x)
    ref.backward()
    assert out.data == pytest.approx(ref.data, rel=1e-15, abs=1e-15)
    for g, p in zip(got, [*n.parameters(), *x]):
        assert g == pytest.approx(p.grad, rel=1e-14, abs=1e-15)


def test_tanh_and_sigmoid_neuron_ops_and_repr() -> None:
    x = [Value(1.0), Value(-2.0)]
    t = Neuron(2, activation="tanh", rng=random.Random(1))
    s = Neuron(2, activation="sigmoid", rng=random.Random(1))
    assert t(x)._op == TANH_WEIGHTED_SUM.name == "tanh(weighted_sum)"
    assert s(x)._op == SIGMOID_WEIGHTED_SUM.name
    assert repr(t) == "TanhNeuron(2)" and repr(s) == "SigmoidNeuron(2)"
    assert repr(Neuron(2, nonlin=False, activation="tanh")) == "LinearNeuron(2)"
    assert repr(Neuron(2)) == "ReLUNeuron(2)"


def test_nonlin_accepts_any_truthy_value_as_micrograd() -> None:
    assert Neuron(2, nonlin=1).nonlin is True
    assert Neuron(2, nonlin="yes").nonlin is True
    assert Neuron(2, nonlin=0).nonlin is False
    assert Neuron(2, nonlin=None).nonlin is False


def test_bad_activation_is_refused() -> None:
    with pytest.raises(ValueError, match="activation must be one of"):
        Neuron(2, activation="gelu")
    with pytest.raises(TypeError, match="activation"):
        MLP(2, [3, 1], activation=3)  # type: ignore[arg-type]


def test_mlp_activation_repr_and_gradcheck() -> None:
    mlp = MLP(3, [4, 4, 1], seed=0, activation="tanh")
    assert mlp.activation == "tanh"
    assert repr(mlp) == "MLP(3 -> 4 tanh -> 4 tanh -> 1 linear, 41 parameters)"
    assert repr(MLP(2, [3, 1], seed=0)) == "MLP(2 -> 3 relu -> 1 linear, 13 parameters)"
    for activation in ("tanh", "sigmoid"):
        m = MLP(2, [3, 1], seed=1, activation=activation)
        result = gradcheck(lambda a, b, m=m: m([a, b]), [0.3, -0.8])  # type: ignore[misc]
        assert result.ok, result


def test_tanh_mlp_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    from gradengine.bridge import from_torch, to_torch

    for activation, module in (("tanh", torch.nn.Tanh), ("sigmoid", torch.nn.Sigmoid)):
        mlp = MLP(3, [4, 4, 1], seed=2, activation=activation)
        net = to_torch(mlp)
        assert [type(m) for m in net][1::2] == [module, module]
        x = [0.5, -1.0, 2.0]
        out = mlp(x)
        assert isinstance(out, Value)
        out.backward()
        tout = net(torch.tensor(x, dtype=torch.float64))
        tout.sum().backward()
        assert out.data == pytest.approx(tout.item(), rel=1e-13, abs=1e-15)
        first = net[0].weight.grad.flatten().tolist()
        ours = [w.grad for n in mlp.layers[0].neurons for w in n.w]
        assert ours == pytest.approx(first, rel=1e-12, abs=1e-15)
        back = from_torch(net)
        assert back.activation == activation
        assert back([0.1, 0.2, 0.3]).data == mlp([0.1, 0.2, 0.3]).data  # type: ignore[union-attr]


def test_from_torch_refuses_mixed_activations() -> None:
    torch = pytest.importorskip("torch")
    from gradengine.bridge import from_torch

    nn = torch.nn
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="one activation"):
        from_torch(net.double())


def test_save_and_load_keep_the_activation(tmp_path: Any) -> None:
    mlp = MLP(2, [3, 1], seed=5, activation="sigmoid")
    path = tmp_path / "m.json"
    mlp.save(path)
    doc = json.loads(path.read_text())
    assert doc["layers"][0][0]["activation"] == "sigmoid"
    assert "activation" not in doc["layers"][1][0]
    loaded = MLP.load(path)
    assert loaded.activation == "sigmoid"
    assert loaded([0.3, 0.4]).data == mlp([0.3, 0.4]).data  # type: ignore[union-attr]


def test_relu_files_are_unchanged_and_old_files_load() -> None:
    doc = MLP(2, [3, 1], seed=5).to_dict()
    assert all(set(n) == {"w", "b", "nonlin"} for layer in doc["layers"] for n in layer)
    assert MLP.from_dict(doc).activation == "relu"


def test_loading_refuses_bad_activations() -> None:
    doc = MLP(2, [3, 1], seed=5, activation="tanh").to_dict()
    doc["layers"][0][1]["activation"] = "gelu"
    with pytest.raises(ValueError, match=r"layers\[0\]\[1\]\.activation"):
        MLP.from_dict(doc)
    doc["layers"][0][1]["activation"] = "relu"
    with pytest.raises(ValueError, match="mix activations"):
        MLP.from_dict(doc)
    doc = MLP(2, [3, 1], seed=5).to_dict()
    doc["layers"][1][0]["activation"] = "tanh"  # the output layer has none
    with pytest.raises(ValueError, match=r"layers\[1\]\[0\]\.activation"):
        MLP.from_dict(doc)


def test_saving_refuses_mixed_hidden_activations() -> None:
    mlp = MLP(2, [3, 1], seed=5)
    mlp.layers[0].neurons[0].activation = "tanh"
    with pytest.raises(ValueError, match="must not mix activations"):
        mlp.to_dict()


# -- custom modules -------------------------------------------------------------------------------


class DoubledNeuron(Neuron):
    def __call__(self, x: Any) -> Value:
        return super().__call__(x) * 2


class SwishLayer(Layer):
    def __call__(self, x: Any) -> Any:
        out = [v * v.sigmoid() for v in self.forward(x)]
        return out[0] if len(out) == 1 else out


def test_layer_calls_an_overridden_neuron_call() -> None:
    layer = Layer(2, 3, rng=random.Random(0))
    x = [1.0, -0.5]
    plain = [v.data for v in layer.forward(x)]
    layer.neurons[1] = DoubledNeuron(2)
    layer.neurons[1].w = layer.neurons[0].w
    got = [v.data for v in layer.forward(x)]
    assert got[0] == plain[0] and got[2] == plain[2]
    assert got[1] == 2 * plain[0]


def test_subclass_without_call_override_keeps_the_fused_path() -> None:
    class Tagged(Neuron):
        pass

    layer = Layer(2, 2, rng=random.Random(0))
    layer.neurons = [Tagged(2) for _ in range(2)]
    assert layer.forward([1.0, 2.0])[0]._op == "relu(weighted_sum)"


def test_mlp_calls_an_overridden_layer_call() -> None:
    mlp = MLP(2, [3, 1], seed=0)
    x = [0.7, -0.2]
    hidden = mlp.layers[0].forward(x)
    swish = SwishLayer(2, 3)
    for mine, theirs in zip(swish.neurons, mlp.layers[0].neurons):
        mine.w, mine.b = theirs.w, theirs.b
    mlp.layers[0] = swish
    out = mlp(x)
    assert isinstance(out, Value)
    expected = mlp.layers[1].forward([h * h.sigmoid() for h in hidden])[0]
    assert out.data == expected.data
    assert math.isfinite(out.data)


def test_mlp_calls_a_layer_returning_one_value() -> None:
    mlp = MLP(2, [1, 1], seed=0)
    mlp.layers[0] = SwishLayer(2, 1)
    out = mlp([0.5, 0.5])
    assert isinstance(out, Value)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_fused_activations_have_second_derivatives(activation: str) -> None:
    from gradengine.higher import hessian

    mlp = MLP(2, [3, 1], seed=0, activation=activation)
    point = [0.3, -0.2]
    h = hessian(lambda a, b: mlp([a, b]), point)  # type: ignore[arg-type,return-value]

    def gradient(at: list[float]) -> list[float]:
        xs = [Value(v) for v in at]
        out = mlp(xs)
        assert isinstance(out, Value)
        out.backward()
        return [v.grad for v in xs]

    step = 1e-5
    for i in range(2):
        up = gradient([p + step if k == i else p for k, p in enumerate(point)])
        down = gradient([p - step if k == i else p for k, p in enumerate(point)])
        for j in range(2):
            assert h[i][j] == pytest.approx((up[j] - down[j]) / (2 * step), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_fused_activations_compile(activation: str) -> None:
    from gradengine.compile import compile_graph

    mlp = MLP(2, [3, 1], seed=0, activation=activation)
    x = [Value(0.3), Value(-0.2)]
    out = mlp(x)
    assert isinstance(out, Value)
    program = compile_graph(out, mlp.parameters(), x, backend="python")
    mlp.zero_grad()
    got = program.run([0.5, 0.1])
    compiled = [p.grad for p in mlp.parameters()]
    mlp.zero_grad()
    eager = mlp([0.5, 0.1])
    assert isinstance(eager, Value)
    eager.backward()
    assert got == eager.data
    assert compiled == [p.grad for p in mlp.parameters()]


def test_explain_and_dot_read_fused_tanh_and_sigmoid_neurons() -> None:
    from gradengine.viz import explain, to_dot

    for activation, symbol, outer in (
        ("tanh", "tanh(Σ w·x + b)", "(1 - v5²)"),
        ("sigmoid", "σ(Σ w·x + b)", "v5·(1 - v5)"),
    ):
        n = Neuron(2, activation=activation, rng=random.Random(0))
        out = n([Value(1.0, label="x1"), Value(2.0, label="x2")])
        out.backward()
        text = explain(out)
        assert f"v5 = {activation}(b + w1*x1 + w2*x2)" in text
        assert f"∂v5/∂x1 = {outer}·w1 = " in text
        assert symbol in to_dot(out)


def test_linear_hidden_layers_save_load_and_go_to_torch(tmp_path: Any) -> None:
    mlp = MLP(2, [3, 1], seed=5, activation="linear")
    assert repr(mlp) == "MLP(2 -> 3 linear -> 1 linear, 13 parameters)"
    mlp.save(tmp_path / "m.json")
    loaded = MLP.load(tmp_path / "m.json")
    assert loaded([0.3, 0.4]).data == mlp([0.3, 0.4]).data  # type: ignore[union-attr]
    torch = pytest.importorskip("torch")
    from gradengine.bridge import from_torch, to_torch

    net = to_torch(mlp)
    assert isinstance(net[1], torch.nn.Identity)
    assert from_torch(net).activation == "linear"
