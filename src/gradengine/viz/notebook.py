"""How a Value and an MLP show themselves in Jupyter: the graph as SVG, or text without Graphviz.

``register()`` (which ``import gradengine`` calls) tells a running IPython how to show them,
through its documented display formatters: the core and nn neither import the drawing code nor
are changed by it.
"""

from __future__ import annotations

import sys
from typing import Any

from gradengine.engine import Value
from gradengine.nn import MLP
from gradengine.viz.graph import MAX_DRAWN_VALUES

#: How long Jupyter's display waits for Graphviz's dot before it shows the graph as text.
NOTEBOOK_DOT_SECONDS = 15.0


def count_values(root: Value, limit: int) -> int:
    """How many values the graph of root has, counting no further than limit."""
    seen = {id(root)}
    stack = [root]
    while stack and len(seen) <= limit:
        for parent in stack.pop()._parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return min(len(seen), limit)


def value_text(root: Value, max_steps: int = 20) -> str:
    """repr(root), then, for a small computed graph, its chain-rule account (explain)."""
    from gradengine.viz.explain import explain

    text = repr(root)
    if not root._parents:
        return text
    return f"{text}\n\n{explain(root, max_steps=max_steps)}"


def value_mimebundle(root: Value) -> dict[str, str]:
    """The graph of root as SVG (with graphviz and `dot` installed) and as text."""
    size = count_values(root, MAX_DRAWN_VALUES + 1)
    if size > MAX_DRAWN_VALUES:
        return {
            "text/plain": f"{root!r}\n(a graph of more than {MAX_DRAWN_VALUES:,} values: too "
            "large to draw inline; see gradengine.viz.graph_stats, explain or to_html)"
        }
    try:
        import graphviz  # noqa: F401  (the viz extra is what turns the drawing on)
    except ImportError:
        return {"text/plain": value_text(root)}
    from gradengine.viz.dot import to_dot
    from gradengine.viz.dot_program import QUICK_LAYOUT_PAST, run_dot

    quick = size > QUICK_LAYOUT_PAST
    try:
        svg = run_dot(to_dot(root), "svg", quick=quick, timeout=NOTEBOOK_DOT_SECONDS)
    except (RuntimeError, OSError):  # no dot, dot failed, or it ran out of time
        return {"text/plain": value_text(root)}
    return {"image/svg+xml": svg.decode("utf-8"), "text/plain": repr(root)}


def mlp_markdown(mlp: MLP) -> str:
    """A table of the MLP's layers: inputs, neurons, activation, parameters."""
    rows = ["| layer | inputs | neurons | activation | parameters |", "|---|---|---|---|---|"]
    for i, layer in enumerate(mlp.layers):
        first: Any = layer.neurons[0]
        kinds = sorted({str(getattr(n, "kind", "?")) for n in layer.neurons})
        count = len(layer.parameters())
        rows.append(
            f"| {i} | {len(first.w)} | {len(layer.neurons)} | {', '.join(kinds)} | {count:,} |"
        )
    total = len(mlp.parameters())
    return f"**{type(mlp).__name__}**: {mlp!r}\n\n" + "\n".join(rows) + f"\n\n{total:,} parameters"


def register(ip: Any = None) -> bool:
    """Show Values as their graph and MLPs as a table of layers in IPython (the running one if
    ip is None); True if there is one to tell."""
    if ip is None:
        ipython = sys.modules.get("IPython")
        ip = ipython.get_ipython() if ipython is not None else None
    if ip is None:
        return False
    formatters = ip.display_formatter
    formatters.mimebundle_formatter.for_type(Value, _value_display)
    formatters.formatters["text/markdown"].for_type(MLP, mlp_markdown)
    return True


def load_ipython_extension(ip: Any) -> None:
    """%load_ext gradengine.viz.notebook: register() with that IPython."""
    register(ip)


def _value_display(value: Value, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """IPython's rich display of a Value: its graph as SVG when Graphviz is installed, else text."""
    return value_mimebundle(value)
