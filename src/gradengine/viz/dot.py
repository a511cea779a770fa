"""to_dot(root) and draw(root, path): the graph as Graphviz DOT source, and rendered by `dot`.

draw_dot(root) is the lecture's: the same drawing as a graphviz.Digraph.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from gradengine.checks import describe
from gradengine.engine import Value
from gradengine.files import write_atomic
from gradengine.viz.dot_program import (
    DOT_SECONDS,
    QUICK_LAYOUT_PAST,
    DotTimeoutError,
    check_timeout,
    run_dot,
)
from gradengine.viz.graph import (
    MAX_DRAWN_VALUES,
    NEURON_OPERATIONS,
    Graph,
    build_graph,
    check_hide,
    check_path,
    check_root,
    is_hidden,
    number,
)

RANKDIRS = ("LR", "RL", "TB", "BT")
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
OP_SYMBOLS = {
    "weighted_sum": "Σ w·x + b",
    "sum": "Σ",
    "neg": "−",
    "*": "×",
    "sigmoid": "σ",
    "relu(weighted_sum)": "relu(Σ w·x + b)",
    "tanh(weighted_sum)": "tanh(Σ w·x + b)",
    "sigmoid(weighted_sum)": "σ(Σ w·x + b)",
}


def record_text(text: str) -> str:
    """text made literal inside a DOT record label: quotes, braces, bars, <>, \\ and layout."""
    out = []
    for char in text:
        if char in '\\"{}|<> ':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 32:
            out.append(" ")  # other control characters are not allowed in DOT at all
        else:
            out.append(char)
    return "".join(out)


def quoted(text: str) -> str:
    """text as a DOT double-quoted string (no record syntax)."""
    clean = "".join(" " if ord(char) < 32 else char for char in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def drawn_order(op: str, parents: list[int]) -> list[int]:
    """The order a drawing stacks an operation's inputs: a neuron's as x1, w1, x2, w2, ..., b."""
    if op not in NEURON_OPERATIONS or len(parents) % 2 == 0:
        return parents
    n = len(parents) // 2
    pairs = zip(parents[n + 1 :], parents[1 : n + 1], strict=True)
    return [p for pair in pairs for p in pair] + [parents[0]]


def op_symbol(op: str) -> str:
    """How an operation is written in its small node: "+", "×", "relu", "Σ w·x + b"."""
    return OP_SYMBOLS.get(op, op)


def shown_numbers(graph: Graph, i: int, hide: str | None) -> tuple[str, str]:
    """Node i's data and grad as a drawing shows them: ? for what class mode hides."""
    node = graph.nodes[i]
    return (
        "?" if is_hidden(node, "data", hide) else number(node.data),
        "?" if is_hidden(node, "grad", hide) else number(node.grad),
    )


def to_dot(
    root: Value,
    rankdir: str = "LR",
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
    *,
    hide: str | None = None,
) -> str:
    """DOT source: a record (label | data | grad) per value, a small node per operation.

    hide="grad" shows every grad as ?, hide="data" the data of every computed value (class mode).
    """
    root = check_root(root, "to_dot()")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {describe(rankdir)}")
    hide = check_hide(hide)
    graph = build_graph(root, limit=max_values, force=force)
    lines = [
        "digraph gradengine {",
        f"  rankdir={rankdir};",
        '  bgcolor="white";',
        '  node [fontname="Helvetica", fontsize=11, color="#4a5568"];',
        '  edge [color="#718096", arrowsize=0.7];',
    ]
    for i, node in enumerate(graph.nodes):
        data, grad = shown_numbers(graph, i, hide)
        fields = [f"data {data}", f"grad {grad}"]
        if graph.names.label(i):
            fields.insert(0, graph.names.label(i))
        label = " | ".join(record_text(field) for field in fields)
        fill = "#e6f0fa" if node._parents else "#fdf6e3"
        lines.append(
            f'  v{i} [shape=record, style="rounded,filled", fillcolor="{fill}", '
            f'label="{{ {label} }}"];'
        )
        if node._parents:
            symbol = quoted(op_symbol(node._op))
            # ordering=in keeps a neuron's inputs stacked as drawn_order lists them
            lines.append(
                f"  op{i} [shape=circle, width=0.3, fixedsize=false, margin=0.02, "
                f'style=filled, fillcolor="#ffffff", label={symbol}, ordering=in];'
            )
            for p in drawn_order(node._op, graph.parents_of(i)):
                lines.append(f"  v{p} -> op{i};")
            lines.append(f"  op{i} -> v{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(
    root: Value,
    path: str | os.PathLike[str],
    rankdir: str = "LR",
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
    *,
    hide: str | None = None,
    timeout: float = DOT_SECONDS,
) -> None:
    """Render to_dot(root) to path (.svg, .png or .pdf, by suffix) with Graphviz's `dot`.

    hide="grad" or "data" draws those numbers as ? (class mode; see to_dot).

    dot runs for at most timeout seconds (RuntimeError, and dot is stopped, past them). A graph
    of more than QUICK_LAYOUT_PAST values is laid out quickly, without dot's slow optimisation
    (a UserWarning says so): its full layout can take minutes.
    """
    target = check_path(path, "draw(root, path): path")
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"draw() writes {', '.join(FORMATS)} files, chosen by the path's suffix; "
            f"got {str(target)!r}"
        )
    seconds = check_timeout(timeout, "draw(): timeout")
    source = to_dot(root, rankdir=rankdir, force=force, max_values=max_values, hide=hide)
    try:
        import graphviz  # noqa: F401  (the viz extra is what draw() is documented to need)
    except ImportError as error:
        raise ImportError(
            "draw() needs the graphviz Python package: pip install graphviz (or, in a clone of "
            'gradengine: pip install ".[viz]"), and the Graphviz programs: apt-get install '
            "graphviz, or brew install graphviz"
        ) from error
    values = len(build_graph(root, limit=max_values, force=force).nodes)
    quick = values > QUICK_LAYOUT_PAST
    if quick:
        warnings.warn(
            f"draw(): the graph has {values} values, more than {QUICK_LAYOUT_PAST}: laid out "
            "with Graphviz's quick layout (its full one can take minutes), which may cross "
            "more edges",
            UserWarning,
            stacklevel=2,
        )
    try:
        image = run_dot(source, fmt, quick=quick, timeout=seconds)
    except FileNotFoundError as error:
        raise RuntimeError(
            "draw() needs Graphviz's `dot` program, which was not found on PATH: "
            "apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
            "or see https://graphviz.org/download/; to_dot() works without it"
        ) from error
    except DotTimeoutError as error:
        raise DotTimeoutError(
            f"draw(): {error} (a graph of {values} values); to_html(root, path) shows the graph "
            "without Graphviz, or pass a larger timeout"
        ) from None
    write_atomic(target, image)


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: str = "LR",
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
    *,
    hide: str | None = None,
) -> Any:
    """The lecture's draw_dot: a graphviz.Digraph, a record per value and a node per operation.

    Shown inline in Jupyter, or rendered with its own ``.render()``; needs the graphviz package.
    hide="grad" or "data" draws those numbers as ? (class mode; see to_dot).
    """
    root = check_root(root, "draw_dot()")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {describe(rankdir)}")
    hide = check_hide(hide)
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "draw_dot() needs the graphviz Python package: pip install graphviz (or, in a clone "
            'of gradengine: pip install ".[viz]"), and the Graphviz programs to render it: '
            "apt-get install graphviz, or brew install graphviz; to_dot() works without it"
        ) from error
    graph = build_graph(root, limit=max_values, force=force)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    for i, node in enumerate(graph.nodes):
        name = record_text(graph.names.label(i))
        data = "?" if is_hidden(node, "data", hide) else f"{node.data:.4f}"
        grad = "?" if is_hidden(node, "grad", hide) else f"{node.grad:.4f}"
        dot.node(
            f"v{i}",
            label=f"{{ {name} | data {data} | grad {grad} }}",
            shape="record",
        )
        if node._parents:
            dot.node(f"op{i}", label=node._op)
            dot.edge(f"op{i}", f"v{i}")
            # each edge once, as the lecture's set
            for p in dict.fromkeys(drawn_order(node._op, graph.parents_of(i))):
                dot.edge(f"v{p}", f"op{i}")
    return dot
