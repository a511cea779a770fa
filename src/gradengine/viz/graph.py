"""What every view of a graph shares: the nodes in order, their names, numbers, and a size limit."""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradengine.checks import check_size, describe
from gradengine.value import Value, paused_gc, topological_order

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


class NodeNames:
    """Each node's label, or v<position> without one; a label used twice gets #<position>."""

    def __init__(self, nodes: Sequence[Value]) -> None:
        self._nodes = nodes
        counts = Counter(node.label for node in nodes if node.label)
        # A label such as "v3" on another node would be mistaken for node 3's own name.
        self._ambiguous = {
            label
            for label, count in counts.items()
            if count > 1
            or (label[:1] == "v" and label[1:].isdigit() and int(label[1:]) < len(nodes))
        }

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self._nodes)
        label = self._nodes[i].label
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


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write content to path all at once: readers see the old file or the new one, never half."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {directory} does not exist")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; a page is for sharing
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
