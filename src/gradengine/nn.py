"""Neural networks of Values: Module, Neuron, Layer and MLP, with micrograd's API."""

from __future__ import annotations

import itertools
import numbers
import os
import random
from collections.abc import Sequence
from typing import Any

from gradengine import hidden, serialize
from gradengine.checks import as_list, check_size, describe, type_name
from gradengine.neurons import check_activation, neuron_output
from gradengine.nodes import make_neuron
from gradengine.value import Value, ValueLike, _weighted_sum, as_value
from gradengine.walk import Shared

# Ten million parameters take about 2 GB and seconds per forward pass; refusing larger ones up
# front beats running out of memory halfway through building them.
MAX_PARAMETERS = 10_000_000


def check_inputs(x: object, expected: int) -> list[ValueLike]:
    """x as a list of `expected` inputs (any ordered collection: a numpy array too)."""
    if type(x) is list and len(x) == expected:  # the usual case, before any message is built
        return x
    inputs = as_list(x, f"a list of {expected} inputs (Values or numbers)")
    if len(inputs) != expected:
        raise ValueError(f"expected {expected} inputs, got {len(inputs)}")
    return inputs  # type: ignore[return-value]


def check_parameter_count(count: int, what: str) -> None:
    """ValueError when a network would hold more than MAX_PARAMETERS parameters."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{what} would hold {count:,} parameters; the limit is {MAX_PARAMETERS:,} "
            "(each is a Python object: a scalar engine is the wrong tool at that size)"
        )


def as_values(x: Sequence[ValueLike]) -> list[Value]:
    """x with every number made a constant Value"""
    if all(map(isinstance, x, itertools.repeat(Value))):  # in C; a hidden layer gets only Values
        return x  # type: ignore[return-value]
    return [v if isinstance(v, Value) else as_value(v) for v in x]


class Module:
    """Anything with parameters: zero_grad() sets the grad of each to 0."""

    def parameters(self) -> list[Value]:
        """The Values that training adjusts."""
        return []

    def zero_grad(self) -> None:
        """grad := 0 for every parameter"""
        for p in self.parameters():
            p.grad = 0.0


_NEURON_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


class Neuron(Module):
    """act(b + w·x), or b + w·x when nonlin is false; weights uniform in [-1, 1], bias 0.

    act is the activation: "relu" (micrograd's), "tanh", "sigmoid" or "linear" (none). nonlin
    counts as micrograd's does: any true value means the activation applies. Each neuron is one
    node of the graph, whatever its activation (neurons.py).
    """

    def __init__(
        self,
        nin: int,
        nonlin: object = True,
        *,
        activation: str = "relu",
        rng: random.Random | None = None,
    ) -> None:
        nin = check_size(nin, "nin")
        check_parameter_count(nin + 1, "Neuron")
        activation = check_activation(activation)
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random or None, got {type_name(rng)}")
        uniform = random.uniform if rng is None else rng.uniform
        self.w = [Value(uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = bool(nonlin)
        self.activation = activation

    # (a copy of w, the Shared group (b, *w)) when last built: see shared_parameters().
    _shared: tuple[list[Value], Shared] | None = None

    @property
    def kind(self) -> str:
        """The activation this neuron applies: its activation, or "linear" when nonlin is false."""
        return self.activation if self.nonlin else "linear"

    def __call__(self, x: Sequence[ValueLike]) -> Value:
        """act(b + w·x) (or b + w·x)"""
        xs = as_values(check_inputs(x, len(self.w)))
        data = [v.data for v in xs]
        if self.activation == "relu":
            return _weighted_sum(shared_parameters(self), Shared(tuple(xs)), data, self.nonlin)
        return neuron_output(shared_parameters(self), Shared(tuple(xs)), data, self.kind)

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{_NEURON_NAMES.get(self.kind, self.kind)}Neuron({len(self.w)})"


def shared_parameters(n: Neuron) -> Shared:
    """(b, w1..wn) as one Shared group, the same for each node n makes until n.b or n.w change."""
    shared = n._shared
    # The copy of w compares element by element by identity, in C: a weight replaced in place
    # (n.w[3] = Value(0.1)) makes a new group, so a graph never names a weight that is gone.
    if shared is None or shared[1]._sources[0] is not n.b or shared[0] != n.w:
        shared = n._shared = (list(n.w), Shared((n.b, *n.w)))
    return shared[1]


_PLAIN = {Neuron}


def _fused(neurons: Sequence[Neuron]) -> bool:
    """True when no neuron overrides Neuron.__call__, so the layer may build their nodes itself."""
    return all(type(n) is Neuron or type(n).__call__ is Neuron.__call__ for n in neurons)


#: A layer's neurons, each one's (b, a copy of w, activation, nonlin), and what fused_layer gives.
_FusedLayer = tuple[
    list[Neuron], list[tuple[Value, list[Value], str, bool]], tuple[Shared, str, int]
]


class Layer(Module):
    """nout neurons that all read the same nin inputs."""

    # What MLP.forward keeps to run this layer as Hidden nodes: see fused_layer().
    _fused: _FusedLayer | None = None

    def __init__(self, nin: int, nout: int, **kwargs: object) -> None:
        nin = check_size(nin, "nin")
        nout = check_size(nout, "nout")
        check_parameter_count((nin + 1) * nout, "Layer")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]  # type: ignore[arg-type]

    def forward(self, x: Sequence[ValueLike]) -> list[Value]:
        """[neuron(x) for each neuron]"""
        # The inputs are checked and read once for the whole layer, not once per neuron.
        neurons = self.neurons
        # set(map(type, ...)) runs in C: the check costs 0.6 us per call of a 16-neuron layer.
        if set(map(type, neurons)) != _PLAIN and not _fused(neurons):
            return [n(x) for n in neurons]  # a custom neuron's own __call__ is respected
        xs = as_values(check_inputs(x, len(neurons[0].w)))
        data = [v.data for v in xs]
        inputs = Shared(tuple(xs))  # one group for all the layer's neurons: walked once
        return [
            _weighted_sum(shared_parameters(n), inputs, data, n.nonlin)
            if n.activation == "relu"
            else neuron_output(shared_parameters(n), inputs, data, n.kind)
            for n in neurons
        ]

    def __call__(self, x: Sequence[ValueLike]) -> Value | list[Value]:
        """As micrograd: one output comes back as a Value, several as a list."""
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


def fused_layer(layer: Layer) -> tuple[Shared, str, int] | None:
    """(a Shared group of its neurons' groups (b, w1..wn), their activation, nin), or None.

    None when its neurons differ in activation or size or are not plain Neurons: such a layer
    runs as neuron nodes. The group is the last call's while no neuron changed.
    """
    neurons = layer.neurons
    cached = layer._fused
    # Everything that decides the group, compared by identity first: a neuron, a bias or a weight
    # replaced, or an activation changed, makes it again. One pass over the neurons.
    if (
        cached is None
        or neurons != cached[0]
        or [(n.b, n.w, n.activation, n.nonlin) for n in neurons] != cached[1]
    ):
        if not neurons or set(map(type, neurons)) != _PLAIN:
            return None
        kinds = {n.kind for n in neurons}
        sizes = {len(n.w) for n in neurons}
        if len(kinds) != 1 or len(sizes) != 1:
            return None
        group = Shared(tuple(map(shared_parameters, neurons)))
        cached = layer._fused = (
            list(neurons),
            [(n.b, list(n.w), n.activation, n.nonlin) for n in neurons],
            (group, kinds.pop(), sizes.pop()),
        )
    return cached[2]


class MLP(Module):
    """Fully connected layers: the activation (ReLU unless told) on hidden layers, linear output.

    Its forward pass keeps each hidden layer's outputs as numbers, one node per layer and input,
    whose neuron Values are made when something reads the graph (hidden.py).
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        seed: int | None = None,
        activation: str = "relu",
    ) -> None:
        if not isinstance(nouts, Sequence) or isinstance(nouts, (str, bytes)):
            raise TypeError(
                f"nouts must be a list of layer sizes such as [16, 16, 1], got {describe(nouts)}"
            )
        if len(nouts) == 0:
            raise ValueError("nouts must name at least one layer size, got an empty list")
        sizes = [check_size(nin, "nin")]
        sizes += [check_size(n, f"layer size nouts[{i}]") for i, n in enumerate(nouts)]
        check_parameter_count(sum((a + 1) * b for a, b in itertools.pairwise(sizes)), "MLP")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, got {describe(seed)}")
        # seed=None draws from the global `random`, so random.seed(1337) reproduces micrograd.
        rng = None if seed is None else random.Random(int(seed))
        activation = check_activation(activation)
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != last, activation=activation, rng=rng)
            for i in range(len(nouts))
        ]

    @property
    def activation(self) -> str:
        """The hidden layers' activation ("relu", "tanh", "sigmoid" or "linear")."""
        for layer in self.layers[:-1]:
            return str(layer.neurons[0].kind)
        return str(self.layers[0].neurons[0].activation)

    def forward(self, x: Sequence[ValueLike]) -> list[Value]:
        """The outputs of the last layer, always as a list."""
        layers = self._fused_layers()
        if layers is not None:  # the hidden layers as Hidden nodes, one per layer (hidden.py)
            xs = as_values(check_inputs(x, layers[0][2]))
            return hidden.forward(layers, Shared(tuple(xs)), [v.data for v in xs])
        out: Sequence[ValueLike] = x
        for layer in self.layers:
            if type(layer) is Layer or type(layer).__call__ is Layer.__call__:
                out = layer.forward(out)
            else:  # a custom layer's own __call__ is respected
                result = layer(out)
                out = [result] if isinstance(result, Value) else result
        return out  # type: ignore[return-value]

    def _fused_layers(self) -> list[tuple[Shared, str, int]] | None:
        """Every layer's fused_layer(), when all have one, sizes chain and anomaly mode is off."""
        layers = self.layers
        if len(layers) < 2 or Value._neuron is not make_neuron:  # anomaly checks every neuron
            return None
        fused: list[tuple[Shared, str, int]] = []
        for layer in layers:
            if type(layer) is not Layer:
                return None
            entry = fused_layer(layer)
            if entry is None or (fused and entry[2] != len(fused[-1][0]._sources)):
                return None
            fused.append(entry)
        return fused

    def __call__(self, x: Sequence[ValueLike]) -> Value | list[Value]:
        """As micrograd: one output comes back as a Value, several as a list."""
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the architecture and every parameter to a JSON file (atomically)."""
        serialize.save_mlp(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MLP:
        """The MLP saved at path, exactly as it was saved."""
        return cls._build(serialize.read_mlp(path))

    def to_dict(self) -> dict[str, Any]:
        """The architecture and every parameter as JSON-ready data (what save() writes)."""
        return serialize.mlp_to_dict(self)

    @classmethod
    def from_dict(cls, doc: object, source: str = "<dict>") -> MLP:
        """The MLP that to_dict() described; ValueError naming the bad field."""
        return cls._build(serialize.parse_mlp(doc, source))

    @classmethod
    def _build(cls, architecture: serialize.Architecture) -> MLP:
        """An MLP of the given sizes holding exactly the given weights."""
        nin, nouts, weights, activation = architecture
        mlp = cls(nin, nouts, seed=0, activation=activation)
        for layer_weights, layer in zip(weights, mlp.layers, strict=True):
            for (w, b), neuron in zip(layer_weights, layer.neurons, strict=True):
                for p, x in zip(neuron.w, w, strict=True):
                    p.data = x
                neuron.b.data = b
        return mlp

    def __repr__(self) -> str:
        parts = [str(len(self.layers[0].neurons[0].w))]
        for layer in self.layers:
            parts.append(f"{len(layer.neurons)} {layer.neurons[0].kind}")
        return f"MLP({' -> '.join(parts)}, {len(self.parameters())} parameters)"
