"""Statements that name inner values, as the lecture does: `L = d * f; d = e + c; e = a * b`."""

from __future__ import annotations

import argparse
import math

import pytest

from gradengine.cli.expression import build, names
from gradengine.cli.graph import add_parser, run
from gradengine.engine import topological_order

LECTURE = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}


def by_label(root):
    return {node.label: node for node in topological_order(root) if node.label}


@pytest.mark.parametrize(
    "text",
    [
        "L = d * f; d = e + c; e = a * b",
        "L = d * f; e = a * b; d = e + c",  # any order: each is computed after what it uses
        "  L = d*f ;d=e+c;   e = a*b;  ",
        "L = d * f\nd = e + c\ne = a * b",  # newlines separate statements too
    ],
)
def test_the_lectures_graph_with_its_names(text):
    out = build(text, LECTURE)
    out.backward()
    nodes = by_label(out)
    assert set(nodes) == {"L", "d", "e", "a", "b", "c", "f"}
    assert nodes["L"] is out
    assert (nodes["e"].data, nodes["d"].data, out.data) == (-6.0, 4.0, -8.0)
    # by hand: dL/dd = f, dL/df = d, dL/de = dL/dc = f, dL/da = f*b, dL/db = f*a
    grads = {name: nodes[name].grad for name in ("d", "f", "e", "c", "a", "b")}
    assert grads == {"d": -2.0, "f": 4.0, "e": -2.0, "c": -2.0, "a": 6.0, "b": -4.0}


def test_only_the_names_no_statement_defines_need_values():
    assert names("L = d * f; d = e + c; e = a * b") == ["f", "c", "a", "b"]


def test_a_statement_of_numbers_is_a_named_leaf():
    out = build("y = k * x; k = 2 ** 3", {"x": 1.5})
    out.backward()
    k = by_label(out)["k"]
    assert (k.data, k._parents, out.data, k.grad) == (8.0, (), 12.0, 1.5)


def test_names_are_nfkc_normalised_as_pythons_are():
    out = build("L = ﬁ * 2; ﬁ = a + 1", {"a": 1.0})  # the ligature ﬁ is the name fi
    assert "fi" in by_label(out) and math.isclose(out.data, 4.0)


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("L = d * f; d = L + 1", {"f": 1}, "L is defined through itself: L -> d -> L"),
        ("L = L * 2", {}, "L is defined through itself: L -> L"),
        ("L = d; d = e; e = d * 2", {}, "d is defined through itself: d -> e -> d"),
        ("L = d * f; d = e + c", {"f": 1, "c": 1}, "no value for e"),
        ("L = a * 2; z = a", {"a": 1}, "z is defined but not used by L, the output"),
        ("L = d * 2; d = a + 1", {"a": 1, "d": 2}, "--set gives d, which a statement defines"),
        ("L = a * 2; L = a", {"a": 1}, "L is defined twice"),
        ("L = a", {"a": 1}, "L = a only gives another name to a value"),
        ("L = d * 2; d = +a", {"a": 1}, "d = +a only gives another name to a value"),
        ("tanh = a * 2", {"a": 1}, "tanh is a function"),
        ("L = a * 2; import os", {"a": 1}, "'import os' is not allowed: each statement is name"),
        ("L += 1", {}, "'L += 1' is not allowed"),
        ("L = a = 2", {}, "is not allowed"),
        ("L = a % 2; d = 1", {"a": 1}, "the operator % (remainder) is not allowed"),
        ("L = d * 2; d = a.real", {"a": 1}, "an attribute (.real) is not allowed"),
        ("L = a ** ; d = 1", {"a": 1}, "does not parse at column"),
        ("L = 2 * 3", {}, "nothing to differentiate"),
    ],
)
def test_a_bad_program_is_refused_clearly(text, values, message):
    with pytest.raises(ValueError) as error:
        build(text, values)
    assert message in str(error.value)


def parse(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_graph_draws_the_named_program(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["graph", "--expr", "L = d * f; d = e + c; e = a * b", "--set", "a=2,b=-3,c=10,f=-2"]
    assert run(parse([*argv, "--out", str(out)])) == 0
    assert capsys.readouterr().out.startswith("L = d * f; d = e + c; e = a * b at a = 2.0")
    dot = (out / "graph.dot").read_text(encoding="utf-8")
    for name in ("L", "d", "e"):
        assert f'label="{{ {name} | data' in dot
    assert "<title>Backpropagation through L</title>" in (out / "graph.html").read_text()
    assert "grad a = 6.0" in (out / "explain.txt").read_text(encoding="utf-8")


def test_graph_refuses_a_cycle_with_exit_code_2(tmp_path, capsys):
    argv = ["graph", "--expr", "L = d * 2; d = L + 1", "--out", str(tmp_path / "o")]
    assert run(parse(argv)) == 2
    assert "gradengine graph: L is defined through itself" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
