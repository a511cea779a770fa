"""Jupyter display: a Value shows its graph (SVG, or text without Graphviz), an MLP its layers."""

from __future__ import annotations

import builtins
import shutil
from typing import Any

import pytest

from gradengine import MLP, Value
from gradengine.viz import MAX_DRAWN_VALUES, GraphTooLargeError, draw_dot
from gradengine.viz.notebook import count_values, mlp_markdown, register, value_mimebundle

HAVE_DOT = shutil.which("dot") is not None


def small() -> Value:
    x = Value(0.2, label="x")
    y = (x * 3 + 1).tanh()
    y.label = "y"
    y.backward()
    return y


def chain(n: int) -> Value:
    v = Value(0.5)
    for _ in range(n):
        v = v + 1.0
    return v


def hide_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "graphviz" or name.startswith("graphviz."):
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_value_shows_svg_when_graphviz_is_installed() -> None:
    pytest.importorskip("graphviz")
    if not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    bundle = value_mimebundle(small())
    assert "<svg" in bundle["image/svg+xml"] and "tanh" in bundle["image/svg+xml"]
    assert bundle["text/plain"].startswith("Value(data=")


def test_value_shows_text_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_graphviz(monkeypatch)
    bundle = value_mimebundle(small())
    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith("Value(data=") and "tanh" in bundle["text/plain"]
    leaf = value_mimebundle(Value(1.5))
    assert leaf == {"text/plain": repr(Value(1.5))}


def test_value_shows_text_without_the_dot_program(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", "")
    bundle = value_mimebundle(small())
    assert set(bundle) == {"text/plain"} and "tanh" in bundle["text/plain"]


def test_a_big_graph_is_summarised_not_drawn() -> None:
    big = chain(MAX_DRAWN_VALUES + 10)
    assert count_values(big, MAX_DRAWN_VALUES + 1) == MAX_DRAWN_VALUES + 1
    bundle = value_mimebundle(big)
    assert set(bundle) == {"text/plain"}
    assert "too large to draw inline" in bundle["text/plain"]


def test_ipython_display_formatter_uses_the_bundle() -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert register(shell)  # what `import gradengine` does in a running IPython
    data, _ = shell.display_formatter.format(small())
    assert data["text/plain"].startswith("Value(data=")
    mlp_data, _ = shell.display_formatter.format(MLP(2, [3, 1], seed=0))
    assert "| layer |" in mlp_data["text/markdown"]


def test_mlp_markdown_shows_the_architecture() -> None:
    text = mlp_markdown(MLP(3, [4, 4, 1], seed=0, activation="tanh"))
    assert "MLP(3 -> 4 tanh -> 4 tanh -> 1 linear, 41 parameters)" in text
    assert "| 0 | 3 | 4 | tanh | 16 |" in text
    assert "| 2 | 4 | 1 | linear | 5 |" in text


def test_draw_dot_returns_a_digraph_like_the_lecture() -> None:
    graphviz = pytest.importorskip("graphviz")
    y = small()
    dot = draw_dot(y)
    assert isinstance(dot, graphviz.Digraph)
    assert dot.format == "svg" and dot.graph_attr["rankdir"] == "LR"
    body = [line.strip() for line in dot.body]
    edges = [line for line in body if "->" in line]
    # x, 3, x*3, 1, +, tanh: six records; *, +, tanh: three operation nodes
    assert len(body) - len(edges) == 6 + 3 and len(edges) == 5 + 3
    assert "{ y | data 0.9217 | grad 1.0000 }" in dot.source
    assert "{ x | data 0.2000 | grad 0.4516 }" in dot.source
    assert draw_dot(y, format="png", rankdir="TB").graph_attr["rankdir"] == "TB"
    if HAVE_DOT:
        assert b"<svg" in dot.pipe()


def test_draw_dot_edges_once_for_a_plus_a() -> None:
    pytest.importorskip("graphviz")
    a = Value(3.0, label="a")
    dot = draw_dot(a + a)
    assert sum("->" in line for line in dot.body) == 2


def test_draw_dot_refuses_big_graphs_and_bad_arguments() -> None:
    pytest.importorskip("graphviz")
    with pytest.raises(GraphTooLargeError):
        draw_dot(chain(MAX_DRAWN_VALUES + 1))
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(small(), rankdir="XY")
    with pytest.raises(TypeError):
        draw_dot(3.0)  # type: ignore[arg-type]


def test_draw_dot_without_graphviz_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_graphviz(monkeypatch)
    with pytest.raises(ImportError, match=r'pip install graphviz \(or, in a clone .*"\.\[viz\]"'):
        draw_dot(small())
