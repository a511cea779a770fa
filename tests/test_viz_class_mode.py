"""Class mode: hide="grad" or hide="data" shows those numbers as ? in drawings and pages."""

import re
import shutil

import pytest

from gradengine import Value
from gradengine.viz import draw, to_dot, to_mermaid

RECORD = re.compile(r'label="\{ (?:(.*?) \| )?data\\ (\S+) \| grad\\ (\S+) \}"')


def lecture_graph():
    """L = (a*b + c) * f, the lecture's first graph, after backward()."""
    a, b, c, f = (Value(v, label=n) for v, n in ((2.0, "a"), (-3.0, "b"), (10.0, "c"), (-2.0, "f")))
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    out = d * f
    out.label = "L"
    out.backward()
    return out


def shown(dot):
    return {m[1]: (m[2], m[3]) for m in RECORD.finditer(dot)}


def test_hiding_the_grads_shows_every_grad_as_a_question_mark():
    numbers = shown(to_dot(lecture_graph(), hide="grad"))
    assert set(numbers) == {"a", "b", "c", "f", "e", "d", "L"}
    assert {grad for _, grad in numbers.values()} == {"?"}
    assert {name: float(data) for name, (data, _) in numbers.items()} == {
        "a": 2.0,
        "b": -3.0,
        "c": 10.0,
        "f": -2.0,
        "e": -6.0,
        "d": 4.0,
        "L": -8.0,
    }


def test_hiding_the_data_keeps_the_leaves_and_the_grads():
    numbers = shown(to_dot(lecture_graph(), hide="data"))
    assert {name: data for name, (data, _) in numbers.items() if data != "?"} == {
        "a": "2.0",
        "b": "-3.0",
        "c": "10.0",
        "f": "-2.0",
    }
    assert sorted(name for name, (data, _) in numbers.items() if data == "?") == ["L", "d", "e"]
    # dL/da = f * b = 6 by hand; dL/dd = f = -2
    assert float(numbers["a"][1]) == 6.0 and float(numbers["d"][1]) == -2.0


def test_nothing_hidden_by_default():
    assert "?" not in to_dot(lecture_graph())


def test_mermaid_hides_the_same_way():
    text = to_mermaid(lecture_graph(), hide="grad")
    assert text.count("grad ?") == 7 and "grad -2" not in text


@pytest.mark.parametrize(
    ("hide", "error"), [("grads", ValueError), ("", ValueError), (True, TypeError), (1, TypeError)]
)
def test_an_unknown_hide_is_refused_with_the_choices(hide, error):
    with pytest.raises(error, match='hide must be "grad", "data" or None'):
        to_dot(lecture_graph(), hide=hide)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_draw_renders_the_question_marks(tmp_path):
    pytest.importorskip("graphviz", reason="draw() needs the graphviz package")
    draw(lecture_graph(), tmp_path / "sheet.svg", hide="grad")
    svg = (tmp_path / "sheet.svg").read_text()
    assert svg.count("grad ?") == 7


def test_draw_dot_hides_the_same_way():
    pytest.importorskip("graphviz", reason="draw_dot() builds a graphviz.Digraph")
    from gradengine.viz import draw_dot

    source = draw_dot(lecture_graph(), hide="data").source
    assert source.count("data ?") == 3  # e, d and L; the leaves keep their data
    assert "grad 6.0000" in source  # dL/da = f * b = 6, by hand


def test_the_graph_command_hides_in_the_drawings_and_keeps_the_answers(tmp_path, capsys):
    import argparse

    from gradengine.cli.graph import add_parser, run

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    program = "L = d * f; d = e + c; e = a * b"
    argv = ["graph", "--expr", program, "--set", "a=2,b=-3,c=10,f=-2", "--hide", "grad"]
    assert run(parser.parse_args([*argv, "--out", str(tmp_path)])) == 0
    assert "class mode: every grad shows as ?" in capsys.readouterr().out
    numbers = shown((tmp_path / "graph.dot").read_text(encoding="utf-8"))
    assert {grad for _, grad in numbers.values()} == {"?"}
    assert '"hide": "grad"' in (tmp_path / "graph.html").read_text(encoding="utf-8")
    assert "grad a = 6.0, received from e" in (tmp_path / "explain.txt").read_text("utf-8")
    with pytest.raises(SystemExit):
        parser.parse_args(["graph", "--hide", "grads"])
    assert "invalid choice: 'grads'" in capsys.readouterr().err
