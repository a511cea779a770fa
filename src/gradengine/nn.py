"""Neural networks of Values, as micrograd's nn.py: Module, Neuron, Layer, MLP, typed and checked.

One difference inside: a neuron is one node of the graph, act(b + w·x), not 2n + 1 (see fast/).
"""

from __future__ import annotations

import itertools
import numbers
import os
import random
from collections.abc import Sequence
from typing import Any

from gradengine import fast, serialize
from gradengine.checks import as_list, as_value, check_size, describe, type_name
from gradengine.engine import Value, ValueLike

# Ten million parameters take about 2 GB and seconds per forward pass; refusing larger ones up
# front beats running out of memory halfway through building them.
MAX_PARAMETERS = 10_000_000
_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


class Module:
    """Anything with parameters: zero_grad() sets the grad of each to 0."""

    def zero_grad(self) -> None:
        """grad := 0 for every parameter"""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The Values that training adjusts."""
        return []


class Neuron(Module):
    """act(b + w·x): weights uniform in [-1, 1], bias 0; no activation when nonlin is false.

    activation is "relu" (micrograd's), "tanh", "sigmoid" or "linear" (none).
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
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random or None, got {type_name(rng)}")
        uniform = random.uniform if rng is None else rng.uniform
        self.w = [Value(uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = bool(nonlin)
        self.activation = check_activation(activation)

    @property
    def kind(self) -> str:
        """The activation this neuron applies: its activation, or "linear" when nonlin is false."""
        return self.activation if self.nonlin else "linear"

    def __call__(self, x: Sequence[ValueLike]) -> Value:
        """act(b + w·x), one node of the graph"""
        return fast.neuron(self.b, self.w, check_inputs(x, len(self.w)), self.kind)

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{_NAMES[self.kind]}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons that all read the same nin inputs."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        check_parameter_count((check_size(nin, "nin") + 1) * check_size(nout, "nout"), "Layer")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def forward(self, x: Sequence[ValueLike]) -> list[Value]:
        """[neuron(x) for each neuron]"""
        xs = check_inputs(x, len(self.neurons[0].w))
        if set(map(type, self.neurons)) == {Neuron}:  # plain neurons: all at once (fast/)
            return fast.layer(self.neurons, xs)
        return [n(xs) for n in self.neurons]  # a subclass's own __call__ is respected

    def __call__(self, x: Sequence[ValueLike]) -> Value | list[Value]:
        """As micrograd: one output comes back as a Value, several as a list."""
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Fully connected layers: ReLU (or the activation given) on hidden layers, a linear output.

    activation names the hidden layers' activation, or is a list of one per layer, the output's
    included: activation=["tanh", "tanh", "tanh"] is the lecture's network, tanh throughout.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        seed: int | None = None,
        activation: str | Sequence[str] = "relu",
    ) -> None:
        if not isinstance(nouts, Sequence) or isinstance(nouts, (str, bytes)):
            raise TypeError(
                f"nouts must be a list of layer sizes like [16, 1], got {describe(nouts)}"
            )
        if not nouts:
            raise ValueError("nouts must name at least one layer size, got an empty list")
        sizes = [check_size(nin, "nin")]
        sizes += [check_size(n, f"layer size nouts[{i}]") for i, n in enumerate(nouts)]
        check_parameter_count(sum((a + 1) * b for a, b in itertools.pairwise(sizes)), "MLP")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, got {describe(seed)}")
        # seed=None draws from the global `random`, so random.seed(1337) reproduces micrograd.
        rng = None if seed is None else random.Random(int(seed))
        kinds = layer_activations(activation, len(nouts))
        last = len(nouts) - 1
        self.layers = [  # a linear output is micrograd's nonlin=False
            Layer(sizes[i], sizes[i + 1], rng=rng, **_settings(kind, output=i == last))
            for i, kind in enumerate(kinds)
        ]

    @property
    def activation(self) -> str:
        """The hidden layers' activation ("relu", "tanh", "sigmoid" or "linear")."""
        return str(self.layers[0].neurons[0].kind if len(self.layers) > 1 else "relu")

    @property
    def activations(self) -> list[str]:
        """Each layer's activation, the output's included ("linear" unless told otherwise)."""
        return [layer.neurons[0].kind for layer in self.layers]

    def forward(self, x: Sequence[ValueLike]) -> list[Value]:
        """The outputs of the last layer, always as a list."""
        out: Any = x
        for layer in self.layers:
            out = layer.forward(out) if type(layer).__call__ is Layer.__call__ else layer(out)
            out = [out] if isinstance(out, Value) else out
        return list(out)

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
        """An MLP of the given sizes and activations holding exactly the given weights."""
        nin, nouts, weights, activations = architecture
        mlp = cls(nin, nouts, seed=0, activation=activations)
        for layer_weights, layer in zip(weights, mlp.layers, strict=True):
            for (w, b), n in zip(layer_weights, layer.neurons, strict=True):
                for p, x in zip(n.w, w, strict=True):
                    p.data = x
                n.b.data = b
        return mlp

    def __repr__(self) -> str:
        parts = [str(len(self.layers[0].neurons[0].w))]
        parts += [f"{len(layer.neurons)} {layer.neurons[0].kind}" for layer in self.layers]
        return f"MLP({' -> '.join(parts)}, {len(self.parameters())} parameters)"


def check_inputs(x: object, expected: int) -> list[Value]:
    """x as a list of `expected` Values (numbers become constants; any ordered collection)."""
    if type(x) is not list or len(x) != expected:
        x = as_list(x, f"a list of {expected} inputs (Values or numbers)")
        if len(x) != expected:
            raise ValueError(f"expected {expected} inputs, got {len(x)}")
    if all(map(isinstance, x, itertools.repeat(Value))):  # (map: the loop runs in C)
        return x  # type: ignore[return-value]
    return [as_value(v) for v in x]


def check_activation(activation: object) -> str:
    """activation itself if it names one of fast.ACTIVATIONS; ValueError (or TypeError) if not"""
    if not isinstance(activation, str) or activation not in fast.ACTIVATIONS:
        error = TypeError if not isinstance(activation, str) else ValueError
        names = ", ".join(map(repr, fast.ACTIVATIONS))
        raise error(f"activation must be one of {names}, got {activation!r:.60}")
    return activation


def layer_activations(activation: object, layers: int) -> list[str]:
    """Each layer's activation: a str for each hidden layer (the output linear), or one per layer"""
    if isinstance(activation, str):
        return [check_activation(activation)] * (layers - 1) + ["linear"]
    kinds = [check_activation(a) for a in as_list(activation, "an activation or a list of them")]
    if len(kinds) != layers:
        raise ValueError(f"activation: expected one per layer ({layers}), got {len(kinds)}")
    return kinds


def _settings(kind: str, *, output: bool) -> dict[str, Any]:
    """A Neuron's nonlin and activation for kind: a linear output is micrograd's nonlin=False."""
    if output and kind == "linear":
        return {"nonlin": False, "activation": "relu"}
    return {"nonlin": True, "activation": kind}


def check_parameter_count(count: int, what: str) -> None:
    """ValueError when a network would hold more than MAX_PARAMETERS parameters."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{what} would hold {count:,} parameters; the limit is {MAX_PARAMETERS:,} "
            "(each is a Python object: a scalar engine is the wrong tool at that size)"
        )
