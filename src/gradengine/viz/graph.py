"""What every view of a graph shares: the nodes in order, their names, numbers, and a size limit."""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradengine.checks import check_size, describe
from gradengine.engine import Value, topological_order
from gradengine.fast import paused_gc
from gradengine.files import write_atomic

__all__ = [
    "HIDDEN_QUANTITIES",
    "MAX_DRAWN_VALUES",
    "NEURON_OPERATIONS",
    "Graph",
    "GraphTooLargeError",
    "NodeNames",
    "build_graph",
    "check_hide",
    "check_path",
    "check_root",
    "display_text",
    "is_hidden",
    "number",
    "write_atomic",  # the package's one atomic writer, imported here by the viz modules
]

#: Drawings and pages refuse graphs with more values than this unless forced: beyond it a
#: picture is no longer readable (a 2-16-16-1 network on one input already has about 400).
MAX_DRAWN_VALUES = 500


class GraphTooLargeError(ValueError):
    """A graph too large to draw readably (pass force=True to draw it anyway)."""


@dataclass(frozen=True)
class Graph:
    """The nodes reachable from root, parents first, each with a unique readable name."""

    root: Value
    nodes: list[Value]
    names: NodeNames
    index: dict[int, int]  # id(node) -> position in nodes

    def parents_of(self, i: int) -> list[int]:
        """Positions of node i's parents, in operand order (repeated if used twice)."""
        index = self.index
        return [index[id(p)] for p in self.nodes[i]._parents]


#: What class mode can hide: every grad, or the data the graph computes (its leaves, the inputs
#: the forward pass starts from, stay shown).
HIDDEN_QUANTITIES = ("grad", "data")


def check_hide(hide: object) -> str | None:
    """hide itself if it is "grad", "data" or None; ValueError (or TypeError) otherwise."""
    if hide is None:
        return None
    if not isinstance(hide, str):
        raise TypeError(f'hide must be "grad", "data" or None, got {describe(hide)}')
    if hide in HIDDEN_QUANTITIES:
        return hide
    raise ValueError(f'hide must be "grad", "data" or None, got {hide!r}')


def is_hidden(node: Value, quantity: str, hide: str | None) -> bool:
    """Whether class mode shows node's quantity ("data" or "grad") as ?: see HIDDEN_QUANTITIES."""
    return quantity == hide and (quantity == "grad" or bool(node._parents))


def check_root(root: object, what: str) -> Value:
    """root itself if it is a Value; TypeError naming `what` otherwise."""
    if not isinstance(root, Value):
        raise TypeError(f"{what} needs a Value (the output of a computation), got {describe(root)}")
    return root


def build_graph(root: Value, limit: int | None = None, force: bool = False) -> Graph:
    """The graph of root; GraphTooLargeError when it has more than `limit` values, unless forced."""
    if limit is not None:
        limit = check_size(limit, "max_values", minimum=0)
    if not isinstance(force, bool):
        raise TypeError(f"force must be True or False, got {describe(force)}")
    with paused_gc():
        nodes = topological_order(root)
    if limit is not None and not force and len(nodes) > limit:
        raise GraphTooLargeError(
            f"this graph has {len(nodes):,} values, more than the {limit:,} a drawing can show "
            "readably; pass force=True to draw it anyway, or summarise it with graph_stats() "
            "or explain()"
        )
    with paused_gc():
        index = {id(node): i for i, node in enumerate(nodes)}
    return Graph(root=root, nodes=nodes, names=NodeNames(nodes), index=index)


# Characters that would reorder what a reader sees (bidirectional overrides, embeddings,
# isolates and marks); shown as escapes, never obeyed. Other invisible format characters
# (category Cf) are escaped too, except the zero-width joiner that emoji sequences need.
_BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
) | {"\u200e", "\u200f", "\u061c"}
_ESCAPED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")  # controls, format, surrogates, separators
_ZERO_WIDTH_JOINER = "\u200d"
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A name another node could be given: v<digits> (an unlabelled node) or <label>#<digits>.
_GENERATED_NAME = re.compile(r"v[0-9]+|.*#[0-9]+", re.DOTALL)


def _escape(char: str) -> str:
    """char as a Python-style escape: \\x1b, \\u202e, \\U0001f600."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def display_text(text: str) -> str:
    """text as every view shows it: control, format, bidi and surrogate characters escaped.

    A newline, an ANSI escape (ESC), a right-to-left override or a lone surrogate in a label
    becomes a visible escape such as \\n, \\x1b or \\u202e, so a label can neither forge lines of
    explain() nor reorder the numbers beside it, and the text always encodes as UTF-8.
    """
    out = []
    for char in text:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif char in _BIDI_CONTROLS or (
            char != _ZERO_WIDTH_JOINER and unicodedata.category(char) in _ESCAPED_CATEGORIES
        ):
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


#: The operations of a built-in neuron: one node act(b + w1*x1 + ... + wn*xn) whose parents are
#: (b, w1..wn, x1..xn), in that order.
NEURON_OPERATIONS = frozenset(
    ("weighted_sum", "relu(weighted_sum)", "tanh(weighted_sum)", "sigmoid(weighted_sum)")
)


def neuron_roles(nodes: Sequence[Value]) -> dict[int, str]:
    """Names for the unlabelled inputs of built-in neurons, as the lecture writes them.

    With one neuron in the graph: b, w1..wn, x1..xn. With several, each unlabelled neuron is
    L<layer>N<k> (its layer counted in neurons from the inputs, k its place in the layer, in
    forward order), its own weights and bias are L2N1.w1, L2N1.b (or o.w1 for a neuron labelled
    o), and an unlabelled input that is no neuron is x1..xn. A value that several neurons use
    is named by the first, in forward order. Keys are positions in nodes.
    """
    neurons = [
        i
        for i, node in enumerate(nodes)
        if node._op in NEURON_OPERATIONS and len(node._parents) % 2 == 1
    ]
    if not neurons:
        return {}  # and no index of a graph that may hold a million values
    position = {id(node): i for i, node in enumerate(nodes)}
    roles: dict[int, str] = {}
    prefixes = {i: "" for i in neurons}
    if len(neurons) > 1:
        # layer[i]: how many neurons lie on the longest path from the inputs to node i, itself
        # included (parents come first in nodes).
        layer = [0] * len(nodes)
        is_neuron = set(neurons)
        for i, node in enumerate(nodes):
            deepest = max((layer[position[id(p)]] for p in node._parents), default=0)
            layer[i] = deepest + (i in is_neuron)
        counts: dict[int, int] = {}
        for i in neurons:
            counts[layer[i]] = counts.get(layer[i], 0) + 1
            if not nodes[i].label:
                roles[i] = f"L{layer[i]}N{counts[layer[i]]}"
            prefixes[i] = (display_text(nodes[i].label) or roles[i]) + "."
    for i in neurons:
        parents = nodes[i]._parents
        n = len(parents) // 2
        own = [f"{prefixes[i]}b", *(f"{prefixes[i]}w{k}" for k in range(1, n + 1))]
        for parent, name in zip(parents, [*own, *(f"x{k}" for k in range(1, n + 1))], strict=True):
            p = position.get(id(parent))
            if p is not None and not parent.label:
                roles.setdefault(p, name)
    return roles


class NodeNames:
    """Each node's label (as display_text shows it), or its role in a neuron (w1, x1, b), or
    v<position>; a name used twice, or one that looks like another node's generated name, gets
    #<position>. The Values themselves are never relabelled."""

    def __init__(self, nodes: Sequence[Value]) -> None:
        self._nodes = nodes
        roles = neuron_roles(nodes)
        self._shown = [
            display_text(node.label) if node.label else roles.get(i, "")
            for i, node in enumerate(nodes)
        ]
        counts = Counter(label for label in self._shown if label)
        # "v3" on another node would be mistaken for node 3's own name, "x#3" for the third x.
        self._ambiguous = {
            label
            for label, count in counts.items()
            if count > 1 or _GENERATED_NAME.fullmatch(label)
        }

    def __len__(self) -> int:
        return len(self._nodes)

    def label(self, i: int) -> str:
        """Node i's label as display_text shows it, or its role in a neuron ("" for neither),
        without any #<position>."""
        return self._shown[i]

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self._nodes)
        label = self._shown[i]
        if not label:
            return f"v{i}"
        return f"{label}#{i}" if label in self._ambiguous else label


def number(x: float, digits: int = 6) -> str:
    """x in at most `digits` significant digits; as Python writes it when short: 3.0, 0.5."""
    if not math.isfinite(x):
        return repr(x)
    short = repr(x)
    if len(short.lstrip("-")) <= digits + 2:
        return short
    text = f"{x:.{digits}g}"
    return text if any(c in text for c in ".e") else text + ".0"  # 1.0000000000000002 -> 1.0


def check_path(path: object, what: str) -> Path:
    """path as a Path; TypeError for anything but str or os.PathLike."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a file path (str or pathlib.Path), got {describe(path)}")
    return Path(path)
