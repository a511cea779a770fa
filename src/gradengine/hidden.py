"""Hidden layers kept as numbers: one node per layer and input, its Values made only when read.

An MLP's hidden activations are read by nothing but the next layer, so MLP.forward keeps one
hidden layer's outputs for one input as a tuple of floats in a Hidden node, not as one Value per
neuron. The output layer's neurons are Values as always, neuron nodes whose inputs are the last
Hidden node (OverHidden). The moons step keeps 2,300 objects alive instead of 5,700, so the
cyclic garbage collector, which counts new objects and rescans the survivors, runs half as often
(micrograd's demo: 3 full collections in 100 steps instead of 6).

backward() sends the same gradients in the same order as over neurons of Values, bit for bit.
Whatever reads a graph's structure (drawings, explain, compile, higher-order gradients, anomaly
mode) sees the same graph as before: reading an OverHidden's parents, or topological_order(),
turns its Hidden nodes into the neuron Values they stand for, once, with the grads that the last
backward() gave them, and the OverHidden into an ordinary neuron of them.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from itertools import islice, repeat
from operator import add, mul

from gradengine import ieee
from gradengine.neurons import OPERATIONS
from gradengine.nodes import _Neuron, make_neuron
from gradengine.value import Operation, Value, _parameter_data, _sum_left_to_right
from gradengine.walk import Shared, exclusive


def weighted_sums(bs: list[float], ws: list[list[float]], x: Sequence[float]) -> list[float]:
    """b_k + w_k·x for each neuron k, summed left to right as a neuron node sums"""
    return [_sum_left_to_right(map(mul, w, x), b) for b, w in zip(bs, ws)]


def activate(kind: str, zs: list[float]) -> tuple[float, ...]:
    """act(z) for each pre-activation z, exactly as the neuron nodes compute it."""
    # A tuple of floats, which the garbage collector stops tracking the first time it sees it.
    if kind == "relu":
        return tuple([0.0 if z <= 0 else z for z in zs])
    if kind == "tanh":
        return tuple(map(math.tanh, zs))
    if kind == "sigmoid":
        return tuple(map(ieee.sigmoid, zs))
    return tuple(zs)


def layer_data(layer: Shared) -> tuple[list[float], list[list[float]], float]:
    """([b_k], [w_k], Σ|b_k| + Σ|w_kj|) of a layer's neurons; the last call's while unchanged."""
    # All of the layer's parameters are read in one pass and compared with the last call's
    # numbers, by identity first: within a step, every sample finds the lists of the first.
    last = layer.data
    members = last[0] if last is not None else [p for g in layer._sources for p in g._sources]
    numbers = [p.data for p in members]  # 2x faster than map(attrgetter("data"), ...) on 3.11
    if last is not None and numbers == last[1]:
        return last[2], last[3], last[4]
    bs, ws = [], []
    for group in layer._sources:  # each neuron's (b, w1..wn)
        b, w = _parameter_data(group)
        bs.append(b)
        ws.append(w)
    size = sum(map(abs, numbers))
    layer.data = members, numbers, bs, ws, size
    return bs, ws, size


class Hidden:
    """act(b_k + w_k·x) for every neuron k of a hidden layer, for one input x, as floats.

    A node of the walk, not a Value: its sources are the layer's Shared group of the neurons'
    groups (b, w1..wn), and its input, the Shared group of the input Values or the Hidden node
    below. Its ``grad`` is the array of d(root)/d(output k), which backward() zeroes first.
    """

    __slots__ = (
        *("_layer", "_input", "_b", "_w", "_x", "_out", "_operation", "_dout", "_values"),
        *("_bounded", "_seen_by"),
    )
    _packed = False  # a node that stands for Values not made yet (OverHidden) says True

    def __init__(
        self, layer: Shared, below: Shared | Hidden, x: Sequence[float], kind: str
    ) -> None:
        self._layer, self._input, self._x = layer, below, x
        bs, ws, size = layer_data(layer)
        self._b, self._w = bs, ws
        # Each neuron's local derivatives are s * (1, x1..xn, w1..wn) with |s| <= 1 (OPERATIONS),
        # so while 1 + Σ|b| + Σ|w| + Σ|x| is far from overflowing, all of them and their sum are
        # finite, and a zero grad adds nothing (nan when a number is nan: not bounded).
        self._bounded = 1.0 + size + sum(map(abs, x)) < 1e300
        self._out = activate(kind, weighted_sums(bs, ws, x))
        self._operation: Operation = OPERATIONS[kind]
        # An array, not a list: n doubles in one block, no float object for each.
        self._dout: array[float] | None = None  # backward() sets it
        self._values: Shared | None = None  # the neuron Values it stands for, once made
        self._seen_by: object = None

    @property
    def _sources(self) -> tuple[Shared, Shared | Hidden]:
        return (self._layer, self._input)

    @property
    def grad(self) -> array[float] | None:
        """d(root)/d(output k) for each neuron k, in the last backward()"""
        return self._dout

    @grad.setter
    def grad(self, value: float) -> None:  # backward() sets every node's grad to -0.0 first
        self._dout = array("d", (value,)) * len(self._out)

    def _send_grad(self) -> None:
        """parent.grad += dout_k * d(out_k)/d(parent), for each neuron k from the last"""
        # The same additions in the same order as the neuron nodes' _send_grad (nodes.py) make,
        # as the walk orders a layer's neurons first to last and backward() runs the order back.
        dout, x, out, bs, ws = self._dout, self._x, self._out, self._b, self._w
        assert dout is not None
        bounded = self._bounded
        if bounded and not any(dout):  # a sample the loss passes no gradient to, mostly
            return
        derivatives = self._operation.derivatives
        groups = self._layer._sources
        below = self._input
        for k in range(len(out) - 1, -1, -1):
            grad = dout[k]
            if bounded and grad == 0.0:
                continue  # grad * d = 0 for every d: as nodes._send decides, nothing to add
            send_neuron(groups[k], below, grad, derivatives(ieee, bs[k], ws[k], x, out[k]))

    def values(self) -> Shared:
        """The neuron Values this node stands for, as one Shared group (made on the first call).

        The caller holds the walk's turn. Each has the grad the last backward() gave it.
        """
        if self._values is None:
            below = self._input
            inputs = below.values() if isinstance(below, Hidden) else below
            made = tuple(
                make_neuron(out, group, inputs, b, w, self._x, self._operation)
                for out, group, b, w in zip(self._out, self._layer._sources, self._b, self._w)
            )
            if self._dout is not None:
                for value, grad in zip(made, self._dout):
                    value.grad = grad
            self._values = Shared(made)
        return self._values


def send_neuron(
    params: Shared, below: Shared | Hidden, grad: float, local_grads: Sequence[float]
) -> None:
    """nodes._send for a neuron of params (b, w1..wn) whose inputs are below's Values or outputs"""
    if (grad == 0.0 or not any(local_grads)) and math.isfinite(grad * sum(local_grads)):
        return  # nothing to add, as nodes._send decides
    for parent, local_grad in zip(params._sources, local_grads):  # b, w1..wn
        parent.grad += grad * local_grad
    to_inputs = islice(local_grads, len(params._sources), None)  # x1..xn
    if below.__class__ is Hidden:
        dout: array[float] = below._dout  # type: ignore[assignment]
        dout[:] = array("d", map(add, dout, map(mul, repeat(grad), to_inputs)))
    else:
        for parent, local_grad in zip(below._sources, to_inputs):
            parent.grad += grad * local_grad


class OverHidden(_Neuron):
    """A neuron node whose inputs are a Hidden node: act(b + w·x) over a hidden layer's floats."""

    __slots__ = ()
    _packed = True
    _inputs: Hidden  # type: ignore[assignment]

    @property
    def _sources(self) -> tuple[Shared, Shared | Hidden]:  # type: ignore[override]
        if self._inputs._values is not None:  # its Hidden became Values for a neighbour: follow
            self._unpack()
            return self._sources
        return (self._params, self._inputs)

    @property
    def _parents(self) -> tuple[Value, ...]:  # type: ignore[override]
        with exclusive("reading a neuron's parents"):
            self._unpack()
        return self._parents

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's _backward (compat.py), for calling by hand: over the neuron Values"""
        self._parents  # noqa: B018 (unpacks: the grads go to Values you can read)
        return self._send_grad

    def _send_grad(self) -> None:
        """parent.grad += grad * local_grad, for b, w1..wn and each of the Hidden's outputs"""
        local_grads = self._operation.derivatives(ieee, self._b, self._w, self._x, self._out)
        send_neuron(self._params, self._inputs, self.grad, local_grads)

    def _unpack(self) -> None:
        """Become an ordinary neuron node over its Hidden's Values (the caller has the turn)."""
        if self.__class__ is OverHidden:  # another thread may have been first
            self._inputs = self._inputs.values()  # type: ignore[assignment]
            self.__class__ = _Neuron  # type: ignore[assignment]


def forward(
    layers: Sequence[tuple[Shared, str, int]], inputs: Shared, x: Sequence[float]
) -> list[Value]:
    """The last layer's outputs for inputs (whose data is x), the layers before it as Hidden nodes.

    Each layer (at least two) is its Shared group of the neurons' groups (b, w1..wn), its
    activation and its number of inputs (nn.fused_layer).
    """
    below: Shared | Hidden = inputs
    for layer, kind, _ in layers[:-1]:
        below = hidden = Hidden(layer, below, x, kind)
        x = hidden._out
    layer, kind, _ = layers[-1]
    bs, ws, _ = layer_data(layer)
    operation = OPERATIONS[kind]
    outputs: list[Value] = []
    for out, group, b, w in zip(activate(kind, weighted_sums(bs, ws, x)), layer._sources, bs, ws):
        node = make_neuron(out, group, below, b, w, x, operation)  # type: ignore[arg-type]
        node.__class__ = OverHidden  # the same slots: a neuron over a Hidden node
        outputs.append(node)
    return outputs
