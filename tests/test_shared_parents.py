"""Neurons' shared parents (walk.Shared, nodes._Neuron): the walk, and gradients when weights move.

A neuron's node keeps its parents in two groups that other nodes share, and the numbers it was
computed from; these tests check that the walk still reaches every node once, after its parents,
and that gradients stay right when weights are replaced or changed between calls (hand-derived).
"""

from __future__ import annotations

import copy
import gc
import math
import random
from typing import Any

from gradengine import MLP, Layer, Neuron, Value
from gradengine.hidden import Hidden
from gradengine.walk import Shared, topological_order, walk


def reference_order_holds(order: list[Value], root: Value) -> None:
    """Every node reachable from root is in order exactly once, each after all of its parents."""
    reachable, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop()._parents:
            if id(parent) not in reachable:
                reachable[id(parent)] = parent
                stack.append(parent)
    assert sorted(map(id, order)) == sorted(reachable)
    position = {id(node): k for k, node in enumerate(order)}
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._parents)


def sources(node: Any) -> list[Any]:
    """The nodes that node's _sources name: Shared groups opened, down to their members."""
    found = []
    for source in node._sources:
        found += sources(source) if isinstance(source, Shared) else [source]
    return found


def test_the_walk_of_an_mlp_reaches_every_node_once_each_after_its_parents() -> None:
    random.seed(3)
    model = MLP(3, [5, 4, 1])
    batch = [[Value(random.uniform(-1, 1)) for _ in range(3)] for _ in range(6)]
    loss = sum((model(x) ** 2 for x in batch), Value(0.0))  # type: ignore[operator]
    # The walk of backward(): the hidden layers are a Hidden node per layer and input.
    order, leaves = walk(loss)
    reachable, stack = {id(loss): loss}, [loss]
    while stack:
        for parent in sources(stack.pop()):
            if id(parent) not in reachable:
                reachable[id(parent)] = parent
                stack.append(parent)
    assert sorted(map(id, order)) == sorted(reachable)
    position = {id(node): k for k, node in enumerate(order)}
    assert all(position[id(p)] < position[id(n)] for n in order for p in sources(n))
    assert sum(isinstance(node, Hidden) for node in order) == 2 * len(batch)
    assert not any(isinstance(node, Shared) for node in order + leaves)
    assert {id(v) for v in leaves} == {id(v) for v in order if not v._sources}
    # What everything else reads: every Value, the hidden neurons made from the Hidden nodes.
    values = topological_order(loss)
    reference_order_holds(values, loss)
    assert len(values) == len(order) - 2 * len(batch) + (5 + 4) * len(batch)
    assert walk(loss)[0] == values  # the graph is now the one that neurons of Values make


def test_a_layers_neurons_share_one_group_of_inputs_and_keep_theirs_across_calls() -> None:
    layer = Layer(3, 4)
    first = layer.forward([1.0, 2.0, 3.0])
    second = layer.forward([4.0, 5.0, 6.0])
    inputs = {id(out._sources[1]) for out in first}
    assert len(inputs) == 1  # one group of inputs for the whole layer call
    for a, b in zip(first, second, strict=True):
        assert a._sources[0] is b._sources[0]  # the neuron's (b, w) group, made once


def test_a_weight_replaced_in_place_gets_the_gradient_and_the_old_one_none() -> None:
    n = Neuron(2, nonlin=False)  # y = b + w1 x1 + w2 x2: dy/dw_i = x_i
    n([1.0, 1.0])  # the neuron's group of parameters now exists
    old = n.w[1]
    n.w[1] = Value(0.25)
    y = n([3.0, -2.0])
    y.backward()
    assert y.data == n.b.data + n.w[0].data * 3.0 + 0.25 * -2.0
    assert (n.w[0].grad, n.w[1].grad, n.b.grad, old.grad) == (3.0, -2.0, 1.0, 0.0)
    n.b = Value(7.0)  # a new bias too
    z = n([1.0, 1.0])
    z.backward()
    assert n.b.grad == 1.0 and z.data == 7.0 + n.w[0].data + 0.25


def test_weights_changed_between_two_calls_give_each_node_the_weights_it_read() -> None:
    n = Neuron(1, nonlin=False)
    n.w[0].data, n.b.data = 2.0, 0.0
    x1, x2 = Value(1.5), Value(-4.0)
    y1 = n([x1])  # 2 * 1.5
    n.w[0].data = 5.0
    y2 = n([x2])  # 5 * -4
    total = y1 * y2  # 3 * -20 = -60
    total.backward()
    assert total.data == -60.0
    # d/dx1 = y2 * w_then = -20 * 2; d/dx2 = y1 * 5; d/dw = y2 * x1 + y1 * x2
    assert (x1.grad, x2.grad, n.w[0].grad) == (-40.0, 15.0, -20.0 * 1.5 + 3.0 * -4.0)


def test_a_tanh_neuron_differentiates_at_the_value_it_computed_even_if_data_is_set_later() -> None:
    n = Neuron(1, activation="tanh")
    n.w[0].data, n.b.data = 0.5, 0.1
    x = Value(2.0)
    out = n([x])
    t = math.tanh(0.1 + 0.5 * 2.0)
    assert out.data == t
    out.data = 0.0  # by hand, after the fact
    out.backward()
    assert x.grad == (1.0 - t * t) * 0.5 and n.w[0].grad == (1.0 - t * t) * 2.0


def test_a_layer_call_makes_one_new_object_per_neuron_for_the_collector() -> None:
    layer = Layer(16, 16)
    x = [Value(0.1 * k) for k in range(16)]
    layer.forward(x)  # the neurons' groups of parameters, made once
    gc.disable()
    try:
        before = len(gc.get_objects())
        outs = layer.forward(x)
        made = len(gc.get_objects()) - before
    finally:
        gc.enable()
    # 16 nodes; the output list, the inputs' data, their group and its tuple: none per neuron
    assert made == len(outs) + 4, made


def test_a_copied_model_sends_gradients_to_its_own_parameters() -> None:
    model = MLP(2, [3, 1], seed=1)
    model([0.5, -1.0])  # the neurons' groups exist now, and are copied with the model
    twin = copy.deepcopy(model)
    out = twin([0.5, -1.0])
    out.backward()  # type: ignore[union-attr]
    assert all(p.grad == 0.0 for p in model.parameters())
    assert twin.layers[-1].neurons[0].b.grad == 1.0  # d(out)/db = 1 for the output's bias
