"""MLP hidden layers as Hidden nodes (hidden.py): the same gradients, the same graph when read.

MLP.forward keeps each hidden layer's outputs as numbers. These tests build the same model's graph
a second way, neuron by neuron with Layer.forward, and require the gradients to be equal bit for
bit (same additions, same order); PyTorch is the independent oracle for the gradients themselves.
"""

from __future__ import annotations

import copy
import math
import pickle
import random
from typing import Any

import pytest

from gradengine import MLP, Neuron, Value, detect_anomaly, grad
from gradengine.hidden import Hidden, OverHidden
from gradengine.viz import to_dot
from gradengine.walk import topological_order, walk


def neuron_by_neuron(model: MLP, x: list[Any]) -> list[Value]:
    """model(x) built from one neuron node per neuron (no Hidden nodes)."""
    out: list[Any] = x
    for layer in model.layers:
        out = layer.forward(out)
    return out


def loss_of(outputs: list[Value]) -> Value:
    """Σ_k (k + 1) * o_k^2 / 2, so that every output gets a different gradient"""
    return sum(((k + 1) * o * o * 0.5 for k, o in enumerate(outputs)), Value(0.0))  # type: ignore[return-value]


def two_graphs(sizes: list[int], activation: str, seed: int, samples: int = 4) -> tuple[Any, ...]:
    """(model, its batch of inputs, loss through MLP.forward, loss neuron by neuron)"""
    rng = random.Random(seed)
    model = MLP(3, sizes, seed=seed, activation=activation)
    batch = [[Value(rng.uniform(-2, 2)) for _ in range(3)] for _ in range(samples)]
    fused = sum((loss_of(model.forward(x)) for x in batch), Value(0.0))
    plain = sum((loss_of(neuron_by_neuron(model, x)) for x in batch), Value(0.0))
    return model, batch, fused, plain


def grads(model: MLP, batch: list[list[Value]]) -> list[float]:
    return [p.grad for p in model.parameters()] + [v.grad for x in batch for v in x]


def both_gradients(model: MLP, batch: list[list[Value]], a: Value, b: Value) -> list[list[str]]:
    """The grads of the parameters and inputs after a.backward(), then after b.backward() alone."""
    found = []
    for loss in (a, b):
        model.zero_grad()
        for v in (v for x in batch for v in x):
            v.grad = 0.0
        loss.backward()
        found.append(bits(grads(model, batch)))
    return found


def bits(xs: list[float]) -> list[str]:
    return [float.hex(x) for x in xs]  # tells 0.0 from -0.0 and compares nan as equal


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("sizes", [[4, 1], [5, 4, 1], [4, 3, 2, 3]])
def test_gradients_through_hidden_nodes_are_those_of_neuron_nodes_bit_for_bit(
    sizes: list[int], activation: str
) -> None:
    model, batch, fused, plain = two_graphs(sizes, activation, seed=len(sizes))
    assert any(isinstance(node, Hidden) for node in walk(fused)[0])
    assert not any(isinstance(node, Hidden) for node in walk(plain)[0])
    assert float.hex(fused.data) == float.hex(plain.data)
    through_hidden, neuron_nodes = both_gradients(model, batch, fused, plain)
    assert through_hidden == neuron_nodes


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(
    "odd",
    [math.nan, math.inf, -math.inf, 1e308, -0.0, 1e-320],
    ids=["nan", "inf", "-inf", "huge", "-0", "tiny"],
)
def test_odd_numbers_give_the_neuron_nodes_gradients_bit_for_bit(
    odd: float, activation: str
) -> None:
    # Zero gradients next to odd numbers: 0 * inf is nan, and -0.0 stays -0.0 only if nothing
    # is added to it, so a skipped addition that should have been made (or the reverse) shows.
    for where in ("input", "weight", "bias"):
        model, batch, fused, plain = two_graphs([3, 3, 2], activation, seed=12)
        if where == "input":
            batch[1][0].data = odd
        elif where == "weight":
            model.layers[1].neurons[2].w[1].data = odd
        else:
            model.layers[0].neurons[0].b.data = odd
        dead = Value(0.0)
        fused = sum(
            (loss_of(model.forward(x)) * dead for x in batch[:2]), loss_of(model.forward(batch[2]))
        )
        plain = sum(
            (loss_of(neuron_by_neuron(model, x)) * dead for x in batch[:2]),
            loss_of(neuron_by_neuron(model, batch[2])),
        )
        assert bits([fused.data]) == bits([plain.data])
        through_hidden, neuron_nodes = both_gradients(model, batch, fused, plain)
        assert through_hidden == neuron_nodes, where


def torch_gradients(torch: Any, model: MLP, batch: list[list[Value]]) -> list[float]:
    """d loss / d parameter and d loss / d input, computed by PyTorch from the same numbers."""
    act = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "linear": lambda z: z,
    }[model.activation]
    layers = [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64),
        )
        for layer in model.layers
    ]
    leaves = [t.requires_grad_() for pair in layers for t in pair]
    x = torch.tensor([[v.data for v in row] for row in batch], dtype=torch.float64)
    x.requires_grad_()
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = act(h)
    weights = torch.arange(1, h.shape[1] + 1, dtype=torch.float64)
    (h * h * 0.5 * weights).sum().backward()
    out: list[float] = []
    for w, b in layers:
        assert w.grad is not None and b.grad is not None
        for row, bias in zip(w.grad.tolist(), b.grad.tolist(), strict=True):
            out += [*row, bias]  # MLP.parameters(): each neuron's w, then its b
    assert x.grad is not None and leaves
    return out + [g for row in x.grad.tolist() for g in row]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradients_through_hidden_nodes_agree_with_pytorch(activation: str) -> None:
    torch = pytest.importorskip("torch")  # the test extra installs it
    model, batch, fused, _ = two_graphs([6, 5, 2], activation, seed=7, samples=5)
    fused.backward()
    ours, theirs = grads(model, batch), torch_gradients(torch, model, batch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


def test_a_graph_drawn_after_backward_shows_every_hidden_neuron_with_its_gradient() -> None:
    _, _, fused, plain = two_graphs([4, 3, 1], "tanh", seed=2, samples=2)
    fused.backward()
    plain.backward()
    # topological_order() turns the Hidden nodes into neuron Values: the same graph as plain's
    a, b = topological_order(fused), topological_order(plain)
    assert [n._op for n in a] == [n._op for n in b]
    assert bits([n.data for n in a]) == bits([n.data for n in b])
    interior = [(x.grad, y.grad) for x, y in zip(a, b, strict=True) if x._parents]
    assert len(interior) > 2 * (4 + 3)
    assert bits([g for g, _ in interior]) == bits([g for _, g in interior])
    assert not any(isinstance(n, (Hidden, OverHidden)) for n in walk(fused)[0])
    assert "tanh(Σ w·x + b)" in to_dot(fused)  # drawn as fused neurons; needs no graphviz


def test_read_before_backward_then_backward_twice_accumulates_as_neuron_nodes_do() -> None:
    model, batch, fused, plain = two_graphs([3, 3, 1], "relu", seed=5)
    outputs = [node for node in walk(fused)[0] if isinstance(node, OverHidden)]
    assert len(outputs) == len(batch)
    for output in outputs:  # reading parents unpacks: the graph is plain's now
        assert len(output._parents) == 1 + 2 * 3 and not isinstance(output, OverHidden)
    assert not any(isinstance(node, Hidden) for node in walk(fused)[0])
    fused.backward()
    fused.backward()
    twice = grads(model, batch)
    model.zero_grad()
    for x in batch:
        for v in x:
            v.grad = 0.0
    plain.backward()
    assert any(twice) and bits(twice) == bits([2 * g for g in grads(model, batch)])


def test_an_output_not_in_the_loss_still_differentiates_after_its_neighbour_was_read() -> None:
    model = MLP(2, [3, 3, 2], seed=11)
    x = [Value(0.5), Value(-1.5)]
    first, second = model.forward(x)
    first_plain, second_plain = neuron_by_neuron(model, x)
    topological_order(first * 1.0)  # unpacks the Hidden nodes that second shares
    assert isinstance(second, OverHidden)
    via_hidden, neuron_nodes = both_gradients(model, [x], second * second, second_plain**2)
    assert via_hidden == neuron_nodes
    assert bits([first.data, second.data]) == bits([first_plain.data, second_plain.data])


def set_number(model: MLP) -> None:
    model.layers[0].neurons[1].w[0].data = 3.5


def replace_weight(model: MLP) -> None:
    model.layers[1].neurons[0].w[2] = Value(-0.75)


def replace_bias(model: MLP) -> None:
    model.layers[1].neurons[1].b = Value(0.125)


def replace_neuron(model: MLP) -> None:
    model.layers[0].neurons[2] = Neuron(2, activation="tanh", rng=random.Random(0))


def change_activation(model: MLP) -> None:
    for n in model.layers[0].neurons:
        n.activation = "sigmoid"


@pytest.mark.parametrize(
    "change", [set_number, replace_weight, replace_bias, replace_neuron, change_activation]
)
def test_a_model_changed_between_two_calls_is_read_as_it_is_by_the_second(change: Any) -> None:
    def run(forward: Any) -> tuple[list[str], MLP]:
        model = MLP(2, [3, 2, 1], seed=8, activation="tanh")
        x1, x2 = [Value(0.5), Value(-0.25)], [Value(-1.0), Value(2.0)]
        y1 = forward(model, x1)[0]
        change(model)
        y2 = forward(model, x2)[0]
        (y1 * y2).backward()
        return bits([y1.data, y2.data, *grads(model, [x1, x2])]), model

    fused, model = run(MLP.forward)
    assert fused == run(neuron_by_neuron)[0]
    h = [-1.0, 2.0]  # the second call's output, worked out in floats from the changed model
    for i, layer in enumerate(model.layers):
        z = [
            sum((w.data * a for w, a in zip(n.w, h, strict=True)), n.b.data) for n in layer.neurons
        ]
        act = {"tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v))}
        h = [act[n.activation](v) for n, v in zip(layer.neurons, z)] if i < 2 else z
    assert float.fromhex(fused[1]) == pytest.approx(h[0], rel=1e-12)


class Doubled(Neuron):
    """A neuron of one's own: twice what Neuron computes."""

    def __call__(self, x: Any) -> Value:
        return super().__call__(x) * 2


def test_a_neuron_replaced_by_one_of_its_own_with_the_same_weights_is_called() -> None:
    model = MLP(2, [2, 1], seed=1, activation="linear")
    old = model.layers[0].neurons[0]
    h0 = old.b.data + old.w[0].data * 1.0 + old.w[1].data * 2.0  # its output, by hand
    before = model([1.0, 2.0]).data  # type: ignore[union-attr]
    mine = Doubled.__new__(Doubled)
    mine.__dict__.update(old.__dict__)  # the very same b and w Values
    model.layers[0].neurons[0] = mine
    after = model([1.0, 2.0]).data  # type: ignore[union-attr]
    v = model.layers[1].neurons[0].w[0].data  # the output's weight on the first hidden neuron
    assert after - before == pytest.approx(v * h0, rel=1e-12)  # h0 counted twice now


def test_the_lectures_backward_by_hand_reaches_the_hidden_neurons() -> None:
    model = MLP(2, [2, 1], seed=1, activation="tanh")
    x = [Value(0.4), Value(-0.9)]
    y = model(x)
    y.grad = 1.0
    y._backward()  # type: ignore[union-attr]
    hidden = y._prev[3:]  # type: ignore[union-attr]  (b, w1, w2, then h1, h2)
    w = model.layers[1].neurons[0].w
    assert [h.grad for h in hidden] == [w[0].data, w[1].data]  # d y / d h_j = w_j


class Tripwire(Value):
    """A weight whose grad cannot be written while armed: an error in the middle of backward()."""

    __slots__ = ("armed", "_grad")

    @property  # type: ignore[override]
    def grad(self) -> float:
        return self._grad

    @grad.setter
    def grad(self, value: float) -> None:
        if getattr(self, "armed", False) and value not in (0.0, -0.0):
            raise KeyboardInterrupt
        self._grad = value


def test_an_interrupted_backward_leaves_no_partial_sums_for_the_next_one() -> None:
    model = MLP(2, [3, 4, 1], seed=3, activation="tanh")
    neuron = model.layers[1].neurons[0]  # the last of layer 1 that backward() reaches
    wire = Tripwire(neuron.w[0].data)
    neuron.w[0] = wire
    x = [Value(0.3), Value(0.8)]
    loss = model(x) ** 2  # type: ignore[operator]
    wire.armed = True
    with pytest.raises(KeyboardInterrupt):  # after layer 1's other neurons sent their part
        loss.backward()
    wire.armed = False
    assert all(p.grad == 0.0 for p in model.parameters())  # every leaf kept what it held
    loss.backward()
    got = grads(model, [x])
    model.zero_grad()
    x[0].grad = x[1].grad = 0.0
    (neuron_by_neuron(model, x)[0] ** 2).backward()
    assert bits(got) == bits(grads(model, [x]))


def test_graphs_of_hidden_nodes_pickle_and_copy_and_still_differentiate() -> None:
    _, _, fused, _ = two_graphs([4, 4, 1], "relu", seed=9)
    copies = [pickle.loads(pickle.dumps(fused)), copy.deepcopy(fused)]
    results = []
    for loss in [fused, *copies]:
        assert any(isinstance(node, Hidden) for node in walk(loss)[0])
        loss.backward()
        results.append(bits([x for n in topological_order(loss) for x in (n.data, n.grad)]))
    assert len(results[0]) > 100 and results[0] == results[1] == results[2]


def test_higher_order_and_anomaly_mode_see_the_neurons() -> None:
    model = MLP(2, [3, 1], seed=4, activation="tanh")
    x = [Value(0.2), Value(-0.7)]
    y = model(x)
    (dy_dx0,) = grad(y, [x[0]], create_graph=True)  # type: ignore[arg-type]
    (d2,) = grad(dy_dx0, [x[0]])
    h = 1e-4

    def f(t: float) -> float:
        return float(model([Value(t), Value(-0.7)]).data)  # type: ignore[union-attr]

    assert d2.data == pytest.approx((f(0.2 + h) - 2 * f(0.2) + f(0.2 - h)) / h**2, rel=1e-5)
    with detect_anomaly():
        z = model([Value(0.1), Value(0.0)])
        assert not isinstance(z, OverHidden)  # anomaly mode checks each neuron as it is made
        assert len(z._parents) == 1 + 2 * 3  # type: ignore[union-attr]
