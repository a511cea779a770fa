"""Drawings, explanations and statistics of graphs, checked against hand-derived numbers."""

import argparse
import gc
import importlib.util
import math
import re
import shutil
import subprocess
import sys

import pytest

from gradengine import Neuron, Operation, Value, total, weighted_sum
from gradengine.cli.examples import EXAMPLES
from gradengine.cli.graph import add_parser, run
from gradengine.viz import (
    MAX_DRAWN_VALUES,
    GraphTooLargeError,
    draw,
    explain,
    graph_stats,
    to_dot,
    to_html,
    to_mermaid,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
NASTY = 'a "quoted" {brace} <angle> | bar \\ back\nnew ; -> }'


def build(name):
    return EXAMPLES[name].build()


def chain(length):
    """-(-(...-x)): length neg nodes over one leaf x = 1."""
    x = Value(1.0, label="x")
    v = x
    for _ in range(length):
        v = -v
    return v


def dot_svg(source):
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


# -- to_dot ---------------------------------------------------------------------------------------


def test_dot_has_one_record_per_value_and_one_node_per_operation():
    root = build("expression")
    source = to_dot(root)
    assert source.count("shape=record") == 14  # x, y, 1 and 11 results
    assert source.count("shape=circle") == 11
    assert "rankdir=LR;" in source


def test_fused_weighted_sum_is_one_operation_node_fed_as_the_lecture_pairs_its_inputs():
    root = build("neuron")  # n = b + w1*x1 + w2*x2, o = tanh(n)
    source = to_dot(root)
    assert source.count("shape=circle") == 2
    n_op = re.search(r'op(\d+) \[.*label="Σ w·x \+ b", ordering=in\]', source).group(1)
    feeding = re.findall(rf"(v\d+) -> op{n_op};", source)
    names = re.findall(r'  (v\d+) \[shape=record.*label="\{ (\w+) ', source)
    label = dict(names)
    assert [label[v] for v in feeding] == ["x1", "w1", "x2", "w2", "b"]


def test_edges_follow_evaluation_order():
    source = to_dot(build("expression"))
    ops = [int(i) for i in re.findall(r"  op(\d+) \[", source)]
    assert ops == sorted(ops)
    for parent, op in re.findall(r"v(\d+) -> op(\d+);", source):
        assert int(parent) < int(op)


def test_dot_shows_data_and_grad():
    root = build("simple")
    root.backward()
    source = to_dot(root)
    assert "{ x | data\\ 2.0 | grad\\ 3.0 }" in source
    assert "{ y | data\\ 3.0 | grad\\ 2.0 }" in source


@needs_dot
def test_nasty_labels_still_render():
    a = Value(2.0, label=NASTY)
    b = Value(3.0, label="<b>")
    root = a * b + a
    source = to_dot(root)
    svg = dot_svg(source)
    assert svg.count('class="node"') == 4 + 2  # 4 values, 2 operations: nothing split apart
    assert "a &quot;quoted&quot; {brace} &lt;angle&gt; | bar \\ back" in svg
    assert "new ; &#45;&gt; }" in svg
    assert "&lt;b&gt;" in svg


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: to_dot(3.0), TypeError, "needs a Value"),
        (lambda: to_dot(Value(1), rankdir="up"), ValueError, "rankdir must be one of"),
        (lambda: to_mermaid(Value(1), direction="x"), ValueError, "direction must be one of"),
        (lambda: draw(Value(1), "graph.gif"), ValueError, ".svg, .png, .pdf"),
        (lambda: draw(Value(1), 42), TypeError, "file path"),
        (lambda: explain([Value(1)]), TypeError, "needs a Value"),
        (lambda: explain(Value(1), max_steps=-1), ValueError, "max_steps"),
        (lambda: explain(Value(1), max_steps=1.5), TypeError, "max_steps must be an integer"),
        (lambda: explain(Value(1), max_steps=True), TypeError, "got bool"),
        (lambda: to_dot(Value(1), max_values="5"), TypeError, "max_values must be an integer"),
        (lambda: to_mermaid(Value(1), max_values=1.5), TypeError, "got float 1.5"),
        (lambda: to_html(Value(1), "p.html", max_values=-1), ValueError, "max_values"),
        (lambda: to_dot(Value(1), force="yes"), TypeError, "force must be True or False"),
        (lambda: graph_stats(None), TypeError, "needs a Value"),
        (lambda: to_html(Value(1), "p.html", title=3), TypeError, "title must be a str"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)


def test_numpy_integers_count_as_sizes():
    np = pytest.importorskip("numpy")
    root = Value(2.0, label="x") * 3
    assert explain(root, max_steps=np.int64(0)) == explain(root, max_steps=0)
    assert to_dot(root, max_values=np.int32(3)) == to_dot(root)
    with pytest.raises(GraphTooLargeError, match="more than the 2 a drawing can show"):
        to_dot(root, max_values=np.int64(2))


# -- draw -----------------------------------------------------------------------------------------


@needs_dot
def test_draw_writes_svg_and_png(tmp_path):
    pytest.importorskip(
        "graphviz", reason='draw() needs the graphviz package: pip install ".[viz]"'
    )
    root = build("neuron")
    draw(root, tmp_path / "g.svg")
    draw(root, tmp_path / "g.png")
    assert "<svg" in (tmp_path / "g.svg").read_text()
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "g.svg"]


def test_draw_without_dot_says_how_to_install(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        draw(build("simple"), tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_draw_without_the_python_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    # gradengine is on no package index: the hint names the package, and the extra in a clone
    hint = 'pip install graphviz (or, in a clone of gradengine: pip install ".[viz]")'
    with pytest.raises(ImportError, match=re.escape(hint)) as info:
        draw(build("simple"), tmp_path / "g.svg")
    assert "gradengine[viz]" not in str(info.value)


# -- to_mermaid -----------------------------------------------------------------------------------


def test_mermaid_is_a_flowchart_with_escaped_labels():
    a = Value(1.0, label=NASTY)
    root = (a * 2).relu()
    text = to_mermaid(root)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    pattern = re.compile(r'  (v\d+\["[^"]*"\]|op\d+\(\("[^"]*"\)\)|v\d+ --> op\d+|op\d+ --> v\d+)')
    for line in lines[1:]:
        assert pattern.fullmatch(line), line
    assert "#34;quoted#34;" in text and "#60;angle#62;" in text
    assert sum(line.startswith("  op") and "((" in line for line in lines) == 2


# -- explain --------------------------------------------------------------------------------------


def test_explain_adds_paths_as_in_the_chain_rule():
    a, b, c = Value(2.0, label="a"), Value(3.0, label="b"), Value(2.0, label="c")
    d = a * b
    d.label = "d"
    e = a * c
    e.label = "e"
    out = d + e
    out.label = "out"
    text = explain(out)
    # d out/d a = b + c = 5, arriving as b = 3 through d and c = 2 through e
    assert "a receives 3.0 via d and 2.0 via e: total 5.0" in text
    assert "∂d/∂a = b = 3.0, so a receives 1.0 × 3.0 = 3.0" in text
    assert text.rstrip().splitlines()[-3:] == [
        "  a receives 3.0 via d and 2.0 via e: total 5.0",
        "  grad b = 2.0, received from d",
        "  grad c = 2.0, received from e",
    ]


def leaf_grads(text):
    """{leaf: grad} from explain()'s closing section."""
    tail = text.split("Gradients of the leaves")[1].splitlines()[1:]
    grads = {}
    for line in tail:
        single = re.fullmatch(r"  grad (\S+) = (\S+), received from \S+", line)
        several = re.fullmatch(r"  (\S+) receives .*: total (\S+)", line)
        match = single or several
        assert match, line
        grads[match.group(1)] = float(match.group(2))
    return grads


def test_explain_simple_example():
    # z = x*y + 1: dz/dx = y = 3, dz/dy = x = 2, and the constant 1 gets 1
    assert leaf_grads(explain(build("simple"))) == {"x": 3.0, "y": 2.0, "v3": 1.0}


def test_explain_relu_example():
    # out = relu(w1 x) + relu(w2 x) at x = 3, w1 = 0.5, w2 = -1: only the first ReLU is open
    text = explain(build("relu"))
    assert leaf_grads(text) == {"w1": 3.0, "x": 0.5, "w2": 0.0}
    assert "h2 = relu(p2) = relu(-3.0) = 0.0" in text
    assert "∂h2/∂p2 = (1 if p2 > 0 else 0) = 0.0" in text


def test_explain_paths_example():
    # b = a*a + a: db/da = a + a + 1 = 7 at a = 3, one term per path
    text = explain(build("paths"))
    assert "a receives 3.0 via aa, 3.0 via aa and 1.0 via b: total 7.0" in text


def test_explain_neuron_example():
    # o = tanh(n), n = 0.8814 so o = 1/sqrt(2) and do/dn = 1 - o^2 = 1/2; dn/dwi = xi, dn/dxi = wi
    grads = leaf_grads(explain(build("neuron")))
    assert grads == pytest.approx({"b": 0.5, "w1": 1.0, "w2": 0.0, "x1": -1.5, "x2": 0.5})


def test_explain_expression_example():
    x, y = 0.5, -1.5
    t, e, s = math.tanh(x * y), math.exp(x / y), 1 / (1 + math.exp(-y))
    dfdx = y * (1 - t * t) + e * s / y - 2 * x / (x * x + 1)
    dfdy = x * (1 - t * t) - e * s * x / (y * y) + e * s * (1 - s)
    grads = leaf_grads(explain(build("expression")))
    assert grads["x"] == pytest.approx(dfdx, rel=1e-5)
    assert grads["y"] == pytest.approx(dfdy, rel=1e-5)
    assert grads["v10"] == pytest.approx(-1 / (x * x + 1), rel=1e-5)  # the constant in x² + 1


def test_explain_neither_needs_nor_changes_grads():
    root = build("paths")
    before = explain(root)
    leaves = [root._parents[1]]
    assert leaves[0].grad == 0.0  # explain ran its own pass, leaving .grad alone
    root.backward()
    root.backward()  # leaves now hold twice the gradient
    assert leaves[0].grad == 14.0
    assert explain(root) == before


def test_explain_limits_the_told_steps_but_not_the_leaves():
    text = explain(build("expression"), max_steps=2)
    assert "... 9 more steps (max_steps=2)" in text
    assert set(leaf_grads(text)) == {"x", "y", "v10"}


def test_explain_of_a_leaf():
    text = explain(Value(4.0, label="w"))
    assert "grad w = 1.0 (the output" in text


# -- graph_stats ----------------------------------------------------------------------------------


def test_stats_of_the_paths_example():
    stats = graph_stats(build("paths"))  # a, aa = a*a, b = aa + a
    assert (stats.nodes, stats.leaves, stats.depth) == (3, 1, 2)
    assert stats.ops == {"*": 1, "+": 1}
    assert [v.label for v in stats.shared] == ["a"]
    assert "3 nodes (1 leaves, 2 operations), depth 2" in str(stats)


def test_stats_of_the_expression_example():
    stats = graph_stats(build("expression"))
    # the longest path: x -> r = x/y -> e = exp(r) -> es = e*s -> g = t + es -> f = g - l
    assert (stats.nodes, stats.leaves, stats.depth) == (14, 3, 5)
    assert stats.ops == {
        "*": 2,
        "+": 2,
        "-": 1,
        "/": 1,
        "**2": 1,
        "exp": 1,
        "log": 1,
        "sigmoid": 1,
        "tanh": 1,
    }
    assert sorted(v.label for v in stats.shared) == ["x", "y"]


def test_stats_count_a_value_used_twice_by_one_operation():
    a = Value(1.0)
    assert graph_stats(a + a).shared == [a]
    assert graph_stats(weighted_sum(Value(0), [a], [Value(2)])).shared == []


# -- a million nodes, no recursion ---------------------------------------------------------------


@pytest.fixture(scope="module")
def million():
    gc.disable()  # a million live nodes make the collector rescan them all, again and again
    try:
        return chain(1_000_000)
    finally:
        gc.enable()


def test_stats_of_a_million_node_chain(million):
    stats = graph_stats(million)
    assert (stats.nodes, stats.leaves, stats.depth) == (1_000_001, 1, 1_000_000)
    assert stats.ops == {"neg": 1_000_000}
    assert stats.shared == []


def test_explain_of_a_million_node_chain(million):
    text = explain(million, max_steps=2)
    # (-1)^1,000,000 = 1: x passes its gradient through a million sign flips
    assert text.rstrip().endswith("grad x = 1.0, received from v1")
    assert "999,998 more steps" in text


def test_drawings_refuse_a_million_nodes_with_the_count(million, tmp_path):
    for call in (to_dot, to_mermaid, lambda r: to_html(r, tmp_path / "p.html")):
        with pytest.raises(GraphTooLargeError, match="1,000,001 values"):
            call(million)
    assert list(tmp_path.iterdir()) == []


# -- size limits ----------------------------------------------------------------------------------


def test_drawings_refuse_above_the_limit_unless_forced(tmp_path):
    root = chain(MAX_DRAWN_VALUES)  # one more value than the limit: the leaf
    with pytest.raises(GraphTooLargeError, match=f"{MAX_DRAWN_VALUES + 1} values") as caught:
        to_dot(root)
    assert "force=True" in str(caught.value)
    assert to_dot(root, force=True).count("shape=record") == MAX_DRAWN_VALUES + 1
    assert to_dot(chain(MAX_DRAWN_VALUES - 1)).count("shape=record") == MAX_DRAWN_VALUES
    with pytest.raises(GraphTooLargeError):
        to_mermaid(root)
    page = tmp_path / "page.html"
    page.write_text("old page")
    with pytest.raises(GraphTooLargeError):
        to_html(root, page)
    assert page.read_text() == "old page"  # a refused page leaves the old file alone
    with pytest.raises(GraphTooLargeError):
        to_dot(build("expression"), max_values=13)


# -- to_html (without a browser; tests/test_viz_html_page.py drives one) ---------------------------


def test_html_is_self_contained_and_atomic(tmp_path):
    a = Value(1.0, label="</script><script>alert(1)</script>")
    to_html(a * 2, tmp_path / "page.html", title="<b>&")
    page = (tmp_path / "page.html").read_text()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert page.count("</script>") == 1  # the label cannot close the script early
    assert "<title>&lt;b&gt;&amp;</title>" in page
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


# -- the graph command ----------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(prog="gradengine")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_graph_command_writes_every_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(parse(["graph", "--example", "paths", "--out", str(out)])) == 0
    assert (out / "explain.txt").read_text(encoding="utf-8") == explain(build("paths"))
    assert "a receives" in (out / "explain.txt").read_text(encoding="utf-8")
    assert "digraph" in (out / "graph.dot").read_text(encoding="utf-8")
    assert "const GRAPH" in (out / "graph.html").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    if shutil.which("dot") and importlib.util.find_spec("graphviz"):
        assert "<svg" in (out / "graph.svg").read_text()
    else:
        assert "graph.svg skipped" in printed
    assert "graph.html" in printed


def test_graph_command_notes_a_missing_dot(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run(parse(["graph", "--out", str(tmp_path / "o")])) == 0
    assert "graph.svg skipped" in capsys.readouterr().out
    assert not (tmp_path / "o" / "graph.svg").exists()


def test_graph_command_reports_a_folder_it_cannot_create(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    assert run(parse(["graph", "--out", str(blocker / "o")])) == 1
    assert f"cannot create the folder {blocker / 'o'}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


@needs_dot
def test_graph_command_without_the_graphviz_package_skips_only_the_svg(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    assert run(parse(["graph", "--out", str(tmp_path)])) == 0
    printed = capsys.readouterr().out
    assert (
        "graph.svg skipped: draw() needs the graphviz Python package: pip install graphviz "
        '(or, in a clone of gradengine: pip install ".[viz]")' in printed
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explain.txt", "graph.dot", "graph.html"]


def test_graph_command_rejects_an_unknown_example():
    with pytest.raises(SystemExit):
        parse(["graph", "--example", "nope"])


@pytest.mark.parametrize(("w1", "open_"), [(0.5, True), (-3.0, False)])
def test_explain_a_relu_neuron(w1, open_):
    # relu(b + w1*x1 + w2*x2) at x = (2, 1), w2 = 1, b = 0: open iff 2*w1 + 1 > 0;
    # while open, d/dwi = xi and d/dxi = wi; while closed, every derivative is 0
    neuron = Neuron(2)
    neuron.w[0].data, neuron.w[1].data = w1, 1.0
    for value, label in zip([*neuron.w, neuron.b], ["w1", "w2", "b"], strict=True):
        value.label = label
    out = neuron([Value(2.0, label="x1"), Value(1.0, label="x2")])
    text = explain(out)
    assert "relu(b + w1*x1 + w2*x2)" in text
    gate = 1.0 if open_ else 0.0
    assert leaf_grads(text) == {
        "b": gate,
        "w1": 2.0 * gate,
        "w2": 1.0 * gate,
        "x1": w1 * gate,
        "x2": 1.0 * gate,
    }


# -- every operation reads in words, including ones the formulas do not know ----------------------


def test_explain_a_fused_sum():
    # s = a + b + c: ds/d(each) = 1, so each leaf receives exactly 1
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    s = total([a, b, c])
    s.label = "s"
    text = explain(s)
    assert "s = a + b + c = 1.0 + 2.0 + 3.0 = 6.0" in text
    for leaf in "abc":
        assert f"  ∂s/∂{leaf} = 1.0, so {leaf} receives 1.0 × 1.0 = 1.0" in text
    assert leaf_grads(text) == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert 'label="Σ"' in to_dot(s)


def test_explain_a_power_names_its_exponent():
    # y = x**3 at x = 2: dy/dx = 3 x^2 = 12
    x = Value(2.0, label="x")
    y = x**3
    y.label = "y"
    text = explain(y)
    assert "y = x**3 = 2.0**3 = 8.0" in text
    assert "∂y/∂x = 3·x^2 = 12.0" in text


def unknown_operation(op, parents, local_grads, data, label):
    """A node as a future fused operation would make it: only op, parents and local_grads."""
    unused = lambda m, *args: None  # noqa: E731  (explain reads only the recorded numbers)
    node = Value.node(data, tuple(parents), tuple(local_grads), Operation(op, unused, unused))
    node.label = label
    return node


def test_an_operation_without_formulas_is_told_by_its_numbers():
    x = Value(3.0, label="x")
    clipped = unknown_operation("clip", [x], [0.5], 1.0, "c")
    text = explain(clipped)
    assert "c = clip(x) = clip(3.0) = 1.0" in text
    assert "  ∂c/∂x = 0.5, so x receives 1.0 × 0.5 = 0.5" in text
    assert leaf_grads(text) == {"x": 0.5}


def test_a_known_operation_with_an_unusual_number_of_operands_is_told_generically():
    # "+" with three operands: the two-operand formulas do not apply, the numbers still do
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(4.0, label="c")
    s = unknown_operation("+", [a, b, c], [1.0, 2.0, 3.0], 7.0, "s")
    text = explain(s)
    assert "s = +(a, b, c) = +(1.0, 2.0, 4.0) = 7.0" in text
    assert leaf_grads(text) == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert "∂s/∂c = 3.0, so c receives" in text


def test_non_finite_numbers_are_written_as_python_writes_them():
    x = Value(math.inf, label="x")
    y = x * 0.0  # inf * 0 = nan; dy/dx = 0, dy/d0 = x = inf
    y.label = "y"
    text = explain(y)
    assert "y = x * v1 = inf * 0.0 = nan" in text
    assert "grad v1 = inf, received from y" in text
    source = to_dot(y)
    assert "inf" in source and "nan" in source
    assert "nan" in to_mermaid(y)


def test_control_characters_in_labels_never_reach_the_drawing():
    x = Value(1.0, label="tab\there\x07bell\x1bescape")
    y = x * 2
    y.label = "line\rfeed"
    dot, mermaid = to_dot(y), to_mermaid(y)
    for source in (dot, mermaid):
        assert not any(ord(char) < 32 and char != "\n" for char in source), source
    # shown as visible escapes (DOT doubles the backslash inside its own strings)
    assert r"tab\\there\\x07bell\\x1bescape" in dot and r"line\\rfeed" in dot
    assert r"tab\there\x07bell\x1bescape" in mermaid and r"line\rfeed" in mermaid
    if shutil.which("dot"):
        assert "<svg" in dot_svg(to_dot(y))


# Labels that once crashed a view or let it lie: each must work in every view.
ODD_LABELS = [
    "v²",  # "²".isdigit() is True, but int("²") fails
    "v3",  # another node's generated name
    "x#1",  # another label's disambiguated name
    "\udc80",  # a lone surrogate: not encodable as UTF-8
    "a\nb = 99 (a leaf: an input or a constant)",  # a forged line of explain()
    "\x1b[31mred\x1b[0m",  # ANSI colour
    "x\u202e5.21",  # right-to-left override
    "\u2066iso\u2069\u200e\u200f\u061c",  # isolates and marks
    '%%{init: {"theme": "dark"}}%%',  # a Mermaid directive
    '"]; v9["forged',  # breaking out of Mermaid's quotes
    "\u2028para\u2029",
    "",
]


HIDDEN_OR_REORDERING = (
    "\x1b\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029"
)


def _odd_graph(label: str) -> Value:
    a = Value(2.5, label=label)
    b = Value(5.0, label="b")
    c = a * b
    c.label = label
    c.backward()
    return c


@pytest.mark.parametrize("label", ODD_LABELS, ids=ascii)
def test_any_label_works_in_every_view(label, tmp_path):
    root = _odd_graph(label)
    texts = [to_dot(root), to_mermaid(root), explain(root), str(graph_stats(root))]
    to_html(root, tmp_path / "page.html")
    texts.append((tmp_path / "page.html").read_text(encoding="utf-8"))
    for text in texts:
        text.encode("utf-8")  # no lone surrogate survives
        for char in HIDDEN_OR_REORDERING:
            assert char not in text, (ascii(char), text)
    if shutil.which("dot"):
        assert "<svg" in dot_svg(to_dot(root))


def test_display_text_escapes_what_would_hide_or_reorder_text():
    from gradengine.viz.graph import display_text

    assert display_text("v²") == "v²"
    assert display_text("a\nb") == r"a\nb"
    assert display_text("\x1b[0m") == r"\x1b[0m"
    assert display_text("x\u202ey") == r"x\u202ey"
    assert display_text("\u2066\u2069\u200e\u200f\u061c") == r"\u2066\u2069\u200e\u200f\u061c"
    assert display_text("\udc80") == r"\udc80"
    assert display_text("\u200b") == r"\u200b"  # zero-width space: invisible
    assert display_text("👨\u200d👩") == "👨\u200d👩"  # the joiner emoji sequences need stays
    assert display_text("naïve σ") == "naïve σ"


def test_a_forged_line_of_explain_stays_on_its_own_line():
    root = _odd_graph("a\nb = 99 (a leaf: an input or a constant)")
    text = explain(root)
    assert not any(line.startswith("b = 99") for line in text.splitlines()), text
    assert r"a\nb = 99" in text


def test_names_that_look_generated_are_disambiguated():
    from gradengine.viz.graph import build_graph

    a, b = Value(1.0), Value(2.0, label="v0")
    names = build_graph(a + b).names
    assert [names[i] for i in range(3)] == ["v0", "v0#1", "v2"]
    c, d = Value(1.0, label="x"), Value(2.0, label="x#0")
    names = build_graph(c * d).names
    assert names[1] == "x#0#1" and names[0] == "x"
    assert build_graph(Value(1.0, label="v²") * 2).names[0] == "v²"


def test_a_label_cannot_leave_its_mermaid_quotes_or_add_a_directive():
    root = _odd_graph('%%{init: {"theme": "dark"}}%%"]; click v0 "https://example.com')
    text = to_mermaid(root)
    assert "%" not in text and "https" in text
    pattern = re.compile(r'  (v\d+\["[^"]*"\]|op\d+\(\("[^"]*"\)\)|v\d+ --> op\d+|op\d+ --> v\d+)')
    for line in text.splitlines()[1:]:
        assert pattern.fullmatch(line), line
    assert "#37;#37;#123;init" in text


def test_names_count_the_nodes_and_index_from_either_end():
    from gradengine.viz.graph import build_graph

    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    graph = build_graph(x * y)  # x, y, then their unlabelled product at position 2
    assert len(graph.names) == 3
    assert [graph.names[i] for i in range(3)] == ["x", "y", "v2"]
    assert graph.names[-1] == "v2"


def test_paused_gc_leaves_a_disabled_collector_disabled():
    from gradengine.viz.graph import paused_gc

    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_page_of_a_leaf_is_subtitled_with_its_value(tmp_path):
    to_html(Value(4.0, label="w"), tmp_path / "leaf.html")
    assert "w = 4.0 (a leaf: an input or a constant)" in (tmp_path / "leaf.html").read_text()


def test_writing_into_a_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        to_html(build("simple"), tmp_path / "missing" / "page.html")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    occupied = tmp_path / "page.html"
    occupied.mkdir()  # a folder where the page should go: refused before anything is written
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="a directory"):
        to_html(build("simple"), occupied)
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
    assert (occupied / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("uses", "listed"),
    [
        (
            6,
            "1.0 via t1, 2.0 via t2, 3.0 via t3, 4.0 via t4, 5.0 via t5 and 6.0 via t6: total 21.0",
        ),
        (8, "1.0 via t1, 2.0 via t2, 3.0 via t3, 4.0 via t4, 5.0 via t5 and 3 more: total 36.0"),
    ],
)
def test_a_value_used_many_times_lists_its_first_paths_and_counts_the_rest(uses, listed):
    # s = a*1 + a*2 + ... + a*n at a = 1: term k passes k to a, in the order the terms were made
    a = Value(1.0, label="a")
    terms = [a * k for k in range(1, uses + 1)]
    for k, term in enumerate(terms, start=1):
        term.label = f"t{k}"
    assert f"  a receives {listed}" in explain(total(terms)).splitlines()


# How a number is written in every view: as Python writes it when that is short (at most
# digits + 2 characters), else in `digits` significant digits.
NUMBERS = [
    (3.0, "3.0"),
    (0.5, "0.5"),
    (-2.25, "-2.25"),
    (123456.7, "123456.7"),  # 8 characters: as written
    (0.1234567, "0.123457"),  # 9 characters: rounded to 6 digits
    (-0.1234567, "-0.123457"),  # the sign does not count
    (1234567.0, "1.23457e+06"),
    (1.0000000000000002, "1.0"),  # rounded to 1, and still a float
    (1e-07, "1e-07"),
    (math.inf, "inf"),
    (-math.inf, "-inf"),
    (math.nan, "nan"),
]


@pytest.mark.parametrize(("x", "text"), NUMBERS, ids=[t for _, t in NUMBERS])
def test_numbers_are_written_short(x, text):
    from gradengine.viz.graph import number

    assert number(x) == text
