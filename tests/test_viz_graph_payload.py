"""graph_payload(): the step-through view's data for a page of one's own (no browser needed)."""

import json

import pytest

from gradengine import MLP, Value
from gradengine.cli.expression import build
from gradengine.viz.html import graph_payload, view_files


def lecture():
    out = build("L = d * f; d = e + c; e = a * b", {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0})
    out.backward()
    return out


def named(root, name):
    from gradengine.engine import topological_order

    return next(v for v in topological_order(root) if v.label == name)


def test_the_payload_is_json_and_names_every_node():
    out = lecture()
    payload = graph_payload(out)
    text = json.dumps(payload, allow_nan=False)  # plain JSON: every number here is finite
    assert json.loads(text)["steps"][-1]["kind"] == "done"
    assert sorted(n["name"] for n in payload["nodes"]) == ["L", "a", "b", "c", "d", "e", "f"]
    assert payload["hide"] is None and payload["highlight"] is None and payload["tags"] == {}
    assert payload["title"] == "Backpropagation through L"
    assert payload["subtitle"] == "L = d * f = 4.0 * (-2.0) = -8.0"  # (a*b + c) * f by hand


def test_highlight_and_tags_give_positions_of_the_values():
    out = lecture()
    d, e = named(out, "d"), named(out, "e")
    payload = graph_payload(out, highlight=e, tags={"the sum": d, "out": out})
    names = [n["name"] for n in payload["nodes"]]
    assert names[payload["highlight"]] == "e"
    assert {key: names[i] for key, i in payload["tags"].items()} == {"the sum": "d", "out": "L"}


def test_a_network_neuron_can_be_tagged():
    model = MLP(2, [3, 1], seed=2)
    out = model([0.5, -1.0])
    first = out._parents[4]  # the output neuron's x1: the first hidden neuron's output
    payload = graph_payload(out, highlight=first)
    assert payload["nodes"][payload["highlight"]]["name"] == "L1N1"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"highlight": Value(1.0)}, ValueError, "highlight is not a value of this graph"),
        ({"highlight": 3}, TypeError, "highlight must be a Value of the graph"),
        ({"tags": {"x": Value(1.0)}}, ValueError, "tags['x'] is not a value of this graph"),
        ({"tags": [1]}, TypeError, "tags must be a mapping"),
        ({"hide": "grads"}, ValueError, 'hide must be "grad", "data" or None'),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        graph_payload(lecture(), **kwargs)


def test_hidden_grads_are_marked_in_the_text_with_their_node():
    out = lecture()
    payload = graph_payload(out, hide="grad")
    names = [n["name"] for n in payload["nodes"]]
    assert all(n["hidden"] for n in payload["nodes"])  # every grad is hidden
    done = payload["steps"][-1]
    parts = [part for line in done["lines"] for part in line]
    marked = {names[part[0]]: part[1] for part in parts if isinstance(part, list)}
    # the leaves' grads by hand: dL/da = f*b, dL/db = f*a, dL/dc = f, dL/df = d
    assert marked == {"a": "6.0", "b": "-4.0", "c": "-2.0", "f": "4.0"}
    forward = [s for s in payload["steps"] if s["kind"] == "forward"]
    assert all(isinstance(line, str) for s in forward for line in s["lines"])  # data shown


def test_hidden_data_leaves_the_leaves_and_the_subtitle_asks():
    payload = graph_payload(lecture(), hide="data")
    hidden = sorted(n["name"] for n in payload["nodes"] if n["hidden"])
    assert hidden == ["L", "d", "e"]
    assert payload["subtitle"] == "L = d * f = ? * (-2.0) = ?"


def test_the_view_files_are_the_packaged_script_and_style():
    files = view_files()
    assert set(files) == {"page.js", "page.css"}
    assert "const GradengineGraph" in files["page.js"] and ".ge-view" in files["page.css"]


def test_nan_and_infinite_numbers_stay_strict_json():
    x, y = Value(float("inf"), label="x"), Value(0.0, label="y")
    out = x * y - x  # inf * 0 is NaN, as IEEE says; d(out)/dy = x = inf
    out.backward()
    payload = graph_payload(out)
    json.dumps(payload, allow_nan=False)  # would raise on a bare NaN or infinity
    names = [n["name"] for n in payload["nodes"]]
    final = {names[u[0]]: u[1] for u in payload["steps"][-1]["updates"]}
    assert final["y"] == "Infinity" and final["x"] == 0.0 - 1.0  # y*1 - 1 at y = 0
    assert payload["nodes"][-1]["dataText"] == "nan"
