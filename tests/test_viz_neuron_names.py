"""A built-in neuron's inputs are drawn and explained with the lecture's names (w1, x1, ..., b)."""

import math
import re

from gradengine import MLP, Neuron, Value
from gradengine.viz import explain, to_dot, to_mermaid
from gradengine.viz.graph import build_graph
from gradengine.viz.html import page_data, with_page_names

# The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b) at x = (2, 0), w = (-3, 1), b = 6.8813...
X, W, B = (2.0, 0.0), (-3.0, 1.0), 6.8813735870195432
RECORD = re.compile(
    r'v\d+ \[shape=record.*label="\{ (?:(.*?) \| )?data\\ (\S+) \| grad\\ (\S+) \}"'
)


def lecture_neuron(**labels):
    """The lecture's neuron as one fused node, its inputs unlabelled unless labels say."""
    neuron = Neuron(2, activation="tanh")
    for w, data in zip(neuron.w, W, strict=True):
        w.data = data
    neuron.b.data = B
    xs = [Value(x) for x in X]
    out = neuron(xs)
    for name, value in labels.items():
        {"x1": xs[0], "w1": neuron.w[0], "b": neuron.b}[name].label = value
    return out, neuron, xs


def records(dot):
    """{shown name: (data text, grad text)} of every labelled record in DOT source."""
    return {m[1]: (m[2], m[3]) for m in RECORD.finditer(dot) if m[1]}


def test_the_lecture_neuron_draws_its_inputs_with_the_lectures_names():
    out, neuron, xs = lecture_neuron()
    assert out._op == "tanh(weighted_sum)"
    out.backward()
    shown = records(to_dot(out))
    assert set(shown) == {"b", "w1", "w2", "x1", "x2"}
    # each name sits on the right value: data as set, grads as the chain rule gives them
    t = math.tanh(X[0] * W[0] + X[1] * W[1] + B)
    expected = {"b": (B, 1 - t * t), "w1": (W[0], (1 - t * t) * X[0])}
    expected |= {"w2": (W[1], (1 - t * t) * X[1]), "x1": (X[0], (1 - t * t) * W[0])}
    expected["x2"] = (X[1], (1 - t * t) * W[1])
    for name, (data, grad) in expected.items():
        assert math.isclose(float(shown[name][0]), data, rel_tol=1e-5, abs_tol=1e-9), name
        assert math.isclose(float(shown[name][1]), grad, rel_tol=1e-5, abs_tol=1e-9), name
    # the Values themselves keep no label
    assert [v.label for v in (*neuron.w, neuron.b, *xs)] == [""] * 5


def test_labels_a_parent_already_has_are_kept():
    out, _, _ = lecture_neuron(x1="height", b="bias")
    shown = records(to_dot(out))
    assert set(shown) == {"height", "bias", "w1", "w2", "x2"}


def test_mermaid_and_the_page_use_the_same_names():
    out, _, _ = lecture_neuron()
    mermaid = to_mermaid(out)
    for name in ("b", "w1", "w2", "x1", "x2"):
        assert f"<b>{name}</b>" in mermaid
    nodes = page_data(with_page_names(build_graph(out)))["nodes"]
    assert sorted(n["name"] for n in nodes if not n["parents"]) == ["b", "w1", "w2", "x1", "x2"]
    assert all(n["labelled"] for n in nodes if not n["parents"])


def test_explain_tells_each_local_derivative_in_the_lectures_names():
    out, _, _ = lecture_neuron()
    text = explain(out)
    t = math.tanh(X[0] * W[0] + X[1] * W[1] + B)
    name = build_graph(out).names[-1]
    match = re.search(rf"∂{name}/∂w1 = \(1 - {name}²\)·x1 = (\S+),", text)
    assert match, text
    assert math.isclose(float(match[1]), (1 - t * t) * X[0], rel_tol=1e-5)
    match = re.search(rf"∂{name}/∂x2 = \(1 - {name}²\)·w2 = (\S+),", text)
    assert match, text
    assert math.isclose(float(match[1]), (1 - t * t) * W[1], rel_tol=1e-5)
    assert re.search(rf"∂{name}/∂b = 1 - {name}² = ", text), text
    assert "tanh(b + w1*x1 + w2*x2)" in text


def test_a_network_names_each_neuron_and_its_own_parameters():
    model = MLP(2, [3, 1], seed=1)
    out = model([1.5, -0.5])
    graph = build_graph(out)
    by_name = {graph.names[i]: node for i, node in enumerate(graph.nodes)}
    assert len(by_name) == len(graph.nodes)  # every name is unique
    for k, neuron in enumerate(model.layers[0].neurons, start=1):
        assert by_name[f"L1N{k}.b"] is neuron.b
        for j, w in enumerate(neuron.w, start=1):
            assert by_name[f"L1N{k}.w{j}"] is w
        # the neuron's output is itself an input of the next layer, and keeps its own name
        assert by_name[f"L1N{k}"]._parents[0] is neuron.b
    output = model.layers[1].neurons[0]
    assert [by_name[f"L2N1.w{j}"] for j in (1, 2, 3)] == output.w
    assert by_name["L2N1"] is out
    assert [by_name["x1"].data, by_name["x2"].data] == [1.5, -0.5]
