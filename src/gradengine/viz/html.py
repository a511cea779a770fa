"""to_html(root, path): one self-contained page that steps through the forward and backward pass.

graph_payload(root) is the same view's data for a page of one's own: JSON-ready, drawn by the
package's page.js (``GradengineGraph.mount(element, payload)``) with page.css; see
``view_files()``.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from typing import Any

from gradengine.checks import describe
from gradengine.engine import Value
from gradengine.fast import paused_gc
from gradengine.viz.dot import op_symbol
from gradengine.viz.explain import Mark, backward_account, forward_line, unmarked
from gradengine.viz.graph import (
    MAX_DRAWN_VALUES,
    Graph,
    NodeNames,
    build_graph,
    check_hide,
    check_path,
    check_root,
    is_hidden,
    number,
    write_atomic,
)
from gradengine.viz.layout import CARD_HEIGHT, CARD_WIDTH, OP_HEIGHT, OP_MARGIN, layout, op_width


def constant_text(x: float) -> str:
    """A constant's name on the page: its value, as short as Python writes it (2, not 2.0)."""
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return number(x)


def looks_typed(x: float) -> bool:
    """Whether x reads as a number someone typed (2, 0.5, -1e-3), not one drawn at random."""
    return math.isfinite(x) and float(f"{x:.4g}") == x


class PageNames(NodeNames):
    """NodeNames, except that a constant is named by its value: 2, not v10.

    A Value(2) and the 2 in x * 2 are alike (leaves without a label), so a constant is told from
    a parameter by what it looks like: an unlabelled leaf whose value reads as typed (at most
    four significant digits) and that is no neuron's input (those are named w1, x1, b). Two
    constants with one value share the name: they mean the same number. A constant whose value
    reads like another node's label gets #<position>.
    """

    def __init__(self, nodes: Sequence[Value]) -> None:
        super().__init__(nodes)
        own = super().__getitem__
        self._taken = {own(i) for i in range(len(nodes)) if self.label(i)}
        # A neuron's inputs are named by their role (w1, x1, b), so they are never constants.
        self._constants = {
            i
            for i, node in enumerate(nodes)
            if not self.label(i) and not node._parents and looks_typed(node.data)
        }

    def is_constant(self, i: int) -> bool:
        """Whether node i is named by its value."""
        return i in self._constants

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self._nodes)
        if i not in self._constants:
            return super().__getitem__(i)
        text = constant_text(self._nodes[i].data)
        return f"{text}#{i}" if text in self._taken else text


def with_page_names(graph: Graph) -> Graph:
    """graph, its constants named by their values (for the page and its explanations)."""
    return replace(graph, names=PageNames(graph.nodes))


# A hidden number in a line of text: \x00 node \x01 text \x02. display_text escapes these
# control characters in every label, so a label can never forge one.
HIDDEN_NUMBER = re.compile("\x00([0-9]+)\x01([^\x02]*)\x02")


def hiding_mark(graph: Graph, hide: str | None) -> Mark:
    """The mark that wraps each number class mode hides (see HIDDEN_NUMBER)."""
    if hide is None:
        return unmarked
    nodes = graph.nodes

    def mark(quantity: str, node: int, text: str) -> str:
        return f"\x00{node}\x01{text}\x02" if is_hidden(nodes[node], quantity, hide) else text

    return mark


def line_parts(line: str) -> str | list[str | list[int | str]]:
    """line itself, or, when it holds hidden numbers, its parts: text, and [node, number]."""
    if "\x00" not in line:
        return line
    parts: list[str | list[int | str]] = []
    end = 0
    for match in HIDDEN_NUMBER.finditer(line):
        if match.start() > end:
            parts.append(line[end : match.start()])
        parts.append([int(match[1]), match[2]])
        end = match.end()
    if end < len(line):
        parts.append(line[end:])
    return parts


def page_steps(graph: Graph, hide: str | None = None) -> list[dict[str, Any]]:
    """The page's steps: the graph, one per operation forward, one per operation backward, done.

    A line that holds a number class mode hides is a list of parts: text, and [node, number].
    """
    nodes, names = graph.nodes, graph.names
    name = names[-1]
    mark = hiding_mark(graph, hide)
    account = backward_account(graph, mark=mark)
    interior = [i for i, node in enumerate(nodes) if node._parents]
    steps: list[dict[str, Any]] = [
        {
            "kind": "start",
            "phase": "the graph",
            "node": -1,
            "title": f"{len(nodes)} values, {len(interior)} operations",
            "lines": [
                "Leaves (inputs and constants) are known; the other values are not yet.",
                "The forward pass computes each value from its inputs, in order.",
                f"The backward pass then starts from grad {name} = 1 and hands each node's grad "
                "to its inputs, times the local derivative.",
            ],
            "updates": [],
        }
    ]
    for i in interior:
        steps.append(
            {
                "kind": "forward",
                "phase": "forward pass",
                "node": i,
                "title": f"Compute {names[i]}",
                "lines": [line_parts(forward_line(graph, i, mark))],
                "updates": [],
            }
        )
    remaining = [0] * len(nodes)  # contributions a node has still to receive
    for node in nodes:
        for parent in node._parents:
            remaining[graph.index[id(parent)]] += 1
    for step in account.steps:
        updates = []
        for c in step.contributions:
            remaining[c.parent] -= 1
            updates.append([c.parent, c.running, number(c.running), remaining[c.parent] == 0])
        steps.append(
            {
                "kind": "backward",
                "phase": "backward pass",
                "node": step.node,
                "title": f"Pass on grad {names[step.node]}",
                "lines": [line_parts(line) for line in step.lines],
                "grad": step.grad,
                "gradText": number(step.grad),
                "updates": updates,
            }
        )
    steps.append(
        {
            "kind": "done",
            "phase": "done",
            "node": -1,
            "title": f"Gradients of the leaves (∂{name}/∂leaf)",
            "lines": [line_parts(line) for line in account.leaf_lines],
            "updates": [[i, g, number(g), True] for i, g in enumerate(account.grads)],
        }
    )
    return steps


def root_line(graph: Graph, hide: str | None) -> str:
    """How the output is computed, 'L = d * f = 4.0 * (-2.0) = -8.0', ? for each hidden number."""
    nodes = graph.nodes
    return forward_line(
        graph, len(nodes) - 1, lambda q, i, text: "?" if is_hidden(nodes[i], q, hide) else text
    )


def page_data(graph: Graph, hide: str | None = None) -> dict[str, Any]:
    """Everything the page draws: positions, texts, and the steps."""
    symbols = [op_symbol(node._op) for node in graph.nodes]
    place = layout(graph, symbols)
    nodes = [
        {
            "name": graph.names[i],
            "labelled": bool(graph.names.label(i)),
            "constant": isinstance(graph.names, PageNames) and graph.names.is_constant(i),
            "symbol": symbols[i],
            "opWidth": op_width(symbols[i]),
            "dataText": number(node.data),
            "hidden": is_hidden(node, "data", hide) or is_hidden(node, "grad", hide),
            "parents": graph.parents_of(i),
            "x": place.x[i],
            "y": place.y[i],
            "routes": place.routes[i],
        }
        for i, node in enumerate(graph.nodes)
    ]
    return {
        "width": place.width,
        "height": place.height,
        "card": {"width": CARD_WIDTH, "height": CARD_HEIGHT},
        "op": {"height": OP_HEIGHT, "margin": OP_MARGIN},
        "nodes": nodes,
        "steps": page_steps(graph, hide),
        "hide": hide,
        "highlight": None,
        "tags": {},
    }


def graph_payload(
    root: Value,
    *,
    hide: str | None = None,
    highlight: Value | None = None,
    tags: Mapping[str, Value] | None = None,
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
) -> dict[str, Any]:
    """The step-through view of root's graph as JSON-ready data, for page.js to draw in a page.

    hide: "grad" or "data" (class mode: those numbers show as ? until revealed). highlight: a
    Value of the graph drawn highlighted (its position is payload["highlight"]). tags: names
    for Values of the graph (say, each neuron's output), so that the page can highlight one by
    name: payload["tags"] maps each name to the Value's position. A Value that is not in the
    graph is a ValueError. json.dumps(payload) is strict JSON: a NaN or infinite number is
    the string "NaN", "Infinity" or "-Infinity", as JavaScript's String() writes it.
    """
    root = check_root(root, "graph_payload()")
    hide = check_hide(hide)
    if highlight is not None and not isinstance(highlight, Value):
        raise TypeError(
            f"highlight must be a Value of the graph or None, got {describe(highlight)}"
        )
    if tags is not None and not isinstance(tags, Mapping):
        raise TypeError(f"tags must be a mapping of names to Values, got {describe(tags)}")
    graph = with_page_names(build_graph(root, limit=max_values, force=force))
    with paused_gc():
        data = page_data(graph, hide)

    def position(value: object, what: str) -> int:
        if not isinstance(value, Value):
            raise TypeError(f"{what} must be a Value of the graph, got {describe(value)}")
        if id(value) not in graph.index:
            raise ValueError(f"{what} is not a value of this graph: {value!r}")
        return graph.index[id(value)]

    if highlight is not None:
        data["highlight"] = position(highlight, "highlight")
    for key, value in (tags or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"tags must be named by str, got {describe(key)}")
        data["tags"][key] = position(value, f"tags[{key!r}]")
    data["title"] = f"Backpropagation through {graph.names[-1]}"
    data["subtitle"] = root_line(graph, hide)
    strict: dict[str, Any] = strict_json(data)
    return strict


def strict_json(data: Any) -> Any:
    """data with every NaN or infinite float replaced by its JavaScript name, as a string."""
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        if math.isnan(data):
            return "NaN"
        return "Infinity" if data > 0 else "-Infinity"
    if isinstance(data, dict):
        return {key: strict_json(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(value) for value in data]
    return data


#: The files of the step-through view, in the package gradengine.viz: its script and its style.
VIEW_FILES = ("page.js", "page.css")


def view_files() -> dict[str, str]:
    """{"page.js": ..., "page.css": ...}: the step-through view's script and style, to serve."""
    package = resources.files("gradengine.viz")
    return {name: package.joinpath(name).read_text("utf-8") for name in VIEW_FILES}


def script_json(data: object) -> str:
    """data as a JavaScript literal safe inside <script> (NaN and Infinity are JS names too)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=True)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def to_html(
    root: Value,
    path: str | os.PathLike[str],
    title: str | None = None,
    subtitle: str | None = None,
    force: bool = False,
    max_values: int = MAX_DRAWN_VALUES,
    *,
    hide: str | None = None,
) -> None:
    """Write one self-contained HTML page stepping through root's forward and backward pass.

    hide="grad" or "data" (class mode) shows those numbers as ?, each revealed by a click on
    its value, all of them by the R key or the reveal button.
    """
    root = check_root(root, "to_html()")
    target = check_path(path, "to_html(root, path): path")
    for text, what in ((title, "title"), (subtitle, "subtitle")):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{what} must be a str or None, got {describe(text)}")
    hide = check_hide(hide)
    graph = with_page_names(build_graph(root, limit=max_values, force=force))
    with paused_gc():
        data = page_data(graph, hide)
    if title is None:
        title = f"Backpropagation through {graph.names[-1]}"
    if subtitle is None:
        subtitle = root_line(graph, hide)
    package = resources.files("gradengine.viz")
    view = view_files()
    fills = {
        "__TITLE__": html.escape(title),
        "__SUBTITLE__": html.escape(subtitle),
        "/*__STYLE__*/": view["page.css"],
        "/*__SCRIPT__*/": view["page.js"],
        "__DATA__": script_json(data),
    }
    template = package.joinpath("page.html").read_text("utf-8")
    # One pass, so that a placeholder inside a label or the script is never replaced again.
    pattern = re.compile("|".join(re.escape(key) for key in fills))
    page = pattern.sub(lambda match: fills[match.group(0)], template)
    write_atomic(target, page)
