"""Expressions typed on the command line: what is accepted (checked against hand math), what is
refused and why, and `gradengine graph --expr ... --set ...`."""

from __future__ import annotations

import argparse
import ast
import math

import pytest

from gradengine.cli.expression import FUNCTIONS, build, names, parse_settings
from gradengine.cli.graph import add_parser, run
from gradengine.engine import topological_order

S = 1 / (1 + math.exp(-0.5))  # sigmoid(0.5)

# (expression, values, expected output, expected d(output)/d(name) for each name)
ACCEPTED = [
    ("x", {"x": 3}, 3.0, {"x": 1.0}),
    ("x + y", {"x": 2, "y": 5}, 7.0, {"x": 1.0, "y": 1.0}),
    ("x - y", {"x": 2, "y": 5}, -3.0, {"x": 1.0, "y": -1.0}),
    ("x * y", {"x": 2, "y": 5}, 10.0, {"x": 5.0, "y": 2.0}),
    ("x / y", {"x": 2, "y": 4}, 0.5, {"x": 0.25, "y": -2 / 16}),
    ("x ** 3", {"x": 2}, 8.0, {"x": 12.0}),  # 3 x^2
    ("x ** y", {"x": 2, "y": 3}, 8.0, {"x": 12.0, "y": 8 * math.log(2)}),
    ("2 ** x", {"x": 3}, 8.0, {"x": 8 * math.log(2)}),
    ("-x", {"x": 2}, -2.0, {"x": -1.0}),
    ("+x", {"x": 2}, 2.0, {"x": 1.0}),
    ("x * x", {"x": 3}, 9.0, {"x": 6.0}),  # one leaf reached along two paths
    ("x*x + x", {"x": 3}, 12.0, {"x": 7.0}),
    ("2*x + 1", {"x": 3}, 7.0, {"x": 2.0}),
    ("(1 + 2) * x", {"x": 3}, 9.0, {"x": 3.0}),  # arithmetic on numbers is done at once
    ("x / -2", {"x": 3}, -1.5, {"x": -0.5}),
    ("1e-3 * x", {"x": 2}, 0.002, {"x": 0.001}),
    ("relu(x)", {"x": 2}, 2.0, {"x": 1.0}),
    ("relu(x)", {"x": -2}, 0.0, {"x": 0.0}),
    ("tanh(x)", {"x": 0}, 0.0, {"x": 1.0}),  # 1 - tanh(0)^2
    ("exp(x)", {"x": 1}, math.e, {"x": math.e}),
    ("log(x)", {"x": 4}, math.log(4), {"x": 0.25}),
    ("sigmoid(x)", {"x": 0.5}, S, {"x": S * (1 - S)}),
    ("exp(log(x))", {"x": 3}, 3.0, {"x": 1.0}),
    # the lecture's neuron: tanh(0.8814) = 1/√2, so the grad of the sum is 1 - 1/2 = 1/2
    (
        "tanh(x*w + b)",
        {"x": 2, "w": -3, "b": 6.8813735870195432},
        1 / math.sqrt(2),
        {"x": -1.5, "w": 1.0, "b": 0.5},
    ),
    ("  x  ", {"x": 1}, 1.0, {"x": 1.0}),
    ("-" * 900 + "x", {"x": 2}, 2.0, {"x": 1.0}),  # 900 negations deep: no recursion
]


@pytest.mark.parametrize(
    ("text", "values", "out", "grads"), ACCEPTED, ids=[f"{a[0]}@{a[1]}" for a in ACCEPTED]
)
def test_an_accepted_expression_computes_what_hand_math_says(text, values, out, grads):
    root = build(text, values)
    assert root.data == pytest.approx(out, rel=1e-12, abs=1e-15)
    root.backward()
    leaves = {node.label: node for node in topological_order(root) if node.label}
    assert set(leaves) == set(values)  # every name is one leaf, labelled with it
    for name, grad in grads.items():
        assert leaves[name].grad == pytest.approx(grad, rel=1e-12, abs=1e-15), name


# (expression, a fragment the error must contain)
REFUSED = [
    ("x % 2", "the operator % (remainder) is not allowed (at column 1: 'x % 2')"),
    ("x // 2", "// (floor division)"),
    ("x ^ 2", "write ** for a power"),
    ("x @ y", "@ (matrix product)"),
    ("~x", "~ (bitwise not)"),
    ("not x", "the operator not"),
    ("x < y", "a comparison is not allowed"),
    ("x and y", "and/or"),
    ("x if y else 2", "if/else"),
    ("x.data", "an attribute (.data) is not allowed"),
    ("x[0]", "indexing"),
    ("(x, y)", "a tuple"),
    ("[x]", "a list"),
    ("lambda: x", "lambda"),
    ("(y := 2)", "the := operator"),
    ("'text'", "the constant 'text' (not a real number)"),
    ("True * x", "the constant True"),
    ("None", "the constant None"),
    ("1j * x", "the constant 1j"),
    ("sin(x)", "the function sin is not allowed"),
    ("__import__('os')", "the function __import__ is not allowed"),
    ("eval('1')", "the function eval"),
    ("x.__class__", "an attribute (.__class__)"),
    ("tanh", "tanh alone, without an argument"),
    ("x + tanh", "at column 5: 'tanh'"),
    ("tanh(x, y)", "tanh with other than one argument"),
    ("tanh(x=1)", "tanh with other than one argument"),
    ("tanh(*x)", "tanh with other than one argument"),
    ("(lambda: 1)()", "calling anything but a function by its name"),
    ("x; y", "is not an expression"),
    ("x = 1", "which a statement defines"),  # a statement now: x names no leaf
    ("x +", "is not an expression"),
    ("", "the expression is empty"),
    ("   ", "the expression is empty"),
    ("2 + 3", "has no names, so there is nothing to differentiate"),
    ("10.0 ** 400 * x", "cannot compute at column 1: '10.0 ** 400'"),
    ("9 ** 9 ** 9 * x", "cannot compute"),  # numbers are floats: no giant integer is built
    ("1 / 0 * x", "cannot compute at column 1: '1 / 0'"),
    ("1e308 * 10 * x", "cannot compute at column 1: '1e308 * 10': the result is not a finite"),
    ("(x for x in y)", "GeneratorExp syntax is not allowed"),
    ("f'{x}'", "an f-string"),
    ("x + " * 300 + "x", "more than 1,000"),
    ("(" * 201 + "x" + ")" * 201, "too many nested parentheses"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[r[0][:30] for r in REFUSED])
def test_a_refused_expression_says_what_is_not_allowed_and_where(text, message):
    values = {"x": 1.0, "y": 2.0} if "x" in text or "y" in text else {}
    values = {name: value for name, value in values.items() if name in text}
    with pytest.raises(ValueError) as caught:
        build(text, values)
    assert message in str(caught.value)


def test_an_expression_is_a_str():
    with pytest.raises(TypeError, match="an expression must be a str, got bytes"):
        build(b"x", {"x": 1})


def test_a_refusal_lists_what_is_allowed():
    with pytest.raises(ValueError, match="may use names, numbers, "):
        build("x % 2", {"x": 1})
    for function in FUNCTIONS:
        with pytest.raises(ValueError, match=function):
            build("x % 2", {"x": 1})


def test_every_name_needs_a_value_and_every_value_a_name():
    with pytest.raises(ValueError, match=r"no value for w, b: .* --set x=1,w=1,b=1"):
        build("tanh(x*w + b)", {"x": 2})
    with pytest.raises(ValueError, match=r"--set gives q, .*does not use \(its names: x\)"):
        build("x * 2", {"x": 2, "q": 1})


def test_names_in_the_order_they_appear():
    assert names("tanh(x*w + b) + x*c") == ["x", "w", "b", "c"]
    assert names("exp(log(z))") == ["z"]


SETTINGS = [
    ("x=2,w=-3,b=6.8813735870195432", {"x": 2.0, "w": -3.0, "b": 6.8813735870195432}),
    (" x = 1 , y=2.5e-1 ", {"x": 1.0, "y": 0.25}),
    ("x=1,,y=2,", {"x": 1.0, "y": 2.0}),
    ("", {}),
]


@pytest.mark.parametrize(("text", "values"), SETTINGS)
def test_settings_are_read_as_name_number_pairs(text, values):
    assert parse_settings(text) == values


BAD_SETTINGS = [
    ("x", "--set 'x' needs a value: write x=1"),
    ("x=abc", "'abc' is not a number"),
    ("1=2", "'1' is not a name"),
    ("for=2", "'for' is not a name"),
    ("x=1,x=2", "--set gives x twice"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SETTINGS)
def test_bad_settings_name_the_bad_entry(text, message):
    with pytest.raises(ValueError) as caught:
        parse_settings(text)
    assert message in str(caught.value)


def parse(argv):
    parser = argparse.ArgumentParser(prog="gradengine")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_graph_draws_a_typed_expression(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "graph",
        "--expr",
        "tanh(x*w + b)",
        "--set",
        "x=2,w=-3",
        "--set",
        "b=6.8813735870195432",
    ]
    assert run(parse([*argv, "--out", str(out)])) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("tanh(x*w + b) at x = 2.0, w = -3.0, b = 6.88137\n")
    explanation = (out / "explain.txt").read_text(encoding="utf-8")
    assert "grad x = -1.5" in explanation and "grad b = 0.5" in explanation
    page = (out / "graph.html").read_text(encoding="utf-8")
    assert "<title>Backpropagation through tanh(x*w + b)</title>" in page


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--expr", "x % 2", "--set", "x=1"], "the operator % (remainder) is not allowed"),
        (["--expr", "x * w"], "no value for x, w"),
        (["--expr", "x", "--set", "x=1,y=2"], "--set gives y"),
        (["--expr", "x", "--set", "x=1", "--set", "x=2"], "--set gives x twice"),
        (["--set", "x=1"], "add --expr"),
        (["--expr", "x", "--set", "x=one"], "'one' is not a number"),
    ],
)
def test_graph_refuses_a_bad_expression_with_exit_code_2(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert run(parse(["graph", *argv, "--out", str(out)])) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing written, no folder made


def test_graph_refuses_a_graph_too_large_to_draw(tmp_path, capsys):
    text = "x" + "*-x" * 300  # one leaf, 300 negations, 300 products: 601 values
    argv = ["graph", "--expr", text, "--set", "x=1", "--out", str(tmp_path / "o")]
    assert run(parse(argv)) == 2
    assert "this graph has 601 values, more than the 500" in capsys.readouterr().err


def test_example_and_expr_are_mutually_exclusive(capsys):
    with pytest.raises(SystemExit):
        parse(["graph", "--example", "simple", "--expr", "x"])
    assert "not allowed with argument" in capsys.readouterr().err


# Names as Python's own parser reads them (NFKC): the oracle is ast, not the code under test.
UNNORMALISED_NAMES = ["ｘ", "ﬁ", "ℌ", "Ｘ1", "x"]


@pytest.mark.parametrize("name", UNNORMALISED_NAMES)
def test_settings_names_are_read_as_the_expression_reads_them(name):
    as_parsed = ast.parse(name, mode="eval").body.id
    assert parse_settings(f"{name}=1.5") == {as_parsed: 1.5}
    root = build(f"{name}*2", parse_settings(f"{name}=1.5"))
    assert root.data == 3.0
    assert build(f"{name}*2", {name: 1.5}).data == 3.0  # the library takes either spelling


def test_a_name_given_in_two_spellings_is_given_twice(tmp_path, capsys):
    with pytest.raises(ValueError, match="--set gives x twice"):
        parse_settings("x=1,ｘ=2")
    with pytest.raises(ValueError, match="gives x twice"):
        build("x*2", {"x": 1.0, "ｘ": 2.0})
    assert run(parse(["graph", "--expr", "x*2", "--set", "ｘ=1", "--set", "x=2"])) == 2
    assert "--set gives x twice" in capsys.readouterr().err


def test_the_graph_command_takes_a_wide_letter_in_set_as_in_the_expression(tmp_path, capsys):
    out = tmp_path / "g"
    assert run(parse(["graph", "--expr", "ｘ*2", "--set", "ｘ=1", "--out", str(out)])) == 0
    assert "no value" not in capsys.readouterr().err
    assert "grad x = 2" in (out / "explain.txt").read_text(encoding="utf-8")
