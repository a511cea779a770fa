"""nn: Module, Neuron, Layer and MLP: shapes, initialisation, micrograd compatibility, errors."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from gradengine import MLP, Layer, Module, Neuron, Value
from gradengine.gradcheck import gradcheck


def weights(model: Module) -> list[float]:
    return [p.data for p in model.parameters()]


def plain_forward(mlp: MLP, x: list[float]) -> list[float]:
    """The MLP's outputs computed with plain floats: relu(b + Σ w x) per hidden neuron."""
    for layer in mlp.layers:
        outs = []
        for n in layer.neurons:
            z = n.b.data
            for w, xi in zip(n.w, x):
                z += w.data * xi
            outs.append(max(z, 0.0) if n.nonlin else z)
        x = outs
    return x


# -- shapes and initialisation --------------------------------------------------------------------


def test_module_has_no_parameters_of_its_own() -> None:
    assert Module().parameters() == []
    Module().zero_grad()


def test_neuron_shape_and_initialisation() -> None:
    n = Neuron(3, rng=random.Random(0))
    assert len(n.w) == 3
    assert n.parameters() == [*n.w, n.b]
    assert all(-1.0 <= w.data <= 1.0 for w in n.w)
    assert n.b.data == 0.0
    assert isinstance(n([1, 2, 3]), Value)


def test_neuron_computes_relu_of_the_weighted_sum() -> None:
    n = Neuron(2)
    n.w[0].data, n.w[1].data, n.b.data = 2.0, -1.0, 0.5
    assert n([3, 4]).data == 2.5  # 0.5 + 6 - 4
    assert n([1, 4]).data == 0.0  # relu(0.5 + 2 - 4)
    n.nonlin = False
    assert n([1, 4]).data == -1.5


def test_layer_shape() -> None:
    layer = Layer(3, 4)
    assert len(layer.neurons) == 4
    assert len(layer.parameters()) == 4 * (3 + 1)
    out = layer.forward([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 4


def test_mlp_has_337_parameters_for_2_16_16_1() -> None:
    # (2*16 + 16) + (16*16 + 16) + (16*1 + 1) = 48 + 272 + 17
    mlp = MLP(2, [16, 16, 1])
    assert len(mlp.parameters()) == 337
    assert [len(layer.neurons) for layer in mlp.layers] == [16, 16, 1]
    assert [len(layer.neurons[0].w) for layer in mlp.layers] == [2, 16, 16]


def test_mlp_hidden_layers_are_relu_and_the_output_is_linear() -> None:
    mlp = MLP(3, [5, 4, 2], seed=0)
    assert [layer.neurons[0].nonlin for layer in mlp.layers] == [True, True, False]
    assert all(n.nonlin == layer.neurons[0].nonlin for layer in mlp.layers for n in layer.neurons)


def test_mlp_weights_uniform_in_minus_one_one_and_biases_zero() -> None:
    mlp = MLP(4, [30, 30, 1], seed=5)
    neurons = [n for layer in mlp.layers for n in layer.neurons]
    ws = [w.data for n in neurons for w in n.w]
    assert all(-1.0 <= w <= 1.0 for w in ws)
    assert min(ws) < -0.9 and max(ws) > 0.9  # spread over the whole interval
    assert all(n.b.data == 0.0 for n in neurons)


@pytest.mark.parametrize("x", [[0.5, -1.0, 2.0], [3.0, 0.25, -0.75], [0.0, 0.0, 0.0]])
def test_mlp_forward_matches_plain_float_arithmetic(x: list[float]) -> None:
    mlp = MLP(3, [8, 8, 2], seed=11)
    for p in mlp.parameters():  # non-zero biases so every term is exercised
        p.data += 0.125
    assert [v.data for v in mlp.forward(x)] == plain_forward(mlp, x)


def test_mlp_gradients_match_central_differences() -> None:
    mlp = MLP(2, [6, 6, 1], seed=7)
    for p in mlp.parameters():
        p.data += 0.1  # non-zero biases, so some ReLUs open and some close

    def f(x1: Value, x2: Value) -> Value:
        return mlp.forward([x1, x2])[0] ** 2

    result = gradcheck(f, [0.3, -0.8])
    assert result.ok, str(result)
    assert any(g != 0.0 for g in result.analytic)


# -- seeds ---------------------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_networks() -> None:
    first, second = MLP(2, [16, 16, 1], seed=3), MLP(2, [16, 16, 1], seed=3)
    assert weights(first) == weights(second)
    assert first.forward([0.3, 0.7])[0].data == second.forward([0.3, 0.7])[0].data


def test_different_seeds_give_different_networks() -> None:
    assert weights(MLP(2, [16, 1], seed=1)) != weights(MLP(2, [16, 1], seed=2))


def test_seed_leaves_the_global_random_state_alone() -> None:
    random.seed(99)
    expected = random.random()
    random.seed(99)
    MLP(2, [16, 16, 1], seed=4)
    assert random.random() == expected


def test_seed_none_draws_from_the_global_random_module() -> None:
    # micrograd's order: neuron by neuron, nin uniform(-1, 1) weights each, then a bias of 0.
    random.seed(1337)
    expected: list[float] = []
    for nin, nout in [(2, 8), (8, 1)]:
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    random.seed(1337)
    assert weights(MLP(2, [8, 1])) == expected
    random.seed(1337)
    assert weights(MLP(2, [8, 1], seed=None)) == expected


def test_random_seed_1337_reproduces_micrograd_exactly() -> None:
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert weights(ours) == [p.data for p in theirs.parameters()]
    for x in ([0.5, -1.5], [2.0, 1.0], [-0.3, 0.1]):
        out_ours, out_theirs = ours(x), theirs(x)
        assert isinstance(out_ours, Value)
        assert out_ours.data == out_theirs.data  # same additions in the same order
        out_ours.backward()
        out_theirs.backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-12)


def test_micrograd_training_loop_runs_unchanged() -> None:
    # micrograd's own loop: model(x), sum(...), p.data -= lr * p.grad, model.zero_grad().
    model = MLP(2, [8, 8, 1], seed=0)
    xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    ys = [0.0, 1.0, 1.0, 2.0]
    losses = []
    for _ in range(60):
        preds = [model(x) for x in xs]
        loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), Value(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.01 * p.grad
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 10


# -- calling conventions ---------------------------------------------------------------------------


def test_call_returns_a_value_for_one_output_and_a_list_for_several() -> None:
    one, several = MLP(2, [4, 1], seed=0), MLP(2, [4, 3], seed=0)
    assert isinstance(one([1.0, 2.0]), Value)
    out = several([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    assert isinstance(Layer(2, 2)([1.0, 2.0]), list)


def test_forward_always_returns_a_list() -> None:
    one = MLP(2, [4, 1], seed=0)
    out = one.forward([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1
    assert out[0].data == one([1.0, 2.0]).data  # type: ignore[union-attr]
    assert isinstance(Layer(2, 1).forward([1.0, 2.0]), list)


def test_inputs_may_be_values_or_numbers() -> None:
    mlp = MLP(2, [4, 1], seed=0)
    from_numbers = mlp.forward([0.5, -2])[0].data
    x = [Value(0.5), Value(-2)]
    out = mlp.forward(x)[0]
    assert out.data == from_numbers
    out.backward()
    assert any(v.grad != 0.0 for v in x)  # gradients reach Value inputs
    assert mlp.forward((0.5, Value(-2)))[0].data == from_numbers


def test_a_one_neuron_hidden_layer_works() -> None:
    # micrograd crashes here: its 1-neuron layer returns a bare Value to the next layer.
    mlp = MLP(2, [16, 1, 1], seed=0)
    out = mlp([0.5, 0.25])
    assert isinstance(out, Value)
    assert out.data == plain_forward(mlp, [0.5, 0.25])[0]
    out.backward()
    assert len(mlp.parameters()) == (2 * 16 + 16) + (16 + 1) + (1 + 1)


def test_zero_grad_clears_every_parameter() -> None:
    mlp = MLP(2, [4, 4, 1], seed=0)
    for p in mlp.parameters():
        p.data += 0.1
    mlp([1.0, -1.0]).backward()  # type: ignore[union-attr]
    assert any(p.grad != 0.0 for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())


def test_repr() -> None:
    assert repr(MLP(2, [16, 16, 1])) == "MLP(2 -> 16 relu -> 16 relu -> 1 linear, 337 parameters)"
    assert repr(MLP(3, [2])) == "MLP(3 -> 2 linear, 8 parameters)"
    assert repr(Neuron(3)) == "ReLUNeuron(3)"
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert repr(Layer(2, 2)) == "Layer of [ReLUNeuron(2), ReLUNeuron(2)]"


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [[1.0], [1.0, 2.0, 3.0], []])
def test_wrong_input_length_names_expected_and_given(x: list[float]) -> None:
    mlp = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match=f"expected 2 inputs, got {len(x)}"):
        mlp(x)
    with pytest.raises(ValueError, match=f"expected 2 inputs, got {len(x)}"):
        mlp.forward(x)
    with pytest.raises(ValueError, match=f"expected 2 inputs, got {len(x)}"):
        Neuron(2)(x)
    with pytest.raises(ValueError, match=f"expected 2 inputs, got {len(x)}"):
        Layer(2, 3)(x)


@pytest.mark.parametrize("x", [1.0, "ab", None, Value(1.0)])
def test_input_that_is_not_a_list_is_a_type_error(x: object) -> None:
    with pytest.raises(TypeError, match="expected a list of 2 inputs"):
        MLP(2, [4, 1], seed=0)(x)  # type: ignore[arg-type]


def test_input_holding_a_non_number_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        MLP(2, [4, 1], seed=0)([1.0, "2"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("nin", "nouts", "error", "message"),
    [
        (0, [4, 1], ValueError, "nin"),
        (-2, [4, 1], ValueError, "nin"),
        (2, [], ValueError, "at least one"),
        (2, [4, 0], ValueError, r"nouts\[1\]"),
        (2, [-1], ValueError, r"nouts\[0\]"),
        (2.5, [4, 1], TypeError, "nin"),
        ("2", [4, 1], TypeError, "nin"),
        (True, [4, 1], TypeError, "nin"),
        (2, [4.0, 1], TypeError, r"nouts\[0\]"),
        (2, ["16"], TypeError, r"nouts\[0\]"),
        (2, [None], TypeError, r"nouts\[0\]"),
        (2, 16, TypeError, "nouts"),
        (2, "16", TypeError, "nouts"),
        (2, None, TypeError, "nouts"),
    ],
)
def test_bad_sizes_are_rejected_clearly(
    nin: object, nouts: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        MLP(nin, nouts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Neuron(0), ValueError),
        (lambda: Neuron(1.5), TypeError),
        (lambda: Layer(2, 0), ValueError),
        (lambda: Layer(0, 2), ValueError),
        (lambda: Layer(2, "3"), TypeError),
    ],
)
def test_bad_neuron_and_layer_sizes(make: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"integer >= 1"):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    "build",
    [lambda: MLP(10_000, [10_000]), lambda: Layer(10_000, 10_000), lambda: Neuron(10**8)],
    ids=["MLP", "Layer", "Neuron"],
)
def test_a_network_over_ten_million_parameters_is_refused_before_it_is_built(
    build: Callable[[], object],
) -> None:
    with pytest.raises(ValueError, match="limit is 10,000,000"):
        build()
