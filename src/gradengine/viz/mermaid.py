"""to_mermaid(root): the graph as a Mermaid flowchart, for Markdown pages that render one."""

from __future__ import annotations

from gradengine.engine import Value
from gradengine.viz.dot import op_symbol, shown_numbers
from gradengine.viz.graph import MAX_DRAWN_VALUES, build_graph, check_hide, check_root

DIRECTIONS = ("LR", "RL", "TB", "BT")


# Entity-coded in a label: # and ; (entities), " (the quotes), < > & (HTML), ` (Markdown
# strings) and % (a "%%{init: ...}%%" directive restyles the chart and can make it fetch URLs;
# "%%" alone starts a comment). Brackets and braces are coded too, for renderers that do not
# honour the quotes.
MERMAID_ESCAPED = frozenset('#;"<>&`%[](){}|')


def mermaid_text(text: str) -> str:
    """text made literal inside a quoted Mermaid label (entity codes for # " % < > & ...)."""
    out = []
    for char in text:
        if char in MERMAID_ESCAPED:
            out.append(f"#{ord(char)};")
        elif ord(char) < 32:
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def to_mermaid(
    root: Value,
    direction: str = "LR",
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
    *,
    hide: str | None = None,
) -> str:
    """A Mermaid flowchart: a box (label, data, grad) per value, a circle per operation.

    hide="grad" or "data" shows those numbers as ? (class mode; see to_dot).
    """
    root = check_root(root, "to_mermaid()")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    hide = check_hide(hide)
    graph = build_graph(root, limit=max_values, force=force)
    lines = [f"flowchart {direction}"]
    for i, node in enumerate(graph.nodes):
        data, grad = shown_numbers(graph, i, hide)
        fields = [f"data {data}", f"grad {grad}"]
        if graph.names.label(i):
            fields.insert(0, f"<b>{mermaid_text(graph.names.label(i))}</b>")
        lines.append(f'  v{i}["{"<br/>".join(fields)}"]')
        if node._parents:
            lines.append(f'  op{i}(("{mermaid_text(op_symbol(node._op))}"))')
            lines.extend(f"  v{p} --> op{i}" for p in graph.parents_of(i))
            lines.append(f"  op{i} --> v{i}")
    return "\n".join(lines) + "\n"
