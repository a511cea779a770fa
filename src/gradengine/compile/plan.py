"""The plan both backends replay: a recording's nodes as groups of one operation at one level.

The level of a leaf is 0, that of a node one more than its highest parent's. Nodes at the same
level never depend on each other, so the nodes of one level with the same operation (and the
same number of inputs) can be computed together, one operation over vectors of their parents:
the NumPy backend runs each group as array operations, the Python backend as a list
comprehension over floats. Two shapes are found on top of that:

- a chain of additions such as ``sum(losses)`` (each link used only by the next) is one group,
  a running sum, instead of one level per link;
- the weighted sums of one group whose (bias, weights) rows and input rows pair up, each of r
  weight rows with each of s input rows once (a Layer's neurons over a batch of samples), are
  a matrix product ``X[s x n] @ W[r x n].T + b[r]`` (``matrix_plan``).

This module needs nothing but Python: it works on the positions of a ``Recording``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import chain

from gradengine import engine as v
from gradengine import fast
from gradengine.compile import NODE, Recording
from gradengine.fast import SIGMOID_WEIGHTED_SUM, TANH_WEIGHTED_SUM

ELEMENTWISE, WEIGHTED, CHAIN = "elementwise", "weighted sums", "chain"

#: Weighted sums with a ReLU or no activation: b + w·x, summed left to right, then max(z, 0).
LINEAR_WEIGHTED_SUMS = (fast.WEIGHTED_SUM, fast.RELU_WEIGHTED_SUM)
WEIGHTED_SUMS = (*LINEAR_WEIGHTED_SUMS, TANH_WEIGHTED_SUM, SIGMOID_WEIGHTED_SUM)


@dataclass
class Group:
    """Nodes computed together: ``members`` (node positions) with their ``parents``.

    A chain's members are its links in order; its parents are (start, term 1, ..., term k),
    link j adding term j + 1 to the link before it (the first to start).
    """

    kind: str
    level: int
    op: v.Operation
    members: list[int]
    parents: list[tuple[int, ...]] = field(default_factory=list)
    start: int = -1  # a chain's first left operand
    terms: list[int] = field(default_factory=list)  # a chain's right operands, in order


def chains(rec: Recording) -> dict[int, list[int]]:
    """Chains of additions: last node -> its nodes, each the left operand of the next."""
    adds = [
        i
        for i, (op, kind) in enumerate(zip(rec.operations, rec.kinds, strict=True))
        if op is v.ADD and kind == NODE
    ]
    is_add = set(adds)  # (not a flag per node: most nodes of a wide model are its weights)
    # Uses are counted for the additions' left operands only: a count for every node would be
    # a dict as large as the graph.
    lefts = {rec.parents[i][0] for i in adds}
    uses = Counter(filter(lefts.__contains__, chain.from_iterable(rec.parents)))
    follows: dict[int, int] = {}  # link -> the addition that continues it
    for i in adds:
        left, right = rec.parents[i]
        if left in is_add and uses[left] == 1 and left != right:
            follows[left] = i
    continued = set(follows.values())
    found: dict[int, list[int]] = {}
    for head in adds:
        if head in follows and head not in continued:
            nodes = [head]
            while nodes[-1] in follows:
                nodes.append(follows[nodes[-1]])
            if len(nodes) >= 3:
                found[nodes[-1]] = nodes
    return found


def groups(rec: Recording) -> list[Group]:
    """Every interior node in exactly one group; the groups in order of level."""
    found = chains(rec)
    in_chain = {node for nodes in found.values() for node in nodes[:-1]}
    level = [0] * len(rec)
    by_key: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    pending: list[Group] = []
    for i, (op, ps, kind) in enumerate(zip(rec.operations, rec.parents, rec.kinds, strict=True)):
        if kind != NODE or i in in_chain:
            continue
        if i in found:
            nodes = found[i]
            start = rec.parents[nodes[0]][0]
            terms = [rec.parents[j][1] for j in nodes]
            lv = 1 + max(map(level.__getitem__, [start, *terms]))
            for j in nodes:
                level[j] = lv
            pending.append(Group(CHAIN, lv, v.ADD, nodes, start=start, terms=terms))
            continue
        level[i] = 1 + max(map(level.__getitem__, ps))
        by_key[(level[i], id(op), len(ps))].append(i)
    for (lv, _, _), members in by_key.items():
        op = rec.operations[members[0]]
        kind = WEIGHTED if op in WEIGHTED_SUMS else ELEMENTWISE
        pending.append(Group(kind, lv, op, members, [rec.parents[i] for i in members]))
    pending.sort(key=lambda group: group.level)  # stable: chains first within a level
    return pending


@dataclass
class MatrixPlan:
    """Weighted sums as Z[s x r] = X[s x n] @ W[r x n].T + b[r]: the node positions of each.

    ``bias[r]`` and ``weights[r]`` are weight row r, ``inputs[s]`` input row s and
    ``out[s][r]`` the node that applies weight row r to input row s.
    """

    bias: list[int]
    weights: list[list[int]]
    inputs: list[list[int]]
    out: list[list[int]]


def matrix_plan(parents: list[tuple[int, ...]], members: list[int]) -> MatrixPlan | None:
    """If every weighted sum is one of r weight rows applied to one of s input rows, each pair
    once (and some row is shared), the rows; else None. Rows are numbered as first seen."""
    n = len(parents[0]) // 2
    weight_rows: dict[tuple[int, ...], int] = {}
    input_rows: dict[tuple[int, ...], int] = {}
    pairs: dict[tuple[int, int], int] = {}
    for row, node in zip(parents, members, strict=True):
        r = weight_rows.setdefault(tuple(row[: n + 1]), len(weight_rows))
        s = input_rows.setdefault(tuple(row[n + 1 :]), len(input_rows))
        pairs[(s, r)] = node
    k = len(members)
    if len(weight_rows) * len(input_rows) != k or len(pairs) != k or len(weight_rows) == k:
        return None
    out = [[0] * len(weight_rows) for _ in input_rows]
    for (s, r), node in pairs.items():
        out[s][r] = node
    return MatrixPlan(
        bias=[key[0] for key in weight_rows],
        weights=[list(key[1:]) for key in weight_rows],
        inputs=[list(key) for key in input_rows],
        out=out,
    )
